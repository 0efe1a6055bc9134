"""Safe loading of photo bytes: header checks before decoding, then one RGB uint8 array.

Nothing is written anywhere. Every refusal is an :class:`ImageError` with a stable ``code``
and a sentence for people.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 60_000_000
"""Largest accepted image (width x height, from the header, before any decoding)."""

ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
"""Pillow format names we decode. MPO is how Pillow names many phone JPEGs."""

try:  # HEIC/HEIF only when the optional pillow-heif wheel is installed.
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found]

    register_heif_opener()
    ACCEPTED_FORMATS = ACCEPTED_FORMATS | {"HEIF"}
except ImportError:  # pragma: no cover - depends on the environment
    pass


class ImageError(ValueError):
    """The bytes are not an image we accept. ``code`` is stable, ``message`` a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo: ``rgb`` is HxWx3 uint8 sRGB, EXIF orientation applied.

    ``width``/``height`` are the full-resolution size after orientation; ``rgb`` may be a
    reduced-resolution decode (``scale`` = rgb width / width) when a draft size was asked.
    """

    rgb: np.ndarray
    width: int
    height: int
    sha256: str
    format: str
    scale: float


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _too_large(width: int, height: int) -> ImageError:
    return ImageError(
        "too_large",
        f"The image is {width}x{height} ({width * height / 1e6:.1f} megapixels); "
        f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels.",
    )


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (read straight from the bytes)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _open_checked(data: bytes) -> Image.Image:
    if not data:
        raise ImageError("empty", "The file is empty (0 bytes).")
    size = _png_size(data)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise _too_large(*size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_large", f"The image is too large to decode safely ({exc}).") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", "The file is not a readable image.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("not_an_image", f"The file is not a readable image ({exc}).") from exc
    if im.format not in ACCEPTED_FORMATS:
        raise ImageError(
            "unsupported_format",
            f"The image format {im.format or 'unknown'} is not accepted "
            f"(use {', '.join(sorted(ACCEPTED_FORMATS - {'MPO'}))}).",
        )
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageError("not_an_image", "The image has no pixels.")
    if width * height > MAX_PIXELS:
        raise _too_large(width, height)
    return im


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> HxWx3 uint8. Alpha is composited over white; 16-bit is scaled."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        grey = np.clip(np.rint(arr * (255.0 if arr.max(initial=0) <= 1.0 else 1.0)), 0, 255)
        return np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
    if mode == "P":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:4] / 255.0
        out = rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(im, dtype=np.uint8)


def load_image(data: bytes, draft_long_side: int | None = None) -> LoadedImage:
    """Decode ``data`` (JPEG, PNG, WebP; HEIC with pillow-heif) into sRGB uint8.

    The size is checked from the header before decoding (over :data:`MAX_PIXELS` ->
    ``too_large``). ``draft_long_side`` lets a JPEG decode at a reduced scale (libjpeg DCT
    scaling, never below that long side): analysis needs no more and it is several times
    faster. Raises :class:`ImageError` for anything unreadable, truncated or too large.
    """
    im = _open_checked(data)
    fmt = str(im.format)
    width, height = im.size
    if draft_long_side and fmt in ("JPEG", "MPO") and max(width, height) > draft_long_side:
        factor = draft_long_side / max(width, height)
        im.draft("RGB", (max(1, int(width * factor + 0.999)), max(1, int(height * factor + 0.999))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
            # exif_transpose copies the whole image even when there is nothing to turn.
            oriented = ImageOps.exif_transpose(im) if im.getexif().get(0x0112, 1) != 1 else im
            rgb = _to_rgb8(oriented)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_large", f"The image is too large to decode safely ({exc}).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("truncated", f"The image data is damaged or truncated ({exc}).") from exc
    except MemoryError as exc:  # pragma: no cover
        raise ImageError("too_large", "The image is too large to decode.") from exc
    if oriented.size != im.size:  # rotated by 90 or 270 degrees
        width, height = height, width
    return LoadedImage(
        rgb=rgb,
        width=width,
        height=height,
        sha256=sha256_hex(data),
        format="HEIC" if fmt == "HEIF" else ("JPEG" if fmt == "MPO" else fmt),
        scale=rgb.shape[1] / width,
    )


def derived_jpeg(data: bytes, max_long_side: int | None = None, quality: int = 90) -> bytes:
    """A re-encoded JPEG copy for display: orientation applied, no EXIF/XMP/GPS/ICC metadata.

    ``max_long_side`` downsizes (never enlarges). Raises :class:`ImageError` like
    :func:`load_image`.
    """
    loaded = load_image(data, draft_long_side=max_long_side)
    out = Image.fromarray(loaded.rgb, "RGB")
    if max_long_side and max(out.size) > max_long_side:
        out.thumbnail((max_long_side, max_long_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()
