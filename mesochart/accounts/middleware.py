from __future__ import annotations

import contextlib
import time
import zoneinfo
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import ngettext

from . import idle, two_factor
from .idle import SESSION_ACTIVITY_KEY
from .models import Membership

SESSION_CLINIC_KEY = "clinic_id"


def _not_activity() -> set[str]:
    """Requests a page makes by itself, not the user: asking the time left, and the
    header's unread-notifications count fetched after each page load."""
    paths = {reverse("accounts:idle_remaining")}
    with contextlib.suppress(NoReverseMatch):
        paths.add(reverse("messaging:notification_count"))
    return paths


class IdleTimeoutMiddleware:
    """Signs a user out after SESSION_IDLE_TIMEOUT_MINUTES without a request.

    Asking how much time is left (``accounts:idle_remaining``) is not activity. A
    POST that arrives too late has its text fields kept for the same user
    (``idle.keep``); the sign-in page then returns to the page the user was on.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and request.path_info not in _not_activity():
            now = time.time()
            last = request.session.get(SESSION_ACTIVITY_KEY)
            if last is not None and now - float(last) > idle.idle_seconds():
                return self.sign_out(request)
            if last is None or now - float(last) >= idle.ACTIVITY_WRITE_SECONDS:
                # Not on every request: a session written on each page view is a database
                # write per page (the idle timeout is then up to this much early).
                request.session[SESSION_ACTIVITY_KEY] = now
        return self.get_response(request)

    def sign_out(self, request: HttpRequest) -> HttpResponse:
        from .services import do_logout

        user_id = str(request.user.pk)
        fields = idle.posted_fields(request)  # read before the session is flushed
        page = idle.return_page(request)
        do_logout(request, reason="idle timeout")
        minutes = settings.SESSION_IDLE_TIMEOUT_MINUTES
        messages.info(
            request,
            ngettext(
                "You were signed out after %(count)d minute without activity.",
                "You were signed out after %(count)d minutes without activity.",
                minutes,
            )
            % {"count": minutes},
        )
        if fields:
            idle.keep(request, user_id, fields, page)  # in the new session, after the flush
        login_url = reverse(settings.LOGIN_URL) + "?" + urlencode({"next": page})
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login_url
            return response
        return HttpResponseRedirect(login_url)


class ActiveClinicMiddleware:
    """Sets ``request.membership`` and ``request.clinic`` for signed-in staff.

    The active clinic is the one chosen in the session, or the user's first
    active membership. A user with no active membership is signed out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.clinic = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            memberships = list(
                Membership.objects.filter(user=request.user, is_active=True)
                .select_related("clinic__organisation")
                .order_by("pk")  # the first clinic joined is the default
            )
            if not memberships:
                logout(request)
            else:
                wanted = request.session.get(SESSION_CLINIC_KEY)
                chosen = next(
                    (m for m in memberships if str(m.clinic_id) == wanted), memberships[0]
                )
                request.membership = chosen  # type: ignore[attr-defined]
                request.clinic = chosen.clinic  # type: ignore[attr-defined]
                request.memberships = memberships  # type: ignore[attr-defined]
                # Show times in the clinic's own time zone.
                timezone.activate(zoneinfo.ZoneInfo(chosen.clinic.timezone))
        else:
            timezone.deactivate()
        return self.get_response(request)


class TwoFactorMiddleware:
    """Keeps a user whom a clinic obliges to use a second factor on the enrolment page
    until the session has passed one (``two_factor.VERIFIED_KEY``).

    Sign-in asks enrolled users for their code before the session is signed in at all
    (``services.do_login``); this catches the others: prescribers and managers of a clinic
    with ``require_two_factor`` who have no authenticator yet, and sessions that were
    signed in before a manager turned the rule on. No query: the memberships and their
    clinics are loaded by ``ActiveClinicMiddleware``.
    """

    ALLOWED = (
        "accounts:two_factor_setup",
        "accounts:logout",
        "accounts:idle_remaining",
        "accounts:idle_keepalive",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        memberships = getattr(request, "memberships", None)
        if (
            memberships
            and request.user.is_authenticated
            and not two_factor.is_verified(request)
            and two_factor.requires_two_factor(memberships)
            and request.path_info not in {reverse(name) for name in self.ALLOWED}
        ):
            target = reverse("accounts:two_factor_setup")
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target)
        return self.get_response(request)
