"""Face, zones and metrics on a real face photo and on transformations with known effects."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from mesochart.imaging.face import ZONE_NAMES

from .helpers import analyse, astronaut, astronaut_result, rotate, scale_linear

METRIC_KEYS = {"pixels", "L", "a", "b", "ita_deg", "redness", "evenness", "texture"}


def test_astronaut_face_zones_and_keys() -> None:
    result = astronaut_result()
    assert result["algorithm_version"] == "1.1.0"
    assert result["face_found"] is True
    assert result["image"]["width"] == 512 and len(result["image"]["sha256"]) == 64
    assert set(result["zones"]) == set(ZONE_NAMES)
    for name, zone in [*result["zones"].items(), ("whole_face", result["whole_face"])]:
        assert set(zone) == METRIC_KEYS, name
        assert zone["pixels"] >= 100, name
        assert 40 < zone["L"] < 90 and 0 < zone["a"] < 25 and 5 < zone["b"] < 35, name
        assert 0 <= zone["evenness"] <= 100 and zone["texture"] > 0, name
        assert zone["redness"] == zone["a"]
    whole = result["whole_face"]
    assert whole["pixels"] > sum(z["pixels"] for z in result["zones"].values())
    q = result["quality"]
    assert q["ok"] is True and q["problems"] == []
    assert -6 < q["roll_deg"] < 0  # her head leans slightly clockwise
    assert 15 < q["face_height_pct"] < 25 and q["colour_card"] is False


def test_ita_follows_its_formula() -> None:
    for zone in astronaut_result()["zones"].values():
        expected = np.degrees(np.arctan((zone["L"] - 50) / zone["b"]))
        assert abs(zone["ita_deg"] - expected) < 0.1


def test_photos_without_a_face() -> None:
    for rgb in (data.chelsea(), data.coffee()):
        result = analyse(rgb)
        assert result["face_found"] is False
        assert result["zones"] == {} and result["whole_face"] == {}
        assert "no_face" in result["quality"]["problems"]
        assert result["quality"]["ok"] is False and result["quality"]["roll_deg"] is None


def test_a_greyscale_photo_is_reported_not_passed() -> None:
    result = analyse(data.camera())  # the cameraman: a real face, no colour
    assert result["face_found"] is True
    assert "greyscale" in result["quality"]["problems"] and result["quality"]["ok"] is False
    grey = np.repeat(astronaut().mean(axis=2).astype(np.uint8)[:, :, None], 3, axis=2)
    assert "greyscale" in analyse(grey)["quality"]["problems"]
    assert "greyscale" not in astronaut_result()["quality"]["problems"]


def test_blur_lowers_texture_and_sharpness() -> None:
    base = astronaut_result()
    blurred = analyse(cv2.GaussianBlur(astronaut(), (0, 0), 2.0))
    assert blurred["quality"]["sharpness"] < base["quality"]["sharpness"] / 4
    assert "blurred" in blurred["quality"]["problems"]
    for name in ZONE_NAMES:
        assert blurred["zones"][name]["texture"] < base["zones"][name]["texture"], name
    assert blurred["whole_face"]["texture"] < 0.6 * base["whole_face"]["texture"]


def test_noise_raises_texture() -> None:
    rng = np.random.default_rng(7)
    noisy = np.clip(astronaut() + rng.normal(0, 12, (512, 512, 1)), 0, 255).astype(np.uint8)
    result = analyse(noisy)
    base = astronaut_result()
    assert result["whole_face"]["texture"] > 1.2 * base["whole_face"]["texture"]
    for name in ZONE_NAMES:
        assert result["zones"][name]["texture"] > 1.2 * base["zones"][name]["texture"], name


def test_red_cast_raises_redness() -> None:
    result = analyse(scale_linear(astronaut(), (1.2, 0.95, 0.95)))
    base = astronaut_result()
    for name in (*ZONE_NAMES, "whole_face"):
        zone = result["whole_face"] if name == "whole_face" else result["zones"][name]
        ref = base["whole_face"] if name == "whole_face" else base["zones"][name]
        assert zone["redness"] > ref["redness"] + 2, name


def test_brightening_raises_lightness() -> None:
    result = analyse(scale_linear(astronaut(), (1.3, 1.3, 1.3)))
    base = astronaut_result()
    assert result["whole_face"]["L"] > base["whole_face"]["L"] + 3
    for name in ZONE_NAMES:
        assert result["zones"][name]["L"] > base["zones"][name]["L"], name


def test_rotating_the_photo_counter_clockwise_is_positive_roll() -> None:
    base = astronaut_result()["quality"]["roll_deg"]
    plus = analyse(rotate(astronaut(), 10.0))["quality"]["roll_deg"]
    minus = analyse(rotate(astronaut(), -10.0))["quality"]["roll_deg"]
    assert 7.5 < plus - base < 12.5
    assert -12.5 < minus - base < -7.5


def test_tilted_head_is_flagged() -> None:
    assert "tilted" in analyse(rotate(astronaut(), 15.0))["quality"]["problems"]


def test_cheek_left_is_the_patients_left_the_images_right() -> None:
    base = astronaut_result()
    rgb = astronaut()
    mid_x = 224  # eye midpoint
    rgb[:, mid_x + 5 :] = scale_linear(rgb[:, mid_x + 5 :], (0.75, 0.75, 0.75))
    result = analyse(rgb)
    left, right = result["zones"]["cheek_left"], result["zones"]["cheek_right"]
    left_drop = base["zones"]["cheek_left"]["L"] - left["L"]
    assert left_drop > 4
    assert abs(right["L"] - base["zones"]["cheek_right"]["L"]) < left_drop / 3


def test_spots_lower_evenness() -> None:
    base = astronaut_result()
    rgb = astronaut()
    rng = np.random.default_rng(3)
    # Brown spots (2-3 px radius) over the patient's right cheek (image left).
    for _ in range(14):
        x, y = int(rng.integers(188, 210)), int(rng.integers(115, 135))
        cv2.circle(rgb, (x, y), int(rng.integers(2, 4)), (150, 100, 80), -1)
    result = analyse(rgb)
    assert result["zones"]["cheek_right"]["evenness"] < base["zones"]["cheek_right"]["evenness"] - 5
    assert (
        abs(result["zones"]["cheek_left"]["evenness"] - base["zones"]["cheek_left"]["evenness"]) < 2
    )


def test_dark_and_bright_exposures_are_flagged() -> None:
    dark = analyse((astronaut() * 0.15).astype(np.uint8))
    assert "too_dark" in dark["quality"]["problems"]
    bright = analyse(np.clip(astronaut().astype(int) * 2 + 40, 0, 255).astype(np.uint8))
    assert "too_bright" in bright["quality"]["problems"]
    assert bright["quality"]["exposure_clipped_pct"] > 5


def test_small_face_is_flagged() -> None:
    canvas = np.full((1200, 1200, 3), 128, np.uint8)
    canvas[344:856, 344:856] = astronaut()
    result = analyse(canvas)
    assert result["face_found"] is True
    assert result["face"]["eyes_found"] is True
    assert result["quality"]["face_height_pct"] < 10
    assert "face_too_small" in result["quality"]["problems"]


def test_results_are_stable_on_a_12_megapixel_upscale() -> None:
    from PIL import Image

    from mesochart.imaging import analyze_bytes

    from .helpers import encode

    big = np.asarray(Image.fromarray(astronaut()).resize((4000, 4000), Image.Resampling.BICUBIC))
    result = analyze_bytes(encode(big[:3000], "JPEG", quality=92))
    base = astronaut_result()
    assert (result["image"]["width"], result["image"]["height"]) == (4000, 3000)
    assert abs(result["quality"]["roll_deg"] - base["quality"]["roll_deg"]) < 1.5
    for key in ("L", "a", "b"):
        assert abs(result["whole_face"][key] - base["whole_face"][key]) < 2.0, key
