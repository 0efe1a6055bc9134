"""The test photo set: real portraits from packages on the package index, with eye centres
marked by hand, and controlled edits of them (rotation, scale, exposure, blur, flip, JPEG,
a colour cast). Sources and licences: ``photos/README.md``.

Each case carries the true centres of the patient's right and left eye (the centre of the
eye opening, in the edited image's pixels) and the true roll, both derived from the marked
centres through the same geometric edit.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

from mesochart.imaging.colour import linear_to_srgb, srgb_to_linear

PHOTOS = Path(__file__).resolve().parent / "photos"

Point = tuple[float, float]


@dataclass(frozen=True)
class Portrait:
    name: str
    frontal: bool  # an ordinary frontal portrait (the contract's accuracy targets apply)
    right: Point  # the patient's right eye (image left), marked by hand
    left: Point


PORTRAITS = (
    # skimage.data.astronaut(): Eileen Collins, NASA portrait (public domain). Frontal,
    # smiling, lighter skin, 512x512, eyes about 44 px apart.
    Portrait("astronaut", True, (203.0, 100.8), (247.0, 103.0)),
    # mahotas demos/data/luispedro.jpg: Luis Pedro Coelho (MIT, mahotas). Head turned
    # about a third of the way to his left, olive skin, strong side light, 300x377.
    Portrait("luispedro", False, (67.0, 170.5), (146.9, 157.5)),
)


@cache
def portrait_rgb(name: str) -> np.ndarray:
    if name == "astronaut":
        return np.asarray(data.astronaut())
    with Image.open(PHOTOS / f"{name}.jpg") as im:
        return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class Case:
    name: str
    rgb: np.ndarray
    right: Point
    left: Point
    frontal: bool

    @property
    def eye_distance(self) -> float:
        return math.hypot(self.left[0] - self.right[0], self.left[1] - self.right[1])

    @property
    def roll_deg(self) -> float:
        (x0, y0), (x1, y1) = self.right, self.left
        return math.degrees(math.atan2(y0 - y1, x1 - x0))


def _affine(rgb: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _apply(m: np.ndarray, p: Point) -> Point:
    return (
        float(m[0, 0] * p[0] + m[0, 1] * p[1] + m[0, 2]),
        float(m[1, 0] * p[0] + m[1, 1] * p[1] + m[1, 2]),
    )


def _exposure(rgb: np.ndarray, gain: tuple[float, float, float]) -> np.ndarray:
    lin = srgb_to_linear(rgb / 255.0) * np.asarray(gain, dtype=np.float32)
    return np.rint(linear_to_srgb(lin) * 255.0).astype(np.uint8)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im.convert("RGB"))


ROTATIONS = (-12.0, -8.0, -5.0, -2.0, 2.0, 5.0, 8.0, 12.0)
SCALES = (0.8, 1.25, 1.6)
GAINS = {
    "darker": (0.45, 0.45, 0.45),
    "brighter": (1.5, 1.5, 1.5),
    "warm": (1.15, 1.0, 0.8),
    "cool": (0.85, 1.0, 1.2),
    "deep_tone": (0.35, 0.28, 0.22),  # the same face rendered much darker and warmer
}


def cases(portrait: Portrait) -> list[Case]:
    rgb = portrait_rgb(portrait.name)
    h, w = rgb.shape[:2]
    right, left = portrait.right, portrait.left
    out = [Case(f"{portrait.name}", rgb, right, left, portrait.frontal)]
    mid = ((right[0] + left[0]) / 2.0, (right[1] + left[1]) / 2.0)
    for deg in ROTATIONS:
        m = cv2.getRotationMatrix2D(mid, deg, 1.0)
        out.append(
            Case(
                f"{portrait.name}_rot{deg:+.0f}",
                _affine(rgb, m, (w, h)),
                _apply(m, right),
                _apply(m, left),
                portrait.frontal,
            )
        )
    for factor in SCALES:
        m = np.array([[factor, 0.0, 0.0], [0.0, factor, 0.0]])
        size = (round(w * factor), round(h * factor))
        scaled = cv2.resize(
            rgb, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        )
        out.append(
            Case(
                f"{portrait.name}_scale{factor:g}",
                scaled,
                _apply(m, right),
                _apply(m, left),
                portrait.frontal,
            )
        )
    # Mirror: the patient's right eye of the flipped photo is the mirrored left eye.
    flipped = np.ascontiguousarray(rgb[:, ::-1])
    out.append(
        Case(
            f"{portrait.name}_flip",
            flipped,
            (w - 1 - left[0], left[1]),
            (w - 1 - right[0], right[1]),
            portrait.frontal,
        )
    )
    for label, gain in GAINS.items():
        out.append(
            Case(f"{portrait.name}_{label}", _exposure(rgb, gain), right, left, portrait.frontal)
        )
    for sigma in (1.0, 2.0):
        blurred = cv2.GaussianBlur(rgb, (0, 0), sigma)
        out.append(Case(f"{portrait.name}_blur{sigma:g}", blurred, right, left, portrait.frontal))
    out.append(Case(f"{portrait.name}_jpeg30", _jpeg(rgb, 30), right, left, portrait.frontal))
    return out


@cache
def all_cases() -> tuple[Case, ...]:
    return tuple(case for portrait in PORTRAITS for case in cases(portrait))
