"""The public booking pages (no staff sign-in) and reception's list of pending online
bookings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mesochart.accounts.models import Clinic
from mesochart.accounts.permissions import require
from mesochart.accounts.throttle import client_address
from mesochart.core.http import ClinicRequest, clinic_object_or_404, posted
from mesochart.errors import DomainError

from . import links, online, services
from .forms import OnlineBookingForm, add_online_error
from .models import OnlineBooking, OnlineBookingStatus
from .rules import policy_or_default
from .slots import find_slots

SLOT_DAYS = 7
SLOT_LIMIT = 40


def _clinic(clinic_id: uuid.UUID) -> Clinic:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not online.online_types(clinic):
        raise Http404("No online booking here")
    return clinic


def _slots(clinic: Clinic, form: OnlineBookingForm) -> list[Any]:
    data = getattr(form, "cleaned_data", {})
    if not data.get("type") or not data.get("day"):
        return []
    return find_slots(
        clinic,
        data["type"],
        start=data["day"],
        days=SLOT_DAYS,
        practitioner=data.get("practitioner"),
        limit=SLOT_LIMIT,
    )


def book(request: HttpRequest, clinic_id: uuid.UUID) -> HttpResponse:
    """Choose a service, who, a time; give name, birth date, email and phone. "Show free
    times" lists the slots without booking; "Book" books (every typed value is kept on a
    refusal). The answer to a booking is the same whoever the person is."""
    clinic = _clinic(clinic_id)
    form = OnlineBookingForm(
        posted(request), clinic=clinic, initial={"day": clinic.today() + timedelta(days=1)}
    )
    if request.method == "POST" and "book" in request.POST and form.require_booking_fields():
        data = {**form.cleaned_data, "starts_at": form.starts_at()}
        try:
            online.do_request_booking(clinic, data, address=client_address(request))
        except online.RateLimited as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            add_online_error(form, exc)
        else:
            return redirect("booking:sent", clinic_id=clinic.pk)
    elif request.method == "POST":
        form.is_valid()
    chosen = request.POST.get("slot", "")
    return render(
        request,
        "scheduling/online/book.html",
        {"clinic": clinic, "form": form, "slots": _slots(clinic, form), "chosen": chosen},
    )


def sent(request: HttpRequest, clinic_id: uuid.UUID) -> HttpResponse:
    clinic = _clinic(clinic_id)
    return render(request, "scheduling/online/sent.html", {"clinic": clinic})


def _bad_link(request: HttpRequest, exc: links.BadLink) -> HttpResponse:
    return render(request, "scheduling/online/bad_link.html", {"expired": exc.expired}, status=404)


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed confirm link: opening it shows the appointment and a button; only the
    button confirms (mail scanners and link previews open links, they press nothing)."""
    try:
        if request.method != "POST":
            appointment = online.appointment_for_link(token, "confirm")
            return render(request, "scheduling/online/confirm.html", {"a": appointment})
        appointment = online.do_confirm_by_link(token)
    except links.BadLink as exc:
        return _bad_link(request, exc)
    except DomainError as exc:
        return render(request, "scheduling/online/done.html", {"error": exc.message}, status=409)
    return render(
        request,
        "scheduling/online/done.html",
        {"a": appointment, "confirmed": True, "cancel_url": links.cancel_url(appointment)},
    )


def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The address-check link of a pending booking: a button confirms the address."""
    try:
        if request.method != "POST":
            booking = online.booking_for_link(token)
            return render(request, "scheduling/online/confirm.html", {"booking": booking})
        booking = online.do_confirm_email(token)
    except links.BadLink as exc:
        return _bad_link(request, exc)
    return render(request, "scheduling/online/done.html", {"booking": booking})


def cancel(request: HttpRequest, token: str) -> HttpResponse:
    """The cancel link: shows the appointment and whether cancelling now is late; the
    button cancels (by the patient; late inside the clinic's notice period)."""
    try:
        appointment = online.appointment_for_link(token, "cancel")
    except links.BadLink as exc:
        return _bad_link(request, exc)
    policy = policy_or_default(appointment.clinic)
    error = ""
    if request.method == "POST":
        try:
            appointment = online.do_cancel_by_link(token)
        except links.BadLink as exc:
            return _bad_link(request, exc)
        except DomainError as exc:
            error = exc.message
        else:
            return render(
                request,
                "scheduling/online/cancelled.html",
                {"a": appointment, "book_url": online.booking_url(appointment.clinic)},
            )
    late = services.is_late_cancellation(appointment, policy, timezone.now())
    return render(
        request,
        "scheduling/online/cancel.html",
        {"a": appointment, "late": late, "notice": policy.cancel_notice_hours, "error": error},
    )


# --- reception ----------------------------------------------------------------------


@require("scheduling.online")
def pending(request: ClinicRequest) -> HttpResponse:
    rows = online.pending_bookings(request.clinic)
    return render(
        request,
        "scheduling/online/pending.html",
        {"rows": rows, "book_url": online.booking_url(request.clinic)},
    )


@require("scheduling.online")
@require_POST
def decide(request: ClinicRequest, booking_id: uuid.UUID, action: str) -> HttpResponse:
    booking = clinic_object_or_404(
        request,
        OnlineBooking.objects.select_related("clinic", "type"),
        booking_id,
        "scheduling.online",
        "online booking",
    )
    if booking.status != OnlineBookingStatus.PENDING:
        messages.error(request, _("This online booking was already dealt with."))
        return redirect("scheduling:online_pending")
    try:
        if action == "accept":
            patient = None
            mrn = (request.POST.get("patient") or "").strip()
            if mrn:
                from mesochart.patients.access import patients_visible_to

                patient = patients_visible_to(request).filter(mrn=mrn).first()
                if patient is None:
                    raise services.BookingRefused(_("No patient with that record number."))
            online.do_accept(request.user, booking, patient=patient)
            messages.success(request, _("Online booking accepted and booked."))
        elif action == "reject":
            online.do_reject(request.user, booking, reason=request.POST.get("reason", ""))
            messages.success(request, _("Online booking rejected."))
        else:
            raise Http404("No such action")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("scheduling:online_pending")
