from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError

from . import idle, services, two_factor
from .forms import CodeForm, EnrolForm, LoginForm, add_domain_error

NEXT_KEY = "two_factor_next"


def _safe_next(request: HttpRequest, url: str) -> str:
    return url if url_has_allowed_host_and_scheme(url, {request.get_host()}) else ""


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = ""
    form = LoginForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.do_login(
                request, form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            if user is None:  # an authenticator is set up: the code comes next
                request.session[NEXT_KEY] = next_url
                return redirect("accounts:login_code")
            return redirect(next_url or "core:dashboard")
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in: a code from the authenticator, or a recovery code."""
    if services.pending_user(request) is None:
        if request.method == "POST":
            messages.error(request, _("The sign-in took too long. Sign in again."))
        return redirect("accounts:login")
    form = CodeForm(posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.do_verify_code(request, form.cleaned_data["code"])
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            next_url = _safe_next(request, str(request.session.pop(NEXT_KEY, "") or ""))
            return redirect(next_url or "core:dashboard")
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


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


# --- every signed-in user: their own account ----------------------------------------


def _account_context(request: ClinicRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    return {
        "enrolled": two_factor.is_enrolled(user),
        "required": two_factor.requires_two_factor(request.memberships),
        "codes_left": two_factor.recovery_codes_left(user),
        "password_form": PasswordChangeForm(user),
        **extra,
    }


@never_cache
@login_required
def account(request: ClinicRequest) -> HttpResponse:
    return render(request, "accounts/account.html", _account_context(request))


@never_cache
@login_required
@require_POST
def password_change(request: ClinicRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST)
    if form.is_valid():
        services.do_change_password(request, request.user, form.cleaned_data["new_password1"])
        messages.success(
            request, _("Your password was changed. Your other sessions were signed out.")
        )
        return redirect("accounts:account")
    context = _account_context(request, password_form=form)
    return render(request, "accounts/account.html", context, status=400)


@login_required
@require_POST
def sign_out_elsewhere(request: ClinicRequest) -> HttpResponse:
    services.do_sign_out_other_sessions(request, request.user)
    messages.success(request, _("Every other session of yours was signed out."))
    return redirect("accounts:account")


@never_cache
@login_required
def two_factor_setup(request: ClinicRequest) -> HttpResponse:
    """Enrolment: the QR code and the secret of a new authenticator, confirmed by a code.
    Also where the middleware keeps users who must set one up."""
    user = request.user
    if two_factor.is_enrolled(user) and not two_factor.is_verified(request):
        # Enrolled in another session since this one signed in: sign in with the code.
        services.do_logout(request, reason="second factor needed")
        messages.info(request, _("Sign in again with your code."))
        return redirect("accounts:login")
    device = services.do_start_enrolment(user)
    form = EnrolForm(posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.do_confirm_enrolment(request, user, form.cleaned_data["code"])
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "qr": two_factor.qr_svg(device),
        "secret": two_factor.secret_base32(device),
        "required": two_factor.requires_two_factor(request.memberships),
        "enrolled": two_factor.is_enrolled(user),
    }
    return render(request, "accounts/two_factor_setup.html", context, status=status)


@never_cache
@login_required
@require_POST
def recovery_codes_new(request: ClinicRequest) -> HttpResponse:
    codes = services.do_new_recovery_codes(request, request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


class SetPasswordView(PasswordResetConfirmView):
    """The link a new member of staff (or a manager's reset) sends: choose a password."""

    template_name = "accounts/set_password.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        if not context.get("validlink"):
            kwargs["status"] = 404  # used, expired or never issued: like a missing page
        return super().render_to_response(context, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        services.do_set_password_from_link(form.user, form.cleaned_data["new_password1"])
        del self.request.session["_password_reset_token"]
        messages.success(self.request, _("Your password is set. Sign in with it."))
        return redirect(self.success_url)


set_password = never_cache(SetPasswordView.as_view())
