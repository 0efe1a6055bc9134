"""One photo -> the analyze-photo result (a JSON-ready dict); two results -> a comparison."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from .colour import CardCalibration, apply_ccm_rgb8, detect_card, linear_rgb_to_lab, rgb8_to_lab
from .face import ZONE_NAMES, align_face, locate_face, region_masks, skin_mask, zone_boxes
from .landmarks import DETECTOR_NAME
from .loading import MAX_PIXELS, MEMORY_BUDGET_BYTES, LoadedImage, load_image
from .metrics import ZoneMaps, exposure, sharpness, zone_metrics

ALGORITHM_VERSION = "1.1.0"

ANALYSIS_LONG_SIDE = 2000
"""JPEGs are decoded at reduced scale (DCT scaling) when larger; never below this long side."""

# Quality thresholds (see docs/skin-metrics.md).
BLUR_MIN_SHARPNESS = 25.0
"""Variance of the Laplacian over the aligned face below this -> ``blurred``."""
DARK_MAX_P95_LUMA = 60.0
"""95th percentile of face luma (0-255) below this -> ``too_dark``."""
DARK_MAX_CRUSHED_PCT = 10.0
"""... or more than this % of face pixels crushed to black (all channels <= 5)."""
BRIGHT_MAX_CLIPPED_PCT = 5.0
"""More than this % of face pixels with a channel at 254-255 -> ``too_bright``."""
FACE_MIN_HEIGHT_PCT = 15.0
"""Face box height below this % of the image height -> ``face_too_small`` ..."""
FACE_MIN_HEIGHT_PX = 80
"""... or below this many pixels of the full-resolution photo."""
TILT_MAX_DEG = 8.0
"""|roll_deg| above this -> ``tilted``."""
GREY_MAX_CHANNEL_DIFF = 2
"""Every pixel's R, G and B within this of each other -> ``greyscale`` (a grey JPEG saved
as colour keeps a little chroma noise)."""

# Comparability thresholds (this photo against the baseline).
POSE_MAX_ROLL_DIFF_DEG = 5.0
SCALE_MAX_RATIO = 1.15
"""Face sizes may differ by this factor either way (eye distance in % of the image width)."""
FRAMING_MAX_SHIFT_PCT = 10.0
"""Eye midpoints may be this far apart, in % of the image (x in % of the width, y in % of
the height)."""

PROBLEM_ORDER = (
    "no_face",
    "eyes_not_found",
    "greyscale",
    "too_dark",
    "too_bright",
    "blurred",
    "face_too_small",
    "tilted",
    "card_not_found",
)
LIGHTING_MAX_DELTA_L = 6.0
"""Whole-face mean L* may differ by this much (after card calibration when both have one)."""

DELTA_KEYS = ("L", "redness", "evenness", "texture")


def _r(value: float, digits: int) -> float:
    out = round(float(value), digits)
    return 0.0 if out == 0 else out  # no "-0.0"


def is_greyscale(rgb: np.ndarray) -> bool:
    """True when no pixel has colour (R, G, B within :data:`GREY_MAX_CHANNEL_DIFF`)."""
    small = rgb[:: max(1, rgb.shape[0] // 512), :: max(1, rgb.shape[1] // 512)].astype(np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return bool(spread.max(initial=0) <= GREY_MAX_CHANNEL_DIFF)


def _pt(x: float, y: float, scale: float) -> list[float]:
    return [_r(x / scale, 1), _r(y / scale, 1)]


def analyze_image(loaded: LoadedImage, card: bool = False) -> dict[str, Any]:
    """Analyse a decoded photo. ``card`` = a ColorChecker is expected (problem if absent)."""
    rgb = loaded.rgb
    calibration: CardCalibration | None = detect_card(rgb)
    face = locate_face(rgb)
    problems: list[str] = []
    zones: dict[str, Any] = {}
    whole: dict[str, Any] = {}
    face_info: dict[str, Any] = {}
    overlay: dict[str, Any] = {}
    ih, iw = rgb.shape[:2]
    scale = loaded.scale
    face_height_pct: float | None = None
    roll: float | None = None
    area: np.ndarray | None = None
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if is_greyscale(rgb):
        problems.append("greyscale")

    if face is None:
        problems.append("no_face")
    else:
        x, y, w, h = face.box
        face_height_pct = 100.0 * h / ih
        face_info = {
            "box_px": [_r(x / scale, 1), _r(y / scale, 1), _r(w / scale, 1), _r(h / scale, 1)],
            "score": _r(face.score, 3),
            "eyes_found": face.eyes_found,
            "eyes_px": None,
            "detector": DETECTOR_NAME,
            "box_pct": [
                _r(100.0 * x / iw, 2),
                _r(100.0 * y / ih, 2),
                _r(100.0 * w / iw, 2),
                _r(face_height_pct, 2),
            ],
            "centre_pct": [_r(100.0 * (x + w / 2) / iw, 2), _r(100.0 * (y + h / 2) / ih, 2)],
        }
        if h / scale < FACE_MIN_HEIGHT_PX or face_height_pct < FACE_MIN_HEIGHT_PCT:
            problems.append("face_too_small")
        if not face.eyes_found:
            problems.append("eyes_not_found")
        else:
            assert face.eye_image_left is not None and face.eye_image_right is not None
            roll = face.roll_deg
            aligned = align_face(rgb, face)
            if calibration is not None:
                lab = linear_rgb_to_lab(apply_ccm_rgb8(aligned.rgb, calibration.ccm))
            else:
                lab = rgb8_to_lab(aligned.rgb)
            area, rects = region_masks(aligned)
            skin = skin_mask(lab, aligned.rgb, area, rects)
            maps = ZoneMaps(lab, skin, aligned.d)
            for name in ZONE_NAMES:
                zones[name] = zone_metrics(maps, rects[name])
            whole = zone_metrics(maps, np.ones_like(skin))
            aligned_grey = cv2.cvtColor(aligned.rgb, cv2.COLOR_RGB2GRAY)
            sharp = sharpness(aligned_grey, area)
            clipped, crushed, p95 = exposure(aligned.rgb, area)
            mx, my = face.eye_mid
            face_info.update(
                {
                    "eyes_px": {
                        "right": _pt(*face.eye_image_left, scale),
                        "left": _pt(*face.eye_image_right, scale),
                    },
                    "eye_midpoint_pct": [_r(100.0 * mx / iw, 2), _r(100.0 * my / ih, 2)],
                    "eye_distance_pct": _r(100.0 * face.eye_distance / iw, 2),
                    "analysis_eye_distance_px": _r(aligned.d, 1),
                }
            )
            overlay = _overlay(aligned, scale)
            if roll is not None and abs(roll) > TILT_MAX_DEG:
                problems.append("tilted")
    if area is None:
        clipped, crushed, p95 = exposure(rgb, None)
        sharp = sharpness(grey, np.ones((ih, iw), bool))

    if p95 < DARK_MAX_P95_LUMA or crushed > DARK_MAX_CRUSHED_PCT:
        problems.append("too_dark")
    if clipped > BRIGHT_MAX_CLIPPED_PCT:
        problems.append("too_bright")
    if sharp < BLUR_MIN_SHARPNESS:
        problems.append("blurred")
    if card and calibration is None:
        problems.append("card_not_found")
    problems.sort(key=lambda p: PROBLEM_ORDER.index(p) if p in PROBLEM_ORDER else 99)

    quality = {
        "ok": not problems,
        "problems": problems,
        "sharpness": _r(sharp, 1),
        "exposure_clipped_pct": _r(clipped + crushed, 2),
        "face_height_pct": None if face_height_pct is None else _r(face_height_pct, 2),
        "roll_deg": None if roll is None else _r(roll, 2),
        "colour_card": calibration is not None,
    }
    result: dict[str, Any] = {
        "algorithm_version": ALGORITHM_VERSION,
        "image": {
            "width": loaded.width,
            "height": loaded.height,
            "sha256": loaded.sha256,
            "format": loaded.format,
        },
        "face_found": face is not None,
        "quality": quality,
        "zones": zones,
        "whole_face": whole,
    }
    if face_info:
        result["face"] = face_info
    if overlay:
        result["overlay"] = overlay
    if calibration is not None:
        result["colour_calibration"] = {
            "card_corners_px": [
                [_r(cx / loaded.scale, 1), _r(cy / loaded.scale, 1)] for cx, cy in calibration.box
            ],
            "patch_delta_e_before": _r(calibration.delta_e_before, 2),
            "patch_delta_e_after": _r(calibration.delta_e_after, 2),
            "matrix": [[_r(v, 5) for v in row] for row in calibration.ccm],
        }
    return result


def _overlay(aligned: Any, scale: float) -> dict[str, Any]:
    """What was measured, in full-resolution image pixels, for drawing over the photo: each
    zone's corners and the face outline."""
    m = aligned.to_image

    def img(u: float, v: float) -> list[float]:
        x = m[0, 0] * u + m[0, 1] * v + m[0, 2]
        y = m[1, 0] * u + m[1, 1] * v + m[1, 2]
        return _pt(x, y, scale)

    from .landmarks import FACE_OVAL

    zones = {
        name: [img(u0, v0), img(u1, v0), img(u1, v1), img(u0, v1)]
        for name, (u0, u1, v0, v1) in zone_boxes(aligned).items()
    }
    outline = [img(float(u), float(v)) for u, v in aligned.points[list(FACE_OVAL)]]
    return {"zones_px": zones, "face_outline_px": outline}


def load_for_analysis(
    data: bytes, *, max_pixels: int = MAX_PIXELS, memory_budget: int = MEMORY_BUDGET_BYTES
) -> LoadedImage:
    """Decode photo bytes once, at the resolution analysis needs (see :func:`load_image`)."""
    return load_image(
        data, draft_long_side=ANALYSIS_LONG_SIDE, max_pixels=max_pixels, memory_budget=memory_budget
    )


def analyze_bytes(
    data: bytes,
    card: bool = False,
    *,
    max_pixels: int = MAX_PIXELS,
    memory_budget: int = MEMORY_BUDGET_BYTES,
) -> dict[str, Any]:
    """Decode (safely) and analyse photo bytes. Raises ``ImageError`` for invalid files."""
    loaded = load_for_analysis(data, max_pixels=max_pixels, memory_budget=memory_budget)
    return analyze_image(loaded, card=card)


def compare_results(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Pose/framing/lighting differences and per-zone deltas (current minus baseline).

    Works on two ``analyze_*`` results, so stored results can be compared later.
    """
    problems: list[str] = []
    out: dict[str, Any] = {
        "comparable": False,
        "problems": problems,
        "roll_diff_deg": None,
        "scale_ratio": None,
        "shift_pct": None,
        "lighting_diff_L": None,
        "deltas": {},
    }
    versions = (current.get("algorithm_version"), baseline.get("algorithm_version"))
    if versions[0] != versions[1]:
        out["note_versions"] = f"analysed by different versions ({versions[0]}, {versions[1]})"
    if not (current.get("face_found") and baseline.get("face_found")):
        problems.append("framing")
        return out
    q, bq = current["quality"], baseline["quality"]
    face, bface = current.get("face", {}), baseline.get("face", {})
    # 1.0.0 results could carry guessed eyes (eyes_found false, zones still placed).
    eyes = bool(face.get("eyes_found")) and bool(bface.get("eyes_found"))
    if not eyes or q["roll_deg"] is None or bq["roll_deg"] is None:
        problems.append("pose")  # the pose of a face without located eyes is unknown
        return out
    roll_diff = q["roll_deg"] - bq["roll_deg"]
    out["roll_diff_deg"] = _r(roll_diff, 2)
    if abs(roll_diff) > POSE_MAX_ROLL_DIFF_DEG:
        problems.append("pose")
    # Distance between the eyes for the size (independent of roll), their midpoint for the
    # position.
    scale = face["eye_distance_pct"] / bface["eye_distance_pct"]
    out["scale_ratio"] = _r(scale, 3)
    if not (1.0 / SCALE_MAX_RATIO <= scale <= SCALE_MAX_RATIO):
        problems.append("scale")
    (cx, cy), (bx, by) = face["eye_midpoint_pct"], bface["eye_midpoint_pct"]
    shift = math.hypot(cx - bx, cy - by)
    out["shift_pct"] = _r(shift, 2)
    if shift > FRAMING_MAX_SHIFT_PCT:
        problems.append("framing")
    wl, bwl = current["whole_face"].get("L"), baseline["whole_face"].get("L")
    if wl is not None and bwl is not None:
        out["lighting_diff_L"] = _r(wl - bwl, 2)
        if abs(wl - bwl) > LIGHTING_MAX_DELTA_L:
            problems.append("lighting")
    if q["colour_card"] != bq["colour_card"]:
        out["note"] = "only one of the two photos was colour-calibrated"
    deltas: dict[str, dict[str, float | None]] = {}
    for name in (*ZONE_NAMES, "whole_face"):
        zone = current["whole_face"] if name == "whole_face" else current["zones"].get(name, {})
        base = baseline["whole_face"] if name == "whole_face" else baseline["zones"].get(name, {})
        deltas[name] = {
            key: (
                None
                if zone.get(key) is None or base.get(key) is None
                else _r(zone[key] - base[key], 3 if key == "texture" else 2)
            )
            for key in DELTA_KEYS
        }
    out["deltas"] = deltas
    out["comparable"] = not problems
    return out
