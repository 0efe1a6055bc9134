"""Staff administration for managers (``staff.manage``): the Staff page and one page per
member of staff of the organisation's clinics."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError

from . import services, two_factor
from .access import managed_clinics, membership_for, staff_for
from .forms import RoleForm, StaffForm, TwoFactorRuleForm, add_domain_error
from .models import Clinic, Membership, User
from .permissions import require


def _status(request: ClinicRequest) -> int:
    return 400 if request.method == "POST" else 200


def _managed(request: ClinicRequest) -> QuerySet[Clinic]:
    return managed_clinics(request.user, request.clinic)


@require("staff.manage")
def staff_list(request: ClinicRequest) -> HttpResponse:
    memberships = Membership.objects.filter(clinic__in=_managed(request))
    people = (
        User.objects.filter(memberships__clinic=request.clinic)
        .distinct()
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=memberships.select_related("clinic").order_by("clinic__name"),
                to_attr="org_memberships",
            )
        )
        .order_by("last_name", "first_name", "username")
    )
    rule = TwoFactorRuleForm(initial={"require_two_factor": request.clinic.require_two_factor})
    return render(request, "accounts/staff_list.html", {"people": people, "rule_form": rule})


@require("staff.manage")
def staff_add(request: ClinicRequest) -> HttpResponse:
    form = StaffForm(posted(request), clinic=request.clinic, clinics=_managed(request))
    if request.method == "POST" and form.is_valid():
        data = services.NewStaff(**form.cleaned_data)
        try:
            user, sent = services.do_add_staff(
                request.user, request.clinic, data, services.password_link(request)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if sent:
                messages.success(
                    request,
                    _("%(name)s was added; a link to choose a password went to %(email)s.")
                    % {"name": user.display_name, "email": user.email},
                )
            else:
                messages.error(
                    request,
                    _(
                        "%(name)s was added, but the email could not be sent: send the "
                        "password link again below."
                    )
                    % {"name": user.display_name},
                )
            return redirect("accounts:staff_detail", user_id=user.pk)
    return render(request, "accounts/staff_add.html", {"form": form}, status=_status(request))


def _detail(
    request: ClinicRequest, person: User, role_form: RoleForm | None = None
) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=person, clinic__in=_managed(request))
        .select_related("clinic")
        .order_by("clinic__name")
    )
    context = {
        "person": person,
        "memberships": memberships,
        "role_form": role_form or RoleForm(clinic=request.clinic, clinics=_managed(request)),
        "locked": services.locked_addresses(person),
        "enrolled": two_factor.is_enrolled(person),
        "required": two_factor.user_requires_two_factor(person),
    }
    status = 400 if role_form is not None else 200
    return render(request, "accounts/staff_detail.html", context, status=status)


@require("staff.manage")
def staff_detail(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    return _detail(request, staff_for(request, user_id))


@require("staff.manage")
@require_POST
def staff_role(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    person = staff_for(request, user_id)
    form = RoleForm(request.POST, clinic=request.clinic, clinics=_managed(request))
    if form.is_valid():
        try:
            services.do_give_role(
                request.user,
                request.clinic,
                person,
                form.cleaned_data["clinic"],
                form.cleaned_data["role"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Role saved."))
            return redirect("accounts:staff_detail", user_id=person.pk)
    return _detail(request, person, role_form=form)


@require("staff.manage")
@require_POST
def staff_role_remove(
    request: ClinicRequest, user_id: uuid.UUID, membership_id: int
) -> HttpResponse:
    person = staff_for(request, user_id)
    membership = membership_for(request, person, membership_id)
    services.do_remove_role(request.user, request.clinic, membership)
    messages.success(
        request,
        _("The %(role)s role at %(clinic)s was removed.")
        % {"role": membership.get_role_display(), "clinic": membership.clinic.name},
    )
    return redirect("accounts:staff_detail", user_id=person.pk)


@require("staff.manage")
@require_POST
def staff_deactivate(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    person = staff_for(request, user_id)
    services.do_deactivate_user(request.user, request.clinic, person)
    messages.success(
        request,
        _("%(name)s can no longer sign in; their sessions were ended.")
        % {"name": person.display_name},
    )
    return redirect("accounts:staff_detail", user_id=person.pk)


@require("staff.manage")
@require_POST
def staff_reactivate(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    person = staff_for(request, user_id)
    services.do_reactivate_user(request.user, request.clinic, person)
    messages.success(request, _("%(name)s can sign in again.") % {"name": person.display_name})
    return redirect("accounts:staff_detail", user_id=person.pk)


@require("staff.manage")
@require_POST
def staff_unlock(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    person = staff_for(request, user_id)
    services.do_unlock_user(request.user, request.clinic, person)
    messages.success(
        request,
        _("%(name)s can sign in again from every computer.") % {"name": person.display_name},
    )
    return redirect("accounts:staff_detail", user_id=person.pk)


@require("staff.manage")
@require_POST
def staff_password_link(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    person = staff_for(request, user_id)
    sent = services.do_send_password_link(
        request.user, request.clinic, person, services.password_link(request)
    )
    if sent:
        messages.success(
            request, _("A password link was emailed to %(email)s.") % {"email": person.email}
        )
    else:
        messages.error(
            request, _("The email could not be sent: check the mail settings and try again.")
        )
    return redirect("accounts:staff_detail", user_id=person.pk)


@require("staff.manage")
@require_POST
def staff_two_factor_reset(request: ClinicRequest, user_id: uuid.UUID) -> HttpResponse:
    person = staff_for(request, user_id)
    services.do_reset_two_factor(request.user, request.clinic, person)
    messages.success(
        request,
        _(
            "%(name)s's authenticator and recovery codes were removed; they set up a new one at their next sign-in."
        )
        % {"name": person.display_name},
    )
    return redirect("accounts:staff_detail", user_id=person.pk)


@require("staff.manage")
@require_POST
def two_factor_rule(request: ClinicRequest) -> HttpResponse:
    form = TwoFactorRuleForm(request.POST)
    form.is_valid()  # one optional checkbox: always valid
    required = bool(form.cleaned_data.get("require_two_factor"))
    services.do_set_two_factor_rule(request.user, request.clinic, required)
    text = (
        _("Prescribers and managers of %(clinic)s must now use a second factor.")
        if required
        else _("A second factor is now optional at %(clinic)s.")
    )
    messages.success(request, text % {"clinic": request.clinic.name})
    return redirect("accounts:staff_list")
