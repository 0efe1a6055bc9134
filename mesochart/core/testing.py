"""Helpers for the test suites (imported by tests only)."""

from __future__ import annotations

import re

_CSRF = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')


def strip_csrf(content: bytes) -> bytes:
    """A page without its per-response CSRF tokens, for comparing two pages."""
    return _CSRF.sub(rb"\1", content)
