"""Face and eye location (OpenCV Haar cascades), head roll, an eye-aligned face frame,
anatomical zones and the skin mask.

Coordinates in the aligned frame are in units of the interocular distance ``d`` with the
origin midway between the eye centres, x towards the image's right, y downwards. The
patient's left is the image's right in a frontal photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

DETECT_LONG_SIDE = 400
"""Faces are searched on a grey copy at most this long (px)."""
FACE_MIN_SIZE_FRACTION = 0.12
"""Smallest face searched, as a fraction of the shorter image side (first pass; the second,
at twice the size, searches down to half of it)."""
EYE_SEARCH_FACE_PX = 200
"""Eyes are searched in the face box resized to this height (px)."""
ALIGNED_EYE_DISTANCE_PX = 200
"""Analysis scale: the face is resampled so the eye centres are this far apart (px),
never enlarged beyond the photo's own resolution."""

# Aligned frame extent in units of d (interocular distance).
FRAME_X = (-1.35, 1.35)
FRAME_Y = (-1.25, 1.85)

# Typical eye position inside a Haar frontal-face box (fractions of its width/height),
# used when the eyes are not found.
EYE_Y_IN_BOX = 0.37
EYE_X_IN_BOX = (0.28, 0.72)

ZONES: dict[str, tuple[float, float, float, float]] = {
    # name: (x0, x1, y0, y1) in units of d; anatomical sides.
    "forehead": (-0.5, 0.5, -0.82, -0.5),
    "cheek_left": (0.4, 1.0, 0.25, 0.85),  # patient's left = image right
    "cheek_right": (-1.0, -0.4, 0.25, 0.85),  # patient's right = image left
    "nose": (-0.17, 0.17, 0.12, 0.62),
    "chin": (-0.36, 0.36, 1.38, 1.68),
}
ZONE_NAMES: tuple[str, ...] = tuple(ZONES)

# Face oval and exclusions, (cx, cy, rx, ry) in units of d.
FACE_OVAL = (0.0, 0.32, 1.02, 1.42)
EXCLUDE_ELLIPSES: tuple[tuple[float, float, float, float], ...] = (
    (-0.5, 0.0, 0.34, 0.2),  # eye, image left
    (0.5, 0.0, 0.34, 0.2),  # eye, image right
    (-0.5, -0.32, 0.42, 0.15),  # brow, image left
    (0.5, -0.32, 0.42, 0.15),  # brow, image right
    (0.0, 1.1, 0.48, 0.26),  # lips
    (0.0, 0.76, 0.3, 0.1),  # nostrils
)
SKIN_SEED_ZONES = ("cheek_left", "cheek_right", "nose")
SKIN_K_SIGMA = 3.0
"""Skin pixels lie within this many robust standard deviations of the seed's a* and b*..."""
SKIN_MIN_AB_WINDOW = 5.0
"""... but never a window narrower than this many units of a*/b* either side."""
SKIN_L_WINDOW = (18.0, 22.0)
"""and L* no more than 18 below (hair, brows, deep shadow) or 22 above (glare) the seed."""
SKIN_SMOOTH_D = 0.04
"""The skin test looks at colour smoothed with a Gaussian of this sigma (units of d)."""
SKIN_CLOSE_D = 0.06
"""Holes up to about this radius (units of d) inside skin are closed (spots, pores)."""


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face is in the analysed (possibly reduced) image, in its pixels."""

    box: tuple[int, int, int, int]  # x, y, w, h
    eyes_found: bool
    eye_image_left: tuple[float, float]
    eye_image_right: tuple[float, float]
    roll_deg: float | None  # positive = counter-clockwise as seen in the image

    @property
    def eye_distance(self) -> float:
        (x0, y0), (x1, y1) = self.eye_image_left, self.eye_image_right
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def eye_mid(self) -> tuple[float, float]:
        (x0, y0), (x1, y1) = self.eye_image_left, self.eye_image_right
        return (x0 + x1) / 2.0, (y0 + y1) / 2.0


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    clf = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if clf.empty():  # pragma: no cover - broken OpenCV install
        raise RuntimeError(f"OpenCV Haar cascade {name} is missing (opencv<5 ships them)")
    return clf


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _ranked(rects: np.ndarray, neighbours: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Detections, surest first (most neighbours), then largest, then top-left."""
    rows = sorted(
        (
            (-int(n), -int(r[2]) * int(r[3]), int(r[1]), int(r[0]), tuple(int(v) for v in r))
            for r, n in zip(rects, neighbours, strict=True)
        ),
    )
    return [(r[4][0], r[4][1], r[4][2], r[4][3]) for r in rows]


def detect_face_boxes(rgb: np.ndarray, fine: bool = False) -> list[tuple[int, int, int, int]]:
    """Frontal-face candidates (x, y, w, h) in ``rgb`` pixels, surest first.

    Searched on a grey copy :data:`DETECT_LONG_SIDE` long, or with ``fine`` at twice that
    size down to half the minimum face size (small faces in large photos); ``fine`` returns
    nothing when the photo is no larger than the first search.
    """
    h, w = rgb.shape[:2]
    long_side = DETECT_LONG_SIDE * (2 if fine else 1)
    if fine and max(h, w) <= DETECT_LONG_SIDE:
        return []
    factor = min(1.0, long_side / max(h, w))
    grey = _grey(rgb)
    if factor < 1.0:
        size = (round(w * factor), round(h * factor))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    grey = cv2.equalizeHist(grey)
    min_side = max(24, int(min(grey.shape) * FACE_MIN_SIZE_FRACTION * (0.5 if fine else 1.0)))
    found, neighbours = _cascade("haarcascade_frontalface_default.xml").detectMultiScale2(
        grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
    )
    if len(found) == 0:
        return []
    return [
        (round(x / factor), round(y / factor), round(bw / factor), round(bh / factor))
        for x, y, bw, bh in _ranked(np.asarray(found), np.asarray(neighbours))
    ]


def _eye_pair(rects: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Best (image-left, image-right) pair of eye rectangles in a face ROI of width ``side``."""
    centres = [(r[0] + r[2] / 2.0, r[1] + r[3] / 2.0, float(r[2])) for r in rects]
    best: tuple[float, int, int] | None = None
    for i, (xi, yi, si) in enumerate(centres):
        for j, (xj, yj, sj) in enumerate(centres):
            if not (xi < side * 0.5 <= xj):
                continue
            dx, dy = xj - xi, yj - yi
            if not (0.25 * side <= dx <= 0.7 * side) or abs(dy) > 0.35 * dx:
                continue
            score = abs(si - sj) / max(si, sj) + abs(dy) / side + abs(dx / side - 0.45)
            if best is None or score < best[0]:
                best = (score, i, j)
    if best is None:
        return None
    a, b = centres[best[1]], centres[best[2]]
    return np.array(a[:2]), np.array(b[:2])


def _find_eyes(
    rgb: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Centres of the (image-left, image-right) eyes inside a face box, or None."""
    x, y, w, h = box
    ih, iw = rgb.shape[:2]
    y0, y1 = max(0, y + int(0.12 * h)), min(ih, y + int(0.62 * h))
    x0, x1 = max(0, x), min(iw, x + w)
    if y1 - y0 <= 8 or x1 - x0 <= 8:
        return None
    factor = EYE_SEARCH_FACE_PX / h
    roi = _grey(rgb[y0:y1, x0:x1])
    roi = cv2.resize(
        roi,
        (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor))),
        interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR,
    )
    roi = cv2.equalizeHist(roi)
    min_eye = int(EYE_SEARCH_FACE_PX * 0.1)
    for name in ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml"):
        eyes = _cascade(name).detectMultiScale(
            roi, scaleFactor=1.08, minNeighbors=4, minSize=(min_eye, min_eye)
        )
        if len(eyes) >= 2:
            rows = np.asarray(sorted(tuple(int(v) for v in e) for e in eyes), dtype=np.float64)
            pair = _eye_pair(rows, roi.shape[1])
            if pair is not None:
                left = (x0 + float(pair[0][0]) / factor, y0 + float(pair[0][1]) / factor)
                right = (x0 + float(pair[1][0]) / factor, y0 + float(pair[1][1]) / factor)
                return left, right
    return None


FACE_CANDIDATES = 3
"""Up to this many face candidates are tried; the first with two eyes wins (this rejects
most false detections); when none has, the search is repeated at twice the resolution
(:func:`detect_face_boxes` ``fine``), and failing that the surest box is used without
eyes."""


def locate_face(rgb: np.ndarray) -> FaceGeometry | None:
    """Face box, eye centres and roll, or None when no frontal face is found."""
    boxes: list[tuple[int, int, int, int]] = []
    for fine in (False, True):
        candidates = detect_face_boxes(rgb, fine)
        for box in candidates[:FACE_CANDIDATES]:
            eyes = _find_eyes(rgb, box)
            if eyes is not None:
                left, right = eyes
                roll = math.degrees(math.atan2(left[1] - right[1], right[0] - left[0]))
                return FaceGeometry(box, True, left, right, roll)
        boxes += candidates
    if not boxes:
        return None
    x, y, w, h = boxes[0]
    ey = y + EYE_Y_IN_BOX * h
    return FaceGeometry(
        boxes[0], False, (x + EYE_X_IN_BOX[0] * w, ey), (x + EYE_X_IN_BOX[1] * w, ey), None
    )


@dataclass(frozen=True)
class AlignedFace:
    """The face resampled into the eye-aligned frame (see module docstring)."""

    rgb: np.ndarray  # uint8
    valid: np.ndarray  # bool, False where the frame fell outside the photo
    d: float  # interocular distance in aligned pixels
    origin: tuple[float, float]  # eye midpoint in aligned pixels (u, v)

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel frame coordinates (x, y) in units of d."""
        h, w = self.valid.shape
        u = (np.arange(w, dtype=np.float32) - self.origin[0]) / self.d
        v = (np.arange(h, dtype=np.float32) - self.origin[1]) / self.d
        return u[None, :].repeat(h, 0), v[:, None].repeat(w, 1)


def align_face(rgb: np.ndarray, face: FaceGeometry) -> AlignedFace:
    """Rotate the face upright (eye line horizontal) and scale it to the analysis scale."""
    d = face.eye_distance
    scale = min(1.0, ALIGNED_EYE_DISTANCE_PX / d)
    mx, my = face.eye_mid
    # Crop generously around the eyes first so the resize touches only the face.
    reach = 2.4 * d
    ih, iw = rgb.shape[:2]
    cx0, cy0 = max(0, int(mx - reach)), max(0, int(my - reach))
    cx1, cy1 = min(iw, int(mx + reach) + 1), min(ih, int(my + reach) + 1)
    crop = rgb[cy0:cy1, cx0:cx1]
    if scale < 1.0:
        crop = cv2.resize(
            crop,
            (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
            interpolation=cv2.INTER_AREA,
        )
    sx = crop.shape[1] / max(1, cx1 - cx0)
    sy = crop.shape[0] / max(1, cy1 - cy0)
    mcx, mcy = (mx - cx0) * sx, (my - cy0) * sy
    dc = d * (sx + sy) / 2.0
    theta = math.radians(face.roll_deg or 0.0)
    c, s = math.cos(theta), math.sin(theta)
    u0, v0 = -FRAME_X[0] * dc, -FRAME_Y[0] * dc
    out_w = round((FRAME_X[1] - FRAME_X[0]) * dc)
    out_h = round((FRAME_Y[1] - FRAME_Y[0]) * dc)
    # aligned (u, v) -> crop (x, y): p = m + (u-u0) * (c, -s) + (v-v0) * (s, c)
    m = np.array([[c, s, mcx - u0 * c - v0 * s], [-s, c, mcy + u0 * s - v0 * c]], dtype=np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    aligned = cv2.warpAffine(crop, m, (out_w, out_h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = np.full(crop.shape[:2], 255, np.uint8)
    valid = cv2.warpAffine(inside, m, (out_w, out_h), flags=flags, borderValue=0) == 255
    return AlignedFace(aligned, valid, dc, (u0, v0))


def _ellipse(x: np.ndarray, y: np.ndarray, e: tuple[float, float, float, float]) -> np.ndarray:
    cx, cy, rx, ry = e
    return np.asarray(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0)


def region_masks(face: AlignedFace) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(face area without eyes/brows/lips/nostrils, {zone: rectangle}) as boolean masks."""
    x, y = face.coords()
    area = _ellipse(x, y, FACE_OVAL) & face.valid
    for e in EXCLUDE_ELLIPSES:
        area &= ~_ellipse(x, y, e)
    zones = {
        name: (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        for name, (x0, x1, y0, y1) in ZONES.items()
    }
    return area, zones


def skin_mask(
    lab: np.ndarray, rgb: np.ndarray, area: np.ndarray, zones: dict[str, np.ndarray]
) -> np.ndarray:
    """Skin pixels of the face area: colour close to the cheeks' and nose's own skin.

    The reference colour is taken from the photo itself (robust median and spread of the
    cheeks and nose), so it follows the patient's skin tone and the light instead of a
    fixed skin-colour rule; hair, brows, lips, background and glare fall outside it. The
    test runs on a smoothed copy (sigma :data:`SKIN_SMOOTH_D` x d) and small holes are
    closed, so grain does not speckle the mask and small spots and pores stay in it (they
    are what evenness and texture measure).
    """
    sigma = max(1.0, SKIN_SMOOTH_D * _eye_px(area))
    smooth = cv2.GaussianBlur(lab, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    not_glare = rgb.min(axis=2) < 250
    seed = area & np.logical_or.reduce([zones[z] for z in SKIN_SEED_ZONES]) & not_glare
    if int(seed.sum()) < 30:
        return np.asarray(area & not_glare)
    vals = smooth[seed]
    med = np.median(vals, axis=0)
    sd = 1.4826 * np.median(np.abs(vals - med), axis=0)
    win_a = max(SKIN_K_SIGMA * float(sd[1]), SKIN_MIN_AB_WINDOW)
    win_b = max(SKIN_K_SIGMA * float(sd[2]), SKIN_MIN_AB_WINDOW)
    lo_l = float(med[0]) - max(SKIN_L_WINDOW[0], SKIN_K_SIGMA * float(sd[0]))
    hi_l = float(med[0]) + max(SKIN_L_WINDOW[1], SKIN_K_SIGMA * float(sd[0]))
    colour_ok = (
        (np.abs(smooth[..., 1] - med[1]) <= win_a)
        & (np.abs(smooth[..., 2] - med[2]) <= win_b)
        & (smooth[..., 0] >= lo_l)
        & (smooth[..., 0] <= hi_l)
    )
    size = 2 * round(SKIN_CLOSE_D * _eye_px(area)) + 1
    if size >= 3:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        colour_ok = cv2.morphologyEx(colour_ok.astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0
    return np.asarray(area & not_glare & colour_ok)


def _eye_px(area: np.ndarray) -> float:
    """Interocular distance in aligned pixels, from the frame's width."""
    return area.shape[1] / (FRAME_X[1] - FRAME_X[0])
