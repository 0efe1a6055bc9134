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

MEMORY_BUDGET_BYTES = 500 * 1024 * 1024
"""Default bound on the memory one decode may need (see :func:`decode_cost`)."""

MAX_ASPECT_RATIO = 10.0
"""A photo more than this many times wider than high (or the reverse) is refused."""
MIN_SIDE_PX = 8
"""... and so is one with a side shorter than this (no face or card fits in it)."""

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


def _too_large(width: int, height: int, max_pixels: int) -> ImageError:
    return ImageError(
        "too_large",
        f"The image is {width}x{height} ({width * height / 1e6:.1f} megapixels); "
        f"the limit is {max_pixels / 1e6:.0f} megapixels.",
    )


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (read straight from the bytes)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _check_shape(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError("not_an_image", "The image has no pixels.")
    if width * height > max_pixels:
        raise _too_large(width, height, max_pixels)
    if min(width, height) < MIN_SIDE_PX or max(width, height) > MAX_ASPECT_RATIO * min(
        width, height
    ):
        raise ImageError(
            "bad_shape",
            f"The image is {width}x{height} pixels: not a photo that can be analysed (each "
            f"side at least {MIN_SIDE_PX} pixels, at most {MAX_ASPECT_RATIO:g} times as long "
            "as the other).",
        )


def _open_checked(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    if not data:
        raise ImageError("empty", "The file is empty (0 bytes).")
    size = _png_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise _too_large(*size, max_pixels)
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
    _check_shape(*im.size, max_pixels)
    return im


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open ``data`` without decoding its pixels: format accepted, size within
    ``max_pixels`` (decompression bombs refused from the header) and a sensible shape."""
    return _open_checked(data, max_pixels)


# Pillow keeps these modes in 1 or 2 bytes a pixel; every other mode takes 4.
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# Modes Image.reduce() cannot shrink: converted at full size first (to 4 bytes a pixel).
_CONVERT_BEFORE_REDUCE = {"1": "L", "P": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I"}


def decode_cost(im: Image.Image, long_side: int | None = None) -> int:
    """Bytes a decode of ``im`` (after any draft) needs at its peak: the decoded pixels,
    a full-size conversion where the mode needs one, and the reduced RGB copies."""
    width, height = im.size
    cost = width * height * _PIXEL_BYTES.get(im.mode, 4)
    if im.mode in _CONVERT_BEFORE_REDUCE or im.mode.startswith("I;16"):
        cost += width * height * 4
    factor = _reduce_factor(width, height, long_side)
    small = (width // factor + 1) * (height // factor + 1)
    return cost + small * (4 + 4 + 3)  # reduced Pillow image, a conversion, the array


def _reduce_factor(width: int, height: int, long_side: int | None) -> int:
    if not long_side or max(width, height) <= long_side:
        return 1
    return max(1, max(width, height) // long_side)


def _reduce(im: Image.Image, factor: int) -> Image.Image:
    """Box-reduce by ``factor`` in the image's own mode. ``Image.reduce`` first copies an
    image with alpha at full size to premultiply it; reducing the core directly needs no
    copy, and an opaque photo (the usual case) comes out the same."""
    return im._new(im.im.reduce((factor, factor), (0, 0, *im.size)))


def _over_budget(im: Image.Image, cost: int, budget: int) -> ImageError:
    width, height = im.size
    mib = 1024 * 1024
    return ImageError(
        "over_memory_budget",
        f"The image ({width}x{height} pixels, {im.mode}) would need about {cost / mib:.0f} MB "
        f"to decode; the limit is {budget / mib:.0f} MB. Export it as a JPEG or at a smaller "
        "size.",
    )


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> HxWx3 uint8. Alpha is composited over white; 16-bit is scaled.

    Runs on the already reduced image, in 8 bits (Pillow) except for 16-bit and float modes.
    """
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im)
        top = float(arr.max(initial=0))
        if mode.startswith("I;16") or top > 255:
            scale = 65535.0
        elif mode == "F" and top <= 1.0:
            scale = 1.0
        else:
            scale = 255.0
        grey = np.clip(np.rint(arr * (255.0 / scale)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "P":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    if mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(im, dtype=np.uint8)


def _decode(
    data: bytes, long_side: int | None, max_pixels: int, memory_budget: int
) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
    """(the opened image, its pixels decoded once and reduced towards ``long_side``, the
    file's own width and height)."""
    im = _open_checked(data, max_pixels)
    width, height = im.size
    if long_side and im.format in ("JPEG", "MPO") and max(width, height) > long_side:
        factor = long_side / max(width, height)
        im.draft("RGB", (max(1, int(width * factor + 0.999)), max(1, int(height * factor + 0.999))))
    cost = decode_cost(im, long_side)
    if cost > memory_budget:
        raise _over_budget(im, cost, memory_budget)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
            im.info["mesochart_orientation"] = im.getexif().get(0x0112, 1)
            out: Image.Image = im
            factor = _reduce_factor(*im.size, long_side)
            if factor > 1:
                for prefix, target in _CONVERT_BEFORE_REDUCE.items():
                    if out.mode.startswith(prefix):
                        out = out.convert(target)
                        break
                out = _reduce(out, factor)
                im.close()  # frees the full-size pixels now, not when the caller returns
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_large", f"The image is too large to decode safely ({exc}).") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("truncated", f"The image data is damaged or truncated ({exc}).") from exc
    except MemoryError as exc:  # pragma: no cover
        raise ImageError("too_large", "The image is too large to decode.") from exc
    return im, out, (width, height)


def _orientation(im: Image.Image) -> int:
    return int(im.info.get("mesochart_orientation", 1))


def verify_image(
    data: bytes, *, max_pixels: int = MAX_PIXELS, memory_budget: int = MEMORY_BUDGET_BYTES
) -> tuple[str, int, int]:
    """Decode ``data`` completely (``Image.verify()`` alone reads no pixels) and return
    (format, width, height); :class:`ImageError` when it is not a whole image within the
    limits (a truncated file is ``truncated``)."""
    im, _, (width, height) = _decode(data, None, max_pixels, memory_budget)
    return str(im.format), width, height


def load_image(
    data: bytes,
    draft_long_side: int | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
    memory_budget: int = MEMORY_BUDGET_BYTES,
) -> LoadedImage:
    """Decode ``data`` (JPEG, PNG, WebP; HEIC with pillow-heif) once into sRGB uint8.

    The size is checked from the header before decoding (over ``max_pixels`` ->
    ``too_large``; a sliver -> ``bad_shape``), and so is the memory the decode needs (over
    ``memory_budget`` bytes -> ``over_memory_budget``). ``draft_long_side`` keeps the
    decoded copy small: a JPEG decodes at a reduced scale (libjpeg DCT scaling), any other
    format is shrunk by an integer box filter straight after decoding, never below that
    long side; analysis needs no more. Raises :class:`ImageError` for anything
    unreadable, truncated or too large.
    """
    im, reduced, (width, height) = _decode(data, draft_long_side, max_pixels, memory_budget)
    fmt = str(im.format)
    try:
        # exif_transpose copies the whole image even when there is nothing to turn.
        turned = _orientation(im) != 1
        oriented = ImageOps.exif_transpose(reduced) if turned else reduced
        rgb = _to_rgb8(oriented)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("truncated", f"The image data is damaged or truncated ({exc}).") from exc
    if oriented.size != reduced.size:  # rotated by 90 or 270 degrees
        width, height = height, width
    return LoadedImage(
        rgb=rgb,
        width=width,
        height=height,
        sha256=sha256_hex(data),
        format="HEIC" if fmt == "HEIF" else ("JPEG" if fmt == "MPO" else fmt),
        scale=rgb.shape[1] / width,
    )


def jpeg_copy(loaded: LoadedImage, max_long_side: int | None = None, quality: int = 90) -> bytes:
    """A re-encoded JPEG of an already decoded photo (no second decode): orientation
    applied, no metadata; ``max_long_side`` downsizes (never enlarges)."""
    out = Image.fromarray(loaded.rgb, "RGB")
    if max_long_side and max(out.size) > max_long_side:
        out.thumbnail((max_long_side, max_long_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def derived_jpeg(data: bytes, max_long_side: int | None = None, quality: int = 90) -> bytes:
    """A re-encoded JPEG copy for display: orientation applied, no EXIF/XMP/GPS/ICC metadata.

    ``max_long_side`` downsizes (never enlarges). Raises :class:`ImageError` like
    :func:`load_image`.
    """
    return jpeg_copy(load_image(data, draft_long_side=max_long_side), max_long_side, quality)
