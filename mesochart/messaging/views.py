from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import check_perm, has_perm, require
from mesochart.audit.services import record_read
from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError
from mesochart.patients.access import patient_for

from . import calendar, notifications, services
from .access import message_for
from .forms import MessageFilterForm, PreferencesForm, RecallNoticeForm, SettingsForm
from .models import Message, MessageStatus

PAGE_SIZE = 50


def _back(request: ClinicRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


@require("message.view")
def message_list(request: ClinicRequest) -> HttpResponse:
    form = MessageFilterForm(request.GET)
    rows = Message.objects.filter(clinic=request.clinic).select_related("patient")
    status = form.status_or_none()
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows.order_by("-due_at", "-created_at"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    failed = Message.objects.filter(clinic=request.clinic, status=MessageStatus.FAILED).count()
    record_read(request, "messages", status=status, page=page.number)
    return render(
        request,
        "messaging/list.html",
        {
            "form": form,
            "page": page,
            "failed": failed,
            "can_retry": has_perm(request.membership, "message.retry"),
        },
    )


@require("message.view")
def message_detail(request: ClinicRequest, message_id: uuid.UUID) -> HttpResponse:
    message = message_for(request, message_id, "message.view")
    record_read(request, message)
    return render(
        request,
        "messaging/detail.html",
        {"message": message, "can_retry": has_perm(request.membership, "message.retry")},
    )


@login_required
@require_POST
def message_retry(request: ClinicRequest, message_id: uuid.UUID) -> HttpResponse:
    message = message_for(request, message_id, "message.retry")
    services.do_retry(request.user, message)
    flash.success(request, _("The message was queued again."))
    return redirect(_back(request, reverse("messaging:message", args=[message.pk])))


@login_required
def patient_messages(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "message.view", with_profile=False)
    pref = services.preference_for(patient)
    form = PreferencesForm(
        posted(request),
        initial={"email_opt_out": pref.email_opt_out, "sms_opt_out": pref.sms_opt_out},
    )
    status = 200
    if request.method == "POST":
        if not has_perm(request.membership, "message.preferences"):
            check_perm(request, "message.preferences")
        if form.is_valid():
            services.do_set_preferences(request.user, patient, **form.cleaned_data)
            flash.success(request, _("Contact preferences saved."))
            return redirect("messaging:patient", patient.pk)
        status = 400
    rows = list(Message.objects.filter(patient=patient).order_by("-due_at", "-created_at")[:200])
    record_read(request, patient, page="messages")
    context: dict[str, Any] = {
        "patient": patient,
        "rows": rows,
        "form": form,
        "can_edit": has_perm(request.membership, "message.preferences"),
        "can_retry": has_perm(request.membership, "message.retry"),
    }
    template = "messaging/_patient_recent.html" if request.htmx else "messaging/patient.html"
    return render(request, template, context, status=status)


@require("messaging.settings")
def clinic_settings(request: ClinicRequest) -> HttpResponse:
    current = services.settings_for(request.clinic)
    initial = {
        "reminder_offsets_hours": ", ".join(str(h) for h in current.reminder_offsets_hours),
        "channels": current.channels,
        "send_hour": current.send_hour,
        "early_check_messages": current.early_check_messages,
        "next_session_messages": current.next_session_messages,
        "next_session_notice_days": current.next_session_notice_days,
    }
    form = SettingsForm(posted(request), initial=initial)
    status = 200
    if form.is_bound:
        if form.is_valid():
            try:
                services.do_update_settings(request.user, request.clinic, form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                flash.success(request, _("Messaging settings saved."))
                return redirect("messaging:settings")
        status = 400
    return render(request, "messaging/settings.html", {"form": form}, status=status)


@require("recall.notify")
@require_POST
def recall_notice(request: ClinicRequest) -> HttpResponse:
    form = RecallNoticeForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form[f].label}: {e[0]}" for f, e in form.errors.items())
        return render(request, "core/error.html", {"error": DomainError(errors)}, status=400)
    data = form.cleaned_data
    result = services.do_send_recall_notices(
        request.user, request.clinic, data["kind"], data["identifier"], data["product"]
    )
    sent = len({m.patient_id for m in result.messages})
    flash.success(
        request,
        ngettext(
            "Recall notice sent to %(count)s patient.",
            "Recall notice sent to %(count)s patients.",
            sent,
        )
        % {"count": sent},
    )
    if result.already:
        flash.info(
            request,
            ngettext(
                "%(count)s patient already had this notice: not sent again.",
                "%(count)s patients already had this notice: not sent again.",
                result.already,
            )
            % {"count": result.already},
        )
    if result.unreachable:
        flash.warning(
            request,
            _("No email or phone number for: %(names)s.")
            % {"names": ", ".join(result.unreachable)},
        )
    query = urlencode({k: v for k, v in data.items() if v})
    return redirect(f"{reverse('recall:index')}?{query}#results")


@require("notification.view")
def notification_list(request: ClinicRequest) -> HttpResponse:
    rows = list(notifications.for_member(request.membership)[:100])
    record_read(request, "notifications", shown=len(rows))
    return render(request, "messaging/notifications.html", {"rows": rows})


@require("notification.view")
@require_POST
def notifications_read(request: ClinicRequest) -> HttpResponse:
    ids = request.POST.getlist("id")
    try:
        wanted = [uuid.UUID(i) for i in ids] if ids else None
    except ValueError:
        raise DomainError(_("Unknown notification."), field="id") from None
    notifications.do_mark_read(request.user, request.membership, wanted)
    return redirect(_back(request, reverse("messaging:notifications")))


@login_required
def notification_count(request: ClinicRequest) -> HttpResponse:
    membership = getattr(request, "membership", None)
    if not has_perm(membership, "notification.view"):
        return HttpResponse("")
    count = notifications.unread_count(membership)  # type: ignore[arg-type]
    return render(request, "messaging/_count.html", {"count": count})


@require("calendar.feed")
def feed_settings(request: ClinicRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            calendar.do_revoke_feed(request.user, request.clinic)
            flash.success(request, _("The calendar feed is revoked: its address no longer works."))
        else:
            calendar.do_create_feed(request.user, request.clinic)
            flash.success(request, _("Your calendar feed is ready."))
        return redirect("messaging:feed_settings")
    feed = calendar.active_feed(request.user, request.clinic)
    url = (
        request.build_absolute_uri(reverse("messaging:feed", args=[feed.token]))
        if feed is not None
        else ""
    )
    return render(request, "messaging/feed.html", {"feed": feed, "url": url})


def feed(request: ClinicRequest, token: str) -> HttpResponse:
    found = calendar.feed_for_token(token)
    if found is None:
        raise Http404("No such calendar")
    base = request.build_absolute_uri("/").rstrip("/")
    body = calendar.feed_ics(found, base, request.get_host().split(":")[0] or "mesochart.local")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
