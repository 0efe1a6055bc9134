"""Pure command-line helper (no Django) behind ``mesochart analyze-photo``.

``run_analyze_photo(path, baseline, card)`` -> ``(exit_code, stdout_json, stderr_sentence)``:
exit 0 when the photo was analysed (face or not), 2 when a file is missing, unreadable, not
an image, too large or damaged; then stdout is ``{"error": "..."}``. Reads files, writes
nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .analysis import analyze_bytes, compare_results
from .loading import ImageError


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ImageError("unreadable", f"Cannot read {path}: {exc.strerror or exc}.") from exc


def _analyse(path: str, card: bool, label: str) -> dict[str, Any]:
    try:
        return analyze_bytes(_read(path), card=card)
    except ImageError as exc:
        message = exc.message.rstrip(".")
        raise ImageError(exc.code, f"{label} {path}: {message}.") from exc


def run_analyze_photo(
    path: str, baseline: str | None = None, card: bool = False
) -> tuple[int, str, str]:
    """Analyse the photo at ``path``, optionally against ``baseline``; ``card`` = a
    ColorChecker is expected in the frame."""
    try:
        result = _analyse(path, card, "Photo")
        if baseline is not None:
            base = _analyse(baseline, card, "Baseline photo")
            result["comparison"] = compare_results(result, base)
    except ImageError as exc:
        return 2, _dump({"error": exc.message, "code": exc.code}), exc.message
    return 0, _dump(result), ""
