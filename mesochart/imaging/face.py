"""Face and eye location (MediaPipe BlazeFace + FaceMesh landmarks, see ``landmarks.py``),
head roll, an eye-aligned face frame, anatomical zones and the skin mask placed from the
landmarks.

Coordinates in the aligned frame are in units of the interocular distance ``d`` with the
origin midway between the eye centres, x towards the image's right, y downwards. The
patient's left is the image's right in a frontal photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import landmarks as lm

ALIGNED_EYE_DISTANCE_PX = 200
"""Analysis scale: the face is resampled so the eye centres are this far apart (px),
never enlarged beyond the photo's own resolution."""

# Aligned frame extent in units of d (interocular distance).
FRAME_X = (-1.35, 1.35)
FRAME_Y = (-1.25, 1.85)

ZONE_NAMES: tuple[str, ...] = ("forehead", "cheek_left", "cheek_right", "nose", "chin")
EXCLUDE_DILATE_D = 0.06
"""Eyes, brows, lips and nostrils (landmark outlines) are excluded with this margin (d)."""
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
    """Where the face is in the analysed (possibly reduced) image, in its pixels.

    ``eye_image_left`` / ``eye_image_right`` are the eyes on the image's left and right
    (the patient's right and left eye); None with ``points`` when the eyes were not found.
    """

    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    eyes_found: bool
    eye_image_left: tuple[float, float] | None
    eye_image_right: tuple[float, float] | None
    points: np.ndarray | None  # (468, 2) FaceMesh landmarks when the eyes were found

    @property
    def roll_deg(self) -> float | None:
        """Positive = counter-clockwise as seen in the image."""
        if self.eye_image_left is None or self.eye_image_right is None:
            return None
        (x0, y0), (x1, y1) = self.eye_image_left, self.eye_image_right
        return math.degrees(math.atan2(y0 - y1, x1 - x0))

    @property
    def eye_distance(self) -> float:
        assert self.eye_image_left is not None and self.eye_image_right is not None
        (x0, y0), (x1, y1) = self.eye_image_left, self.eye_image_right
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def eye_mid(self) -> tuple[float, float]:
        assert self.eye_image_left is not None and self.eye_image_right is not None
        (x0, y0), (x1, y1) = self.eye_image_left, self.eye_image_right
        return (x0 + x1) / 2.0, (y0 + y1) / 2.0


LANDMARK_WORK_LONG_SIDE = 1024
"""Faces and landmarks are searched on a copy at most this long (px)."""


def locate_face(rgb: np.ndarray) -> FaceGeometry | None:
    """The highest-scoring face (score at least ``landmarks.MIN_FACE_SCORE``) with its
    landmarks and eye centres, or None when no face is found. When FaceMesh does not
    confirm the face (its own score below ``landmarks.MIN_LANDMARK_SCORE``), the face is
    returned without eyes: nothing is guessed."""
    h, w = rgb.shape[:2]
    factor = min(1.0, LANDMARK_WORK_LONG_SIDE / max(h, w))
    work = rgb
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        work = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    detections = lm.detect_faces(work)
    if not detections:
        return None
    best = detections[0]
    marks = lm.face_landmarks(work, best)
    bx, by, bw, bh = (v / factor for v in best.box)
    if marks.score < lm.MIN_LANDMARK_SCORE:
        return FaceGeometry((bx, by, bw, bh), best.score, False, None, None, None)
    points = marks.points / factor
    oval = points[list(lm.FACE_OVAL)]
    (x0, y0), (x1, y1) = oval.min(axis=0), oval.max(axis=0)
    right, left = marks.right_eye, marks.left_eye
    return FaceGeometry(
        (float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
        best.score,
        True,
        (right[0] / factor, right[1] / factor),
        (left[0] / factor, left[1] / factor),
        points,
    )


@dataclass(frozen=True)
class AlignedFace:
    """The face resampled into the eye-aligned frame (see module docstring)."""

    rgb: np.ndarray  # uint8
    valid: np.ndarray  # bool, False where the frame fell outside the photo
    d: float  # interocular distance in aligned pixels
    origin: tuple[float, float]  # eye midpoint in aligned pixels (u, v)
    points: np.ndarray  # (468, 2) landmarks in aligned pixels (u, v)
    to_image: np.ndarray  # 2x3: aligned pixels (u, v) -> analysed-image pixels

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
    # aligned -> image: crop (x, y) = m @ (u, v, 1); image = crop / (sx, sy) + (cx0, cy0)
    to_image = np.array(
        [
            [m[0, 0] / sx, m[0, 1] / sx, m[0, 2] / sx + cx0],
            [m[1, 0] / sy, m[1, 1] / sy, m[1, 2] / sy + cy0],
        ]
    )
    to_aligned = cv2.invertAffineTransform(to_image)
    assert face.points is not None
    pts = np.hstack([face.points, np.ones((len(face.points), 1))]) @ to_aligned.T
    return AlignedFace(aligned, valid, dc, (u0, v0), pts, to_image)


def _poly(shape: tuple[int, ...], points: np.ndarray, dilate_px: int = 0) -> np.ndarray:
    """Filled polygon of ``points`` (an ordered outline or a convex hull), optionally grown
    by ``dilate_px``."""
    mask: np.ndarray = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    if dilate_px > 0:
        size = 2 * dilate_px + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return np.asarray(mask > 0)


def _hull(points: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.convexHull(points.astype(np.float32)).reshape(-1, 2))


def _rect(shape: tuple[int, ...], x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    h, w = shape[:2]
    u = np.arange(w, dtype=np.float32)[None, :]
    v = np.arange(h, dtype=np.float32)[:, None]
    return np.asarray(
        (u >= min(x0, x1)) & (u <= max(x0, x1)) & (v >= min(y0, y1)) & (v <= max(y0, y1))
    )


def zone_boxes(face: AlignedFace) -> dict[str, tuple[float, float, float, float]]:
    """Zone rectangles (u0, u1, v0, v1) in aligned pixels, placed from the landmarks:

    - forehead: between the middles of the brows (105, 334), from 35 % of the way from the
      top of the mesh (10) down to the brows' upper edge, to 10 % above that edge;
    - cheeks: from a quarter of the way in from the face's side (234 / 454) to 15 % short
      of the nose wing (98 / 327), from 30 % of the way from the lower eyelid (145 / 374)
      down to the mouth corner (61 / 291), to the mouth corner's level;
    - nose: the dorsum, 35 % of the nose-wing width either side of the tip (4), from 10 %
      below the bridge (6) to the tip;
    - chin: between points 15 % in from the mouth corners, from a quarter of the way from
      the lower lip (17) to the chin (152), to 15 % above the chin.
    """
    p = face.points

    def u(i: int) -> float:
        return float(p[i, 0])

    def v(i: int) -> float:
        return float(p[i, 1])

    brow = float(np.mean([v(i) for i in (70, 63, 105, 66, 107, 300, 293, 334, 296, 336)]))
    top = v(10)
    boxes = {
        "forehead": (u(105), u(334), top + 0.35 * (brow - top), brow - 0.1 * (brow - top)),
    }
    for name, side, wing, lid, corner in (
        ("cheek_right", 234, 98, 145, 61),
        ("cheek_left", 454, 327, 374, 291),
    ):
        span = u(wing) - u(side)
        boxes[name] = (
            u(side) + 0.25 * span,
            u(wing) - 0.15 * span,
            v(lid) + 0.3 * (v(corner) - v(lid)),
            v(corner),
        )
    half = 0.35 * abs(u(327) - u(98)) / 2.0
    boxes["nose"] = (u(4) - half, u(4) + half, v(6) + 0.1 * (v(4) - v(6)), v(4))
    width = u(291) - u(61)
    boxes["chin"] = (
        u(61) + 0.15 * width,
        u(291) - 0.15 * width,
        v(17) + 0.25 * (v(152) - v(17)),
        v(152) - 0.15 * (v(152) - v(17)),
    )
    return {name: boxes[name] for name in ZONE_NAMES}


def exclusions(face: AlignedFace) -> list[np.ndarray]:
    """Outlines (aligned pixels) of what is never skin: eyes, brows, lips, nostrils."""
    p = face.points
    return [
        _hull(p[list(idx)])
        for idx in (lm.RIGHT_EYE, lm.LEFT_EYE, lm.RIGHT_BROW, lm.LEFT_BROW, lm.LIPS, lm.NOSTRILS)
    ]


def region_masks(face: AlignedFace) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(face area without eyes/brows/lips/nostrils, {zone: rectangle}) as boolean masks,
    all from the landmarks: the area is the FaceMesh face oval."""
    shape = face.valid.shape
    area = _poly(shape, face.points[list(lm.FACE_OVAL)]) & face.valid
    margin = max(1, round(EXCLUDE_DILATE_D * face.d))
    for outline in exclusions(face):
        area &= ~_poly(shape, outline, margin)
    zones = {name: _rect(shape, *box) for name, box in zone_boxes(face).items()}
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
