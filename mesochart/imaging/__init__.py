"""Pure imaging core (no Django): safe photo loading, face and zone location, colour
calibration with a ColorChecker, skin metrics and photo comparison.

Public API:

- ``run_analyze_photo(path, baseline, card)`` -> ``(exit, stdout_json, stderr)``, the
  ``mesochart analyze-photo`` contract.
- ``analyze_bytes(data, card=False)`` / ``analyze_image(loaded, card=False)`` -> result dict;
  ``load_for_analysis(data)`` decodes once at the resolution analysis needs.
- ``compare_results(current, baseline)`` -> the ``comparison`` object from two results.
- ``load_image(data, draft_long_side=None)`` -> ``LoadedImage``; ``ImageError``.
- ``derived_jpeg(data, max_long_side=None)`` / ``jpeg_copy(loaded, max_long_side)`` ->
  EXIF-free re-encoded JPEG bytes (the second without decoding again).
- ``verify_image(data)`` -> (format, width, height) after a complete decode; ``ImageError``.
- ``ALGORITHM_VERSION``.
"""

from .analysis import (
    ALGORITHM_VERSION,
    analyze_bytes,
    analyze_image,
    compare_results,
    load_for_analysis,
)
from .cli import run_analyze_photo
from .loading import (
    MAX_PIXELS,
    MEMORY_BUDGET_BYTES,
    ImageError,
    LoadedImage,
    derived_jpeg,
    jpeg_copy,
    load_image,
    open_image,
    sha256_hex,
    verify_image,
)

__all__ = [
    "ALGORITHM_VERSION",
    "MAX_PIXELS",
    "MEMORY_BUDGET_BYTES",
    "ImageError",
    "LoadedImage",
    "analyze_bytes",
    "analyze_image",
    "compare_results",
    "derived_jpeg",
    "jpeg_copy",
    "load_for_analysis",
    "load_image",
    "open_image",
    "run_analyze_photo",
    "sha256_hex",
    "verify_image",
]
