"""Comparison with a baseline photo."""

from __future__ import annotations

import cv2
import numpy as np

from mesochart.imaging import compare_results
from mesochart.imaging.face import ZONE_NAMES

from .helpers import analyse, astronaut, astronaut_result, rotate, scale_linear


def zoom(rgb: np.ndarray, factor: float) -> np.ndarray:
    m = cv2.getRotationMatrix2D((224.0, 130.0), 0.0, factor)
    return cv2.warpAffine(rgb, m, (512, 512), borderMode=cv2.BORDER_REFLECT)


def shift(rgb: np.ndarray, dx: int, dy: int) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(rgb, m, (512, 512), borderMode=cv2.BORDER_REFLECT)


def test_same_photo_is_comparable_with_zero_deltas() -> None:
    base = astronaut_result()
    out = compare_results(base, base)
    assert out["comparable"] is True and out["problems"] == []
    assert out["roll_diff_deg"] == 0 and out["scale_ratio"] == 1 and out["shift_pct"] == 0
    assert set(out["deltas"]) == {*ZONE_NAMES, "whole_face"}
    for zone in out["deltas"].values():
        assert zone == {"L": 0.0, "redness": 0.0, "evenness": 0.0, "texture": 0.0}


def test_slightly_different_copy_stays_comparable() -> None:
    near = analyse(shift(scale_linear(astronaut(), (1.05, 1.05, 1.05)), 6, 4))
    out = compare_results(near, astronaut_result())
    assert out["comparable"] is True, out["problems"]
    assert out["deltas"]["whole_face"]["L"] > 0


def test_each_kind_of_difference_has_its_code() -> None:
    base = astronaut_result()
    cases = {
        "scale": zoom(astronaut(), 1.5),
        "framing": shift(astronaut(), 110, 0),
        "pose": rotate(astronaut(), 12.0),
        "lighting": scale_linear(astronaut(), (0.55, 0.55, 0.55)),
    }
    for code, rgb in cases.items():
        result = analyse(rgb)
        assert result["face_found"], code
        out = compare_results(result, base)
        assert out["comparable"] is False, code
        assert out["problems"] == [code], (code, out)


def test_everything_at_once() -> None:
    rgb = scale_linear(rotate(shift(zoom(astronaut(), 1.4), 90, 30), 11.0), (0.5, 0.5, 0.5))
    out = compare_results(analyse(rgb), astronaut_result())
    assert out["comparable"] is False
    assert set(out["problems"]) == {"pose", "scale", "framing", "lighting"}
    assert out["scale_ratio"] > 1.3 and out["roll_diff_deg"] > 8


def test_missing_face_is_not_comparable() -> None:
    from skimage import data

    out = compare_results(analyse(data.chelsea()), astronaut_result())
    assert out["comparable"] is False and out["problems"] == ["framing"] and out["deltas"] == {}


def test_deltas_are_this_minus_baseline() -> None:
    redder = analyse(scale_linear(astronaut(), (1.15, 0.97, 0.97)))
    out = compare_results(redder, astronaut_result())
    assert out["deltas"]["cheek_left"]["redness"] > 1
    assert compare_results(astronaut_result(), redder)["deltas"]["cheek_left"]["redness"] < -1
