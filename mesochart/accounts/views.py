from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mesochart.errors import DomainError

from . import idle, services
from .forms import LoginForm


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = ""
    form = LoginForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            services.do_login(request, form.cleaned_data["username"], form.cleaned_data["password"])
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            return redirect(next_url or "core:dashboard")
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.do_logout(request)
    return redirect("accounts:login")


@login_required
@require_POST
def switch_clinic(request: HttpRequest, clinic_id: uuid.UUID) -> HttpResponse:
    membership = next(
        (m for m in getattr(request, "memberships", []) if m.clinic_id == clinic_id), None
    )
    if membership is None:
        raise Http404("No such clinic")
    services.do_switch_clinic(request, membership.clinic)
    return redirect("core:dashboard")


@never_cache
@require_GET
def idle_remaining(request: HttpRequest) -> JsonResponse:
    """Seconds left before idle sign-out. The middleware does not count this as activity,
    so another tab's requests show here; 0 when signed out."""
    return JsonResponse({"remaining_seconds": idle.remaining_seconds(request)})


@never_cache
@login_required
@require_POST
def idle_keepalive(request: HttpRequest) -> JsonResponse:
    """The "Stay signed in" button: an ordinary request, so the middleware counted it."""
    return JsonResponse({"remaining_seconds": idle.remaining_seconds(request)})
