"""Colour: sRGB <-> CIELAB (D65), ColorChecker Classic reference data, card detection and a
3x3 colour correction matrix fitted in linear RGB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# ColorChecker Classic (24 patches), CIELAB D50 / 2 degree observer, X-Rite published values
# for charts made after November 2014 ("ColorChecker Classic" L*a*b* data, X-Rite/Calibrite;
# the same table BabelColor lists as "X-Rite post-2014"). Row-major from the dark-skin patch,
# as the card is read with its brown patch top left.
COLORCHECKER_NAMES: tuple[str, ...] = (
    "dark skin", "light skin", "blue sky", "foliage", "blue flower", "bluish green",
    "orange", "purplish blue", "moderate red", "purple", "yellow green", "orange yellow",
    "blue", "green", "red", "yellow", "magenta", "cyan",
    "white 9.5", "neutral 8", "neutral 6.5", "neutral 5", "neutral 3.5", "black 2",
)  # fmt: skip
COLORCHECKER_LAB_D50: np.ndarray = np.array(
    [
        (37.54, 14.37, 14.92), (64.66, 19.27, 17.50), (49.32, -3.82, -22.54),
        (43.46, -12.74, 22.72), (54.94, 9.61, -24.79), (70.48, -32.26, -0.37),
        (62.73, 35.83, 56.50), (39.43, 10.75, -45.17), (50.57, 48.64, 16.67),
        (30.10, 22.54, -20.87), (71.77, -24.13, 58.19), (71.51, 18.24, 67.37),
        (28.37, 15.42, -49.80), (54.38, -39.72, 32.27), (42.43, 51.05, 28.62),
        (81.80, 2.67, 80.41), (50.63, 51.28, -14.12), (49.57, -29.71, -28.32),
        (95.19, -1.03, 2.93), (81.29, -0.57, 0.44), (66.89, -0.75, -0.06),
        (50.76, -0.13, 0.14), (35.63, -0.46, -0.48), (20.64, 0.07, -0.46),
    ],
    dtype=np.float64,
)  # fmt: skip

# CIE white points (2 degree observer, Y = 1).
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
WHITE_D50 = np.array([0.96422, 1.0, 0.82521])
# IEC 61966-2-1 sRGB primaries, linear RGB -> XYZ (D65).
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)
# Bradford chromatic adaptation D50 -> D65 (Lindbloom).
BRADFORD_D50_TO_D65 = np.array(
    [
        [0.9555766, -0.0230393, 0.0631636],
        [-0.0282895, 1.0099416, 0.0210077],
        [0.0122982, -0.0204830, 1.3299098],
    ]
)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> linear light (IEC 61966-2-1)."""
    v = np.asarray(v, dtype=np.float32)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


def _f(t: np.ndarray) -> np.ndarray:
    d = 6.0 / 29.0
    return np.where(t > d**3, np.cbrt(t), t / (3 * d * d) + 4.0 / 29.0)


def _finv(t: np.ndarray) -> np.ndarray:
    d = 6.0 / 29.0
    return np.where(t > d, t**3, 3 * d * d * (t - 4.0 / 29.0))


def xyz_to_lab(xyz: np.ndarray, white: np.ndarray = WHITE_D65) -> np.ndarray:
    f = _f(xyz / white.astype(xyz.dtype))
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_xyz(lab: np.ndarray, white: np.ndarray = WHITE_D65) -> np.ndarray:
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    return np.stack([_finv(fx), _finv(fy), _finv(fz)], axis=-1) * white


def linear_rgb_to_lab(lin: np.ndarray) -> np.ndarray:
    """Linear sRGB (..., 3) -> CIELAB D65, float32."""
    xyz = lin.astype(np.float32) @ SRGB_TO_XYZ.T.astype(np.float32)
    return xyz_to_lab(xyz).astype(np.float32)


def rgb8_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) -> CIELAB D65 float32 (L 0-100)."""
    lut = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
    return linear_rgb_to_lab(lut[rgb])


def reference_linear_rgb() -> np.ndarray:
    """The 24 reference patches as linear sRGB (D65), from the D50 Lab data via Bradford."""
    xyz50 = lab_to_xyz(COLORCHECKER_LAB_D50, WHITE_D50)
    xyz65 = xyz50 @ BRADFORD_D50_TO_D65.T
    return np.asarray(xyz65 @ XYZ_TO_SRGB.T, dtype=np.float64)


def reference_lab_d65() -> np.ndarray:
    """The 24 reference patches as CIELAB under D65 (Bradford-adapted)."""
    return np.asarray(
        xyz_to_lab(lab_to_xyz(COLORCHECKER_LAB_D50, WHITE_D50) @ BRADFORD_D50_TO_D65.T)
    )


def reference_srgb8() -> np.ndarray:
    """The 24 reference patches as 8-bit sRGB (out-of-gamut values clipped)."""
    return np.rint(linear_to_srgb(reference_linear_rgb()) * 255.0).astype(np.int64)


def fit_ccm(measured_linear: np.ndarray, reference_linear: np.ndarray) -> np.ndarray:
    """Least-squares 3x3 matrix M with ``reference ~= measured @ M.T`` (linear RGB, (N, 3))."""
    m, *_ = np.linalg.lstsq(
        np.asarray(measured_linear, np.float64),
        np.asarray(reference_linear, np.float64),
        rcond=None,
    )
    return np.asarray(m.T)


def apply_ccm_rgb8(rgb: np.ndarray, ccm: np.ndarray) -> np.ndarray:
    """Apply a linear-RGB matrix to uint8 sRGB; returns *linear* float32 RGB (not clipped
    above 1 so that Lab stays honest for bright skin; negatives clipped to 0)."""
    lut = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
    lin = lut[rgb] @ ccm.T.astype(np.float32)
    return np.clip(lin, 0.0, None).astype(np.float32)


def delta_e76(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.sqrt(((np.asarray(a) - np.asarray(b)) ** 2).sum(axis=-1)))


@dataclass(frozen=True)
class CardCalibration:
    ccm: np.ndarray  # 3x3, linear RGB
    measured_srgb8: np.ndarray  # (24, 3) as seen in the photo
    delta_e_before: float  # mean CIE76 of the patches against reference, uncorrected
    delta_e_after: float  # ... after correction
    box: tuple[tuple[float, float], ...]  # corners in full-image pixels


CARD_MAX_DELTA_E_AFTER = 12.0
"""A detected card whose patches still differ this much after fitting is treated as a false
detection (no real ColorChecker fits that badly with a 3x3 matrix)."""


def calibration_from_patches(measured_srgb8: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Fit the CCM from the 24 measured patch colours (8-bit sRGB, reference order).

    Returns ``(ccm, mean delta E before, mean delta E after)`` against the D65 reference.
    """
    measured = np.asarray(measured_srgb8, dtype=np.float64).reshape(24, 3)
    meas_lin = srgb_to_linear(measured / 255.0).astype(np.float64)
    ref_lin = reference_linear_rgb()
    ccm = fit_ccm(meas_lin, ref_lin)
    ref_lab = reference_lab_d65()
    before = float(delta_e76(linear_rgb_to_lab(meas_lin), ref_lab).mean())
    after = float(delta_e76(linear_rgb_to_lab(np.clip(meas_lin @ ccm.T, 0, None)), ref_lab).mean())
    return ccm, before, after


def _neutral_ok(measured: np.ndarray) -> bool:
    """The bottom row (white ... black) must get darker patch by patch."""
    grey = measured[18:24].mean(axis=1)
    return bool(np.all(np.diff(grey) < 0))


CARD_DETECT_LONG_SIDE = 800
"""The card is searched on a copy at most this long (px); patches stay well over 10 px."""


def detect_card(rgb: np.ndarray) -> CardCalibration | None:
    """Find a 24-patch ColorChecker with ``cv2.mcc`` and fit the correction, or None."""
    h, w = rgb.shape[:2]
    factor = min(1.0, CARD_DETECT_LONG_SIDE / max(h, w))
    small = rgb
    if factor < 1.0:
        small = cv2.resize(
            rgb,
            (max(1, round(w * factor)), max(1, round(h * factor))),
            interpolation=cv2.INTER_AREA,
        )
    mcc: Any = cv2.mcc  # contrib module; its stubs are incomplete
    detector = mcc.CCheckerDetector_create()
    params = mcc.DetectorParameters_create()
    # Three adaptive-threshold window sizes instead of nine: about 3x faster, same hits
    # on printed cards that fill a few percent of the frame.
    params.adaptiveThreshWinSizeMin = 23
    params.adaptiveThreshWinSizeMax = 151
    params.adaptiveThreshWinSizeStep = 64
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    try:
        found = detector.process(bgr, mcc.MCC24, 1, False, params)
    except cv2.error:  # pragma: no cover - defensive: a detector failure is "no card"
        return None
    if not found:
        return None
    checker = detector.getBestColorChecker()
    charts = np.asarray(checker.getChartsRGB())
    measured = charts[:, 1].reshape(-1, 3)[:24].astype(np.float64)
    if measured.shape != (24, 3) or not _neutral_ok(measured):
        return None
    ccm, before, after = calibration_from_patches(measured)
    if after > CARD_MAX_DELTA_E_AFTER:
        return None
    box = tuple(
        (round(float(x) / factor, 1), round(float(y) / factor, 1))
        for x, y in np.asarray(checker.getBox())
    )
    return CardCalibration(ccm, measured, before, after, box)
