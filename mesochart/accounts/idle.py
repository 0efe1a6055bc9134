"""Idle sign-out: how long a session has left, and the typed work kept across it.

The middleware (``IdleTimeoutMiddleware``) signs staff out after
``SESSION_IDLE_TIMEOUT_MINUTES`` without a request. ``static/js/idle.js`` warns a
minute before and saves what the page holds in ``sessionStorage``; when it could
not run (a laptop that slept), a POST that arrives too late is kept here, in the
new anonymous session, and given back to the same user on the page it came from
once they sign in again (``take_kept``, rendered by ``accounts/_idle.html``).
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_ACTIVITY_KEY = "last_activity"
# Activity is written to the session at most this often (seconds).
ACTIVITY_WRITE_SECONDS = 30
SESSION_KEPT_KEY = "idle_kept"
# Posted text kept across an idle sign-out: at most this many characters in all,
# for at most this long.
KEPT_MAX_CHARS = 20_000
KEPT_SECONDS = 60 * 60
# Never kept, whatever the form: the CSRF token and anything that looks like a secret.
SECRET_FIELD_WORDS = ("csrfmiddlewaretoken", "password", "passwd", "secret", "token")


def idle_seconds() -> int:
    return int(settings.SESSION_IDLE_TIMEOUT_MINUTES) * 60


def remaining_seconds(request: HttpRequest, now: float | None = None) -> int:
    """Seconds before the session is signed out (0 when already idle too long)."""
    if not request.user.is_authenticated:
        return 0
    last = request.session.get(SESSION_ACTIVITY_KEY)
    if last is None:
        return idle_seconds()
    now = time.time() if now is None else now
    return max(0, math.ceil(idle_seconds() - (now - float(last))))


def page_path(request: HttpRequest, url: str | None) -> str | None:
    """The path and query of ``url`` when it is a page of this site, else None."""
    if not url or not url_has_allowed_host_and_scheme(
        url, {request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    if not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def return_page(request: HttpRequest) -> str:
    """Where to come back after signing in again: the page the user was looking at.

    A plain GET is itself that page. An htmx request names the page in
    HX-Current-URL; any other request (a POST) was sent from the Referer. Never a
    POST-only URL, never another site: the dashboard when nothing fits.
    """
    if request.headers.get("HX-Request"):
        candidates = [request.headers.get("HX-Current-URL"), request.headers.get("Referer")]
    elif request.method in ("GET", "HEAD"):
        candidates = [request.get_full_path()]
    else:
        candidates = [request.headers.get("Referer")]
    login = reverse(settings.LOGIN_URL)
    for candidate in candidates:
        path = page_path(request, candidate)
        if path is not None and not path.startswith(login):
            return path
    return reverse(settings.LOGIN_REDIRECT_URL)


def _no_view(request: HttpRequest) -> HttpResponse:
    """What ``CsrfViewMiddleware`` needs to be built and asked; it only reads its flags."""
    return HttpResponse(status=204)


def _csrf_ok(request: HttpRequest) -> bool:
    """Whether the POST carries a valid CSRF token (only then is its text kept): Django's
    own check, asked before the view is reached because the sign-out answers first."""
    return CsrfViewMiddleware(_no_view).process_view(request, _no_view, (), {}) is None


def posted_fields(request: HttpRequest) -> dict[str, list[str]]:
    """The text fields of a POST worth keeping, at most KEPT_MAX_CHARS in all.

    Files, the CSRF token and password-like fields are left out; a value that
    does not fit (a drawn signature, say) is dropped, the others are kept.
    """
    if request.method != "POST" or request.headers.get("HX-Request") or not _csrf_ok(request):
        return {}
    kept: dict[str, list[str]] = {}
    used = 0
    for name, values in request.POST.lists():
        if any(word in name.lower() for word in SECRET_FIELD_WORDS):
            continue
        for value in values:
            if not value.strip() or used + len(name) + len(value) > KEPT_MAX_CHARS:
                continue
            kept.setdefault(name, []).append(value)
            used += len(name) + len(value)
    return kept


def keep(request: HttpRequest, user_id: str, fields: dict[str, list[str]], page: str) -> None:
    """Store posted fields in the (new, anonymous) session; it then ends within KEPT_SECONDS."""
    request.session[SESSION_KEPT_KEY] = {
        "user": user_id,
        "action": request.path,
        "page": urlsplit(page).path,
        "fields": fields,
        "at": time.time(),
    }
    request.session.set_expiry(KEPT_SECONDS)


def after_login(request: HttpRequest, user_id: str) -> None:
    """Forget kept fields that belong to someone else or are too old; back to the
    normal session lifetime."""
    kept = request.session.get(SESSION_KEPT_KEY)
    if kept is not None and (kept.get("user") != user_id or _too_old(kept)):
        del request.session[SESSION_KEPT_KEY]
    request.session.set_expiry(None)


def take_kept(request: HttpRequest) -> dict[str, Any] | None:
    """The kept fields for this page and user, removed from the session (None if none).

    Kept data of another user, or older than KEPT_SECONDS, is dropped.
    """
    kept = request.session.get(SESSION_KEPT_KEY)
    if kept is None or not request.user.is_authenticated:
        return None
    if kept.get("user") != str(request.user.pk) or _too_old(kept):
        del request.session[SESSION_KEPT_KEY]
        return None
    if kept.get("page") != request.path:
        return None
    del request.session[SESSION_KEPT_KEY]
    return {"action": kept["action"], "fields": kept["fields"]}


def _too_old(kept: dict[str, Any]) -> bool:
    return time.time() - float(kept.get("at", 0)) > KEPT_SECONDS
