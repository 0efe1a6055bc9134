"""Pure imaging core (no Django): safe photo loading, face and zone location, colour
calibration with a ColorChecker, skin metrics and photo comparison.

Public API:

- ``run_analyze_photo(path, baseline, card)`` -> ``(exit, stdout_json, stderr)``, the
  ``mesochart analyze-photo`` contract.
- ``analyze_bytes(data, card=False)`` / ``analyze_image(loaded, card=False)`` -> result dict.
- ``compare_results(current, baseline)`` -> the ``comparison`` object from two results.
- ``load_image(data, draft_long_side=None)`` -> ``LoadedImage``; ``ImageError``.
- ``derived_jpeg(data, max_long_side=None)`` -> EXIF-free re-encoded JPEG bytes.
- ``ALGORITHM_VERSION``.
"""

from .analysis import ALGORITHM_VERSION, analyze_bytes, analyze_image, compare_results
from .cli import run_analyze_photo
from .loading import MAX_PIXELS, ImageError, LoadedImage, derived_jpeg, load_image, sha256_hex

__all__ = [
    "ALGORITHM_VERSION",
    "MAX_PIXELS",
    "ImageError",
    "LoadedImage",
    "analyze_bytes",
    "analyze_image",
    "compare_results",
    "derived_jpeg",
    "load_image",
    "run_analyze_photo",
    "sha256_hex",
]
