"""Face detection and face landmarks with MediaPipe's BlazeFace (short range) and FaceMesh
models, run by OpenCV's own TFLite reader (``cv2.dnn.readNetFromTFLite``): no MediaPipe or
TensorFlow at run time, nothing downloaded. The model files, their licence and where they
came from are in ``models/`` (see ``models/PROVENANCE.md``).

Coordinates are image pixels of the array given. "Right" and "left" are the patient's: the
patient's right eye is on the left of a frontal photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

MODELS = Path(__file__).resolve().parent / "models"
DETECTOR_FILE = "face_detection_short_range.tflite"
LANDMARK_FILE = "face_landmark.tflite"
DETECTOR_NAME = "MediaPipe BlazeFace short-range + FaceMesh 468 landmarks (mediapipe 0.10.21)"

DETECT_SIZE = 128
"""BlazeFace input: 128x128 RGB in [-1, 1], the photo letterboxed into it."""
LANDMARK_SIZE = 192
"""FaceMesh input: 192x192 RGB in [0, 1], a rotated square crop around the face."""
MIN_FACE_SCORE = 0.7
"""Detections scoring below this (sigmoid of the detector's logit) are discarded."""
MIN_LANDMARK_SCORE = 0.5
"""FaceMesh's own face-presence score below this: the landmarks are not trusted (no eyes)."""
NMS_IOU = 0.3
"""Overlapping detections (intersection over union above this) are the same face."""
CROP_SCALE = 1.5
"""The landmark crop is this many times the face box (MediaPipe's own setting)."""

# FaceMesh indices (canonical face mesh topology).
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip
NOSTRILS = (98, 240, 64, 48, 115, 220, 45, 4, 275, 440, 344, 278, 294, 460, 327, 2, 97)


@dataclass(frozen=True)
class Detection:
    score: float
    box: tuple[float, float, float, float]  # x, y, w, h (pixels)
    right_eye: tuple[float, float]  # BlazeFace keypoints (coarse)
    left_eye: tuple[float, float]


@dataclass(frozen=True)
class Landmarks:
    """468 FaceMesh points (x, y) in image pixels, and the model's face score."""

    points: np.ndarray  # (468, 2) float64
    score: float
    detection: Detection

    def centre(self, indices: tuple[int, ...]) -> tuple[float, float]:
        x, y = self.points[list(indices)].mean(axis=0)
        return float(x), float(y)

    @property
    def right_eye(self) -> tuple[float, float]:
        return self.centre(RIGHT_EYE)

    @property
    def left_eye(self) -> tuple[float, float]:
        return self.centre(LEFT_EYE)


def _model_path(name: str) -> str:
    return str(MODELS / name)


@cache
def _detector() -> cv2.dnn.Net:
    return cv2.dnn.readNetFromTFLite(_model_path(DETECTOR_FILE))


@cache
def _landmarker() -> cv2.dnn.Net:
    return cv2.dnn.readNetFromTFLite(_model_path(LANDMARK_FILE))


@cache
def _anchors() -> np.ndarray:
    """SSD anchor centres (x, y) in [0, 1] for the 128x128 short-range model: strides 8,
    16, 16, 16, two anchors per cell, fixed size (MediaPipe's SsdAnchorsCalculator)."""
    rows: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = DETECT_SIZE // stride
        for y in range(cells):
            for x in range(cells):
                rows.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell)
    return np.asarray(rows, dtype=np.float64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0))))


def _detect_square(rgb: np.ndarray, x0: int, y0: int, side: int) -> list[Detection]:
    """Faces in the square ``side`` x ``side`` at (x0, y0) of ``rgb`` (padded with black
    where it leaves the photo), in image pixels."""
    h, w = rgb.shape[:2]
    crop = np.zeros((side, side, 3), np.uint8)
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    crop[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = rgb[cy0:cy1, cx0:cx1]
    small = cv2.resize(crop, (DETECT_SIZE, DETECT_SIZE), interpolation=cv2.INTER_AREA)
    blob = cv2.dnn.blobFromImage(small, 1.0 / 127.5, mean=(127.5, 127.5, 127.5))
    net = _detector()
    net.setInput(blob)
    scores_raw, boxes_raw = net.forward(["classificators", "regressors"])
    scores = _sigmoid(np.asarray(scores_raw, np.float64).reshape(-1))
    raw = np.asarray(boxes_raw, np.float64).reshape(-1, 16) / DETECT_SIZE
    anchors = _anchors()
    out: list[Detection] = []
    for i in np.flatnonzero(scores >= MIN_FACE_SCORE):
        ax, ay = anchors[i]
        cx, cy, bw, bh = raw[i, 0] + ax, raw[i, 1] + ay, raw[i, 2], raw[i, 3]

        def px(u: float, v: float) -> tuple[float, float]:
            return x0 + u * side, y0 + v * side

        left_top = px(cx - bw / 2, cy - bh / 2)
        out.append(
            Detection(
                score=float(scores[i]),
                box=(left_top[0], left_top[1], bw * side, bh * side),
                right_eye=px(raw[i, 4] + ax, raw[i, 5] + ay),
                left_eye=px(raw[i, 6] + ax, raw[i, 7] + ay),
            )
        )
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _squares(width: int, height: int, side: int) -> list[tuple[int, int, int]]:
    """Squares of ``side`` covering the photo with half-side overlap."""
    step = max(1, side // 2)

    def starts(length: int) -> list[int]:
        if length <= side:
            return [(length - side) // 2]
        out = list(range(0, length - side, step))
        return [*out, length - side]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


def detect_faces(rgb: np.ndarray) -> list[Detection]:
    """Faces scoring at least :data:`MIN_FACE_SCORE`, best score first, overlaps merged
    (the best of each group kept).

    BlazeFace short range finds faces that fill a good part of its square, so the photo
    is searched as a whole (letterboxed), then in overlapping squares of its short side,
    and, only while nothing is found, in squares of half and a quarter of the short side
    (a small face in a large frame)."""
    h, w = rgb.shape[:2]
    long_side, short_side = max(h, w), min(h, w)
    levels = [
        [((w - long_side) // 2, (h - long_side) // 2, long_side)],
        _squares(w, h, short_side) if long_side > short_side * 1.2 else [],
        _squares(w, h, short_side // 2),
        _squares(w, h, short_side // 4),
    ]
    found: list[Detection] = []
    for squares in levels:
        for x0, y0, side in squares:
            if side >= DETECT_SIZE // 2:
                found.extend(_detect_square(rgb, x0, y0, side))
        if found:
            break
    found.sort(key=lambda d: (-d.score, d.box))
    kept: list[Detection] = []
    for det in found:
        if all(_iou(det.box, k.box) <= NMS_IOU for k in kept):
            kept.append(det)
    return kept


def _crop_transform(
    centre: tuple[float, float], size: float, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """(image -> crop, crop -> image) affine maps of a ``size`` square turned by ``angle``
    radians (counter-clockwise in the image) around ``centre``, onto LANDMARK_SIZE px."""
    c, s = math.cos(angle), math.sin(angle)
    k = size / LANDMARK_SIZE
    half = LANDMARK_SIZE / 2.0
    # crop (u, v) -> image: centre + k * R(angle) @ (u - half, v - half), y down.
    to_image = np.array(
        [
            [k * c, k * s, centre[0] - k * (c * half + s * half)],
            [-k * s, k * c, centre[1] - k * (-s * half + c * half)],
        ]
    )
    to_crop = cv2.invertAffineTransform(to_image)
    return to_crop, to_image


def _mesh(
    rgb: np.ndarray, centre: tuple[float, float], size: float, angle: float
) -> tuple[np.ndarray, float]:
    to_crop, to_image = _crop_transform(centre, size, angle)
    crop = cv2.warpAffine(
        rgb,
        to_crop,
        (LANDMARK_SIZE, LANDMARK_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    blob = cv2.dnn.blobFromImage(crop, 1.0 / 255.0)
    net = _landmarker()
    net.setInput(blob)
    outs = net.forward(list(net.getUnconnectedOutLayersNames()))
    flat = [np.asarray(o, np.float64).reshape(-1) for o in outs]
    points = next(f for f in flat if f.size == 468 * 3).reshape(468, 3)[:, :2]
    score = float(_sigmoid(next(f for f in flat if f.size == 1))[0])
    ones = np.ones((468, 1))
    image_points = np.hstack([points, ones]) @ to_image.T
    return image_points, score


def _roll_between(right: tuple[float, float], left: tuple[float, float]) -> float:
    """Angle (radians, counter-clockwise as seen) of the line from the patient's right eye
    (image left) to the left eye."""
    return math.atan2(right[1] - left[1], left[0] - right[0])


def face_landmarks(rgb: np.ndarray, detection: Detection) -> Landmarks:
    """FaceMesh on a crop placed from the detection, then once more on a crop placed from
    the first landmarks (as MediaPipe's tracking does): the second pass is the result."""
    x, y, w, h = detection.box
    centre = (x + w / 2.0, y + h / 2.0)
    angle = _roll_between(detection.right_eye, detection.left_eye)
    points, score = _mesh(rgb, centre, CROP_SCALE * max(w, h), angle)
    for _ in range(1):
        right = tuple(points[list(RIGHT_EYE)].mean(axis=0))
        left = tuple(points[list(LEFT_EYE)].mean(axis=0))
        angle = _roll_between((right[0], right[1]), (left[0], left[1]))
        c, s = math.cos(-angle), math.sin(-angle)
        rot = points @ np.array([[c, s], [-s, c]])
        lo, hi = rot.min(axis=0), rot.max(axis=0)
        mid = (lo + hi) / 2.0
        centre_pt = mid @ np.array([[c, s], [-s, c]]).T
        size = CROP_SCALE * float(max(hi - lo))
        points, score = _mesh(rgb, (float(centre_pt[0]), float(centre_pt[1])), size, angle)
    return Landmarks(points=points, score=score, detection=detection)
