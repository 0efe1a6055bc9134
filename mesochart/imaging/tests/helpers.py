"""Shared test photos and encoders (pure: no Django, no database)."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from typing import Any

import cv2
import numpy as np
from PIL import Image
from skimage import data

from mesochart.imaging import analyze_bytes
from mesochart.imaging.colour import linear_to_srgb, reference_srgb8, srgb_to_linear


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_header(width: int, height: int, colour_type: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)


def decompression_bomb(width: int = 8000, height: int = 8000) -> bytes:
    """A valid, tiny PNG of ``width`` x ``height`` black grey pixels (64 MP by default)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    return png_header(width, height) + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b"")


# Eye midpoint of the astronaut (image pixels), measured by the detector.
ASTRONAUT_FACE_CENTRE = (224.0, 110.0)


@cache
def _astronaut() -> np.ndarray:
    return np.asarray(data.astronaut())


def astronaut() -> np.ndarray:
    return _astronaut().copy()


def encode(rgb: np.ndarray, fmt: str = "PNG", **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def analyse(rgb: np.ndarray, card: bool = False) -> dict[str, Any]:
    return analyze_bytes(encode(rgb), card=card)


@cache
def astronaut_result() -> dict[str, Any]:
    return analyse(_astronaut())


def rotate(rgb: np.ndarray, degrees: float, centre: tuple[float, float] = ASTRONAUT_FACE_CENTRE):
    """Rotate by ``degrees`` counter-clockwise as seen in the image (OpenCV convention)."""
    m = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    h, w = rgb.shape[:2]
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def scale_linear(rgb: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Multiply linear-light R, G, B by ``gains`` (a change of light / a colour cast)."""
    lin = srgb_to_linear(rgb / 255.0) * np.asarray(gains, dtype=np.float32)
    return np.rint(linear_to_srgb(lin) * 255.0).astype(np.uint8)


def card_image(patch: int = 22, gap: int = 6) -> np.ndarray:
    """A 24-patch ColorChecker Classic rendered from the reference values, black frame."""
    colours = reference_srgb8()
    w, h = 6 * patch + 7 * gap, 4 * patch + 5 * gap
    card = np.full((h, w, 3), 20, np.uint8)
    for i, colour in enumerate(colours):
        row, col = divmod(i, 6)
        y, x = gap + row * (patch + gap), gap + col * (patch + gap)
        card[y : y + patch, x : x + patch] = colour
    return card


def astronaut_with_card() -> np.ndarray:
    rgb = astronaut()
    card = card_image()
    rgb[340 : 340 + card.shape[0], 330 : 330 + card.shape[1]] = card
    return rgb
