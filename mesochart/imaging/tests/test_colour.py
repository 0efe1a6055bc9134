"""ColorChecker reference data, matrix fitting, and calibration of a photo with a card."""

from __future__ import annotations

import numpy as np
import pytest

from mesochart.imaging.colour import (
    COLORCHECKER_LAB_D50,
    COLORCHECKER_NAMES,
    calibration_from_patches,
    detect_card,
    fit_ccm,
    linear_rgb_to_lab,
    reference_lab_d65,
    reference_linear_rgb,
    reference_srgb8,
    rgb8_to_lab,
)

from .helpers import analyse, astronaut, astronaut_with_card, scale_linear

# 8-bit sRGB of the ColorChecker Classic as commonly published (BabelColor / Wikipedia),
# an independent check of our D50 Lab -> sRGB conversion.
PUBLISHED_SRGB8 = [
    (115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177),
    (103, 189, 170), (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108),
    (157, 188, 64), (224, 163, 46), (56, 61, 150), (70, 148, 73), (175, 54, 60),
    (231, 199, 31), (187, 86, 149), (8, 133, 161), (243, 243, 242), (200, 200, 200),
    (160, 160, 160), (122, 122, 121), (85, 85, 85), (52, 52, 52),
]  # fmt: skip

CAST = (1.25, 1.0, 0.75)  # warm light: more red, less blue (linear gains)


def test_reference_data_has_24_named_patches_and_converts_close_to_published_srgb() -> None:
    assert len(COLORCHECKER_NAMES) == 24 and COLORCHECKER_LAB_D50.shape == (24, 3)
    diff = np.abs(reference_srgb8() - np.array(PUBLISHED_SRGB8))
    assert np.median(diff) <= 6 and diff[18:].max() <= 8  # greys agree closely
    lab = reference_lab_d65()
    assert np.all(np.abs(lab[18:, 1:]) < 3)  # neutral patches stay neutral under D65
    assert np.all(np.diff(lab[18:, 0]) < 0)


def test_srgb_to_lab_known_values() -> None:
    lab = rgb8_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    assert lab[0] == pytest.approx([100.0, 0.0, 0.0], abs=0.05)
    assert lab[1] == pytest.approx([0.0, 0.0, 0.0], abs=0.05)
    assert lab[2] == pytest.approx([53.24, 80.09, 67.20], abs=0.1)


def test_fit_ccm_recovers_a_known_matrix() -> None:
    truth = np.array([[0.9, 0.1, 0.0], [0.05, 1.1, -0.1], [0.0, -0.05, 0.8]])
    measured = reference_linear_rgb() @ np.linalg.inv(truth).T
    assert fit_ccm(measured, reference_linear_rgb()) == pytest.approx(truth, abs=1e-9)


def test_calibration_from_patches_undoes_a_cast() -> None:
    cast = scale_linear(reference_srgb8().astype(np.uint8)[None], CAST)[0]
    _ccm, before, after = calibration_from_patches(cast)
    assert before > 10 and after < 3


def test_detects_rendered_card_and_measures_its_patches() -> None:
    calibration = detect_card(astronaut_with_card())
    assert calibration is not None  # cv2.mcc finds the synthetic card
    assert np.abs(calibration.measured_srgb8 - reference_srgb8()).max() <= 2
    assert calibration.delta_e_after < 3


def test_no_card_in_plain_photos() -> None:
    assert detect_card(astronaut()) is None
    assert analyse(astronaut(), card=True)["quality"]["problems"] == ["card_not_found"]


def test_card_calibration_brings_patches_to_reference_and_removes_the_cast_from_skin() -> None:
    reference = analyse(astronaut_with_card())
    assert reference["quality"]["colour_card"] is True
    cast = scale_linear(astronaut_with_card(), CAST)
    uncalibrated = analyse(scale_linear(astronaut(), CAST))  # same cast, no card
    calibrated = analyse(cast, card=True)
    assert calibrated["quality"]["colour_card"] is True
    assert "card_not_found" not in calibrated["quality"]["problems"]
    cal = calibrated["colour_calibration"]
    assert cal["patch_delta_e_before"] > 8 and cal["patch_delta_e_after"] < 3
    for key in ("L", "a", "b"):
        err_cal = abs(calibrated["whole_face"][key] - reference["whole_face"][key])
        err_raw = abs(uncalibrated["whole_face"][key] - reference["whole_face"][key])
        assert err_cal < 1.5, key
        assert err_cal <= err_raw, key
    assert abs(uncalibrated["whole_face"]["b"] - reference["whole_face"]["b"]) > 5


def test_lab_of_reference_linear_matches_reference_lab() -> None:
    lab = linear_rgb_to_lab(np.clip(reference_linear_rgb(), 0, None))
    in_gamut = np.all((reference_linear_rgb() >= 0) & (reference_linear_rgb() <= 1), axis=1)
    assert np.abs(lab[in_gamut] - reference_lab_d65()[in_gamut]).max() < 0.05
