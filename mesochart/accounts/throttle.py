"""Sign-in throttling with django-axes: failures are counted per address AND username.

A wrong password from one address never locks the account for anyone else, and an
unknown username is counted exactly like a real one, so the answers cannot tell them apart.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind our own reverse proxy (BEHIND_PROXY)
    the right-most X-Forwarded-For entry, the one the proxy itself appended."""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return str(request.META.get("REMOTE_ADDR", ""))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """The login view already answered a throttled attempt (same page, same status for
    every username); keep that answer instead of axes' own page."""
    assert original_response is not None
    return original_response
