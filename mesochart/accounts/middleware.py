from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from .models import Membership

SESSION_CLINIC_KEY = "clinic_id"
SESSION_ACTIVITY_KEY = "last_activity"


class IdleTimeoutMiddleware:
    """Signs a user out after SESSION_IDLE_TIMEOUT_MINUTES without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(SESSION_ACTIVITY_KEY)
            limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
            if last is not None and now - float(last) > limit:
                from .services import do_logout

                do_logout(request, reason="idle timeout")
                messages.info(
                    request,
                    f"You were signed out after {settings.SESSION_IDLE_TIMEOUT_MINUTES} "
                    "minutes without activity.",
                )
                login_url = (
                    reverse(settings.LOGIN_URL) + "?" + urlencode({"next": request.get_full_path()})
                )
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = login_url
                    return response
                return HttpResponseRedirect(login_url)
            request.session[SESSION_ACTIVITY_KEY] = now
        return self.get_response(request)


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
