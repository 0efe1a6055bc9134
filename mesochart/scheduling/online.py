"""Online booking: the clinic's public page books for a patient, without staff.

A booking is matched to a patient of the clinic (same name key and birth date, and the
same email or phone key: ``patients.keys``) and booked at once through ``do_book`` with
no actor (the booking rules apply as at reception); the appointment is *booked* and the
confirmation message (messaging) carries the signed link that confirms it. A person with
no record is held as a pending ``OnlineBooking`` that reception confirms (creating the
patient through ``do_create_patient`` or linking an existing record) or rejects; they are
sent a link that confirms their email address. Both answer the page the same way: the
email is the only channel that says anything about a record.

Abuse: ``BookingAttempt`` rows count submissions per client address and per clinic over
the last hour (``ONLINE_BOOKING_PER_ADDRESS_HOUR``, ``ONLINE_BOOKING_PER_CLINIC_HOUR``);
a filled honeypot field is answered like a booking and nothing is done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import Conflict, DomainError, InvalidInput
from mesochart.patients import keys
from mesochart.patients.models import Patient, Sex

from . import links, services
from .models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingAttempt,
    CancelledBy,
    OnlineBooking,
    OnlineBookingStatus,
)
from .rules import check_treatment
from .slots import find_slots

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


class RateLimited(DomainError):
    code = "scheduling.rate_limited"


def online_types(clinic: Clinic) -> list[AppointmentType]:
    return list(AppointmentType.objects.filter(clinic=clinic, active=True, online=True))


def booking_url(clinic: Clinic) -> str:
    return links.absolute(reverse("booking:page", kwargs={"clinic_id": clinic.pk}))


# --- abuse --------------------------------------------------------------------------


def check_rate(clinic: Clinic, address: str, now: datetime | None = None) -> None:
    """Count this submission; refuse it past the hour's limit for the address or the
    clinic. The count is rows of ``BookingAttempt``, so every server process shares it."""
    now = now or timezone.now()
    since = now - WINDOW
    with transaction.atomic():
        BookingAttempt.objects.filter(at__lt=now - 2 * WINDOW).delete()
        by_address = BookingAttempt.objects.filter(address=address, at__gte=since).count()
        by_clinic = BookingAttempt.objects.filter(clinic=clinic, at__gte=since).count()
        BookingAttempt.objects.create(clinic=clinic, address=address[:64], at=now)
    if (
        by_address >= settings.ONLINE_BOOKING_PER_ADDRESS_HOUR
        or by_clinic >= settings.ONLINE_BOOKING_PER_CLINIC_HOUR
    ):
        raise RateLimited(
            _("Too many bookings were tried from here in the last hour: please try again later.")
        )


# --- matching -----------------------------------------------------------------------


def match_patient(clinic: Clinic, data: Mapping[str, Any]) -> Patient | None:
    """The clinic's patient with the same name key and birth date and the same email or
    phone key, when exactly one such record exists."""
    name = keys.name_key(data["family_name"], data["given_name"])
    email, phone = keys.email_key(data["email"]), keys.phone_key(data["phone"])
    contact = Q()
    if email:
        contact |= Q(email_key=email)
    if phone:
        contact |= Q(phone_key=phone)
    if not name or not contact:
        return None
    found = list(
        Patient.objects.filter(clinic=clinic, name_key=name, birth_date=data["birth_date"])
        .filter(contact)
        .order_by("created_at")[:2]
    )
    return found[0] if len(found) == 1 else None


# --- booking ------------------------------------------------------------------------


def _slot_practitioner(
    clinic: Clinic, appt_type: AppointmentType, starts_at: datetime, practitioner: User | None
) -> User:
    """The practitioner asked for, or the first free one at ``starts_at`` ("any")."""
    day = starts_at.astimezone(services.clinic_zone(clinic)).date()
    for slot in find_slots(clinic, appt_type, start=day, days=1, practitioner=practitioner):
        if slot.starts_at == starts_at:
            return slot.practitioner
    raise services.DoubleBooked(
        _("That time is no longer free: choose another time."), field="slot"
    )


def _new_person_rules(clinic: Clinic, appt_type: AppointmentType, starts_at: datetime) -> None:
    """The booking rules for someone with no record yet (no sessions, no consultation):
    judged on an unsaved patient, so the answer is the one a patient with no history gets."""
    nobody = Patient(clinic=clinic, organisation_id=clinic.organisation_id, sex=Sex.UNKNOWN)
    for finding in check_treatment(clinic, nobody, appt_type, starts_at):
        if finding.severity == "block":
            raise services.BookingRefused(finding.message, field=finding.field)


def do_request_booking(
    clinic: Clinic, data: Mapping[str, Any], *, address: str
) -> OnlineBooking | None:
    """Book from the public page. Returns None for a honeypot submission (answered the
    same, nothing done). Raises a ``DomainError`` naming the field to change."""
    check_rate(clinic, address)
    if data.get("website"):
        logger.info("Online booking honeypot filled from %s", address)
        return None
    appt_type: AppointmentType = data["type"]
    if appt_type.clinic_id != clinic.pk or not (appt_type.online and appt_type.active):
        raise InvalidInput(_("Choose a service from the list."), field="type")
    starts_at: datetime = data["starts_at"]
    if starts_at <= timezone.now():
        raise InvalidInput(_("Choose a time in the future."), field="slot")
    practitioner = _slot_practitioner(clinic, appt_type, starts_at, data.get("practitioner"))
    patient = match_patient(clinic, data)
    person = {
        name: data[name] for name in ("given_name", "family_name", "birth_date", "email", "phone")
    }
    with transaction.atomic():
        if patient is not None:
            appointment = services.do_book(
                None,
                clinic,
                patient=patient,
                appt_type=appt_type,
                practitioner=practitioner,
                starts_at=starts_at,
                notes=_("Booked online by the patient."),
            )
            booking = OnlineBooking.objects.create(
                organisation_id=clinic.organisation_id,
                clinic=clinic,
                type=appt_type,
                practitioner=practitioner,
                starts_at=starts_at,
                status=OnlineBookingStatus.BOOKED,
                patient=patient,
                appointment=appointment,
                **person,
            )
        else:
            _new_person_rules(clinic, appt_type, starts_at)
            booking = OnlineBooking.objects.create(
                organisation_id=clinic.organisation_id,
                clinic=clinic,
                type=appt_type,
                practitioner=practitioner,
                starts_at=starts_at,
                **person,
            )
            transaction.on_commit(lambda: send_email_check(booking))
        record(
            "online_booking.request",
            actor=None,
            clinic=clinic,
            obj=booking,
            details={
                "actor": "online booking",
                "matched": patient is not None,
                "patient": str(patient.pk) if patient else None,
                "appointment": str(booking.appointment_id) if booking.appointment_id else None,
                "type": appt_type.name,
                "starts_at": starts_at.isoformat(),
                "address": address,
            },
        )
    return booking


def email_check_url(booking: OnlineBooking) -> str:
    token = links.make_token("email", booking.pk, booking.created_at.isoformat())
    return links.absolute(reverse("booking:confirm_email", kwargs={"token": token}))


def send_email_check(booking: OnlineBooking) -> None:
    """The email to a person without a record: confirm the address; reception books."""
    clinic = booking.clinic
    context = {
        "given_name": booking.given_name,
        "clinic_name": clinic.name,
        "when": booking.starts_at,
        "link": email_check_url(booking),
    }
    with translation.override(settings.LANGUAGE_CODE), timezone.override(clinic.timezone):
        subject = render_to_string("scheduling/online/email_check_subject.txt", context)
        body = render_to_string("scheduling/online/email_check_email.txt", context)
    send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [booking.email])


# --- links --------------------------------------------------------------------------


def appointment_for_link(token: str, purpose: str) -> Appointment:
    max_age = settings.BOOKING_CONFIRM_LINK_HOURS if purpose == "confirm" else None
    appointment_id, stamp = links.read_token(token, purpose, max_age)
    appointment = (
        Appointment.objects.select_related("clinic", "type", "patient")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or links.appointment_stamp(appointment) != stamp:
        raise links.BadLink()
    return appointment


def do_confirm_by_link(token: str) -> Appointment:
    """The patient pressed "Confirm" on the emailed link's page (again: nothing changes)."""
    appointment = appointment_for_link(token, "confirm")
    if appointment.status == AppointmentStatus.BOOKED:
        appointment = services.do_confirm(None, appointment)
    elif appointment.status != AppointmentStatus.CONFIRMED:
        raise Conflict(_("This appointment can no longer be confirmed."), field="status")
    return appointment


def do_cancel_by_link(token: str, now: datetime | None = None) -> Appointment:
    """The patient cancels; inside the clinic's notice period it is recorded as late."""
    appointment = appointment_for_link(token, "cancel")
    if not appointment.is_open:
        raise Conflict(_("This appointment can no longer be cancelled."), field="status")
    return services.do_cancel(
        None,
        appointment,
        by=CancelledBy.PATIENT,
        reason=_("Cancelled by the patient with the emailed link."),
        now=now,
    )


def booking_for_link(token: str, *, for_update: bool = False) -> OnlineBooking:
    """The pending booking an address-check link names (``BadLink`` when it is not one)."""
    booking_id, stamp = links.read_token(token, "email", settings.BOOKING_CONFIRM_LINK_HOURS)
    bookings = OnlineBooking.objects.select_related("clinic", "type")
    if for_update:
        bookings = bookings.select_for_update(of=("self",))
    booking = bookings.filter(pk=booking_id).first()
    if booking is None or booking.created_at.isoformat() != stamp:
        raise links.BadLink()
    return booking


def do_confirm_email(token: str) -> OnlineBooking:
    """The person pressed "Confirm my address" on the emailed link's page."""
    with transaction.atomic():
        booking = booking_for_link(token, for_update=True)
        if booking.email_confirmed_at is None:
            booking.email_confirmed_at = timezone.now()
            booking.save(update_fields=["email_confirmed_at"])
            record(
                "online_booking.email_confirmed",
                actor=None,
                clinic=booking.clinic,
                obj=booking,
                details={"actor": "online booking"},
            )
    return booking


# --- reception ----------------------------------------------------------------------


def pending_bookings(clinic: Clinic) -> list[OnlineBooking]:
    return list(
        OnlineBooking.objects.filter(clinic=clinic, status=OnlineBookingStatus.PENDING)
        .select_related("type", "practitioner")
        .order_by("starts_at")
    )


def _pending(booking: OnlineBooking) -> OnlineBooking:
    locked = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
    if locked.status != OnlineBookingStatus.PENDING:
        raise Conflict(_("This online booking was already dealt with."), field="status")
    return locked


def do_accept(
    actor: User, booking: OnlineBooking, *, patient: Patient | None = None
) -> OnlineBooking:
    """Reception books a pending online booking: for ``patient`` (an existing record of
    the clinic) or for a new patient created from what the person typed."""
    from mesochart.patients.services import do_create_patient

    clinic = booking.clinic
    if patient is not None and patient.clinic_id != clinic.pk:
        raise InvalidInput(_("No such patient."), field="patient")
    with transaction.atomic():
        booking = _pending(booking)
        created = patient is None
        if patient is None:
            patient = do_create_patient(
                actor,
                clinic,
                {
                    "given_name": booking.given_name,
                    "family_name": booking.family_name,
                    "birth_date": booking.birth_date,
                    "email": booking.email,
                    "phone": booking.phone,
                    "sex": Sex.UNKNOWN,
                },
                duplicate_reason="Booked online; checked by reception.",
            )
        appointment = services.do_book(
            actor,
            clinic,
            patient=patient,
            appt_type=booking.type,
            practitioner=booking.practitioner,
            starts_at=booking.starts_at,
            notes=_("Booked online by the patient."),
        )
        booking.status = OnlineBookingStatus.BOOKED
        booking.patient, booking.appointment = patient, appointment
        booking.decided_at, booking.decided_by = timezone.now(), actor
        booking.save(update_fields=["status", "patient", "appointment", "decided_at", "decided_by"])
        record(
            "online_booking.accept",
            actor=actor,
            clinic=clinic,
            obj=booking,
            details={
                "patient": str(patient.pk),
                "created_patient": created,
                "appointment": str(appointment.pk),
            },
        )
    return booking


def do_reject(actor: User, booking: OnlineBooking, *, reason: str) -> OnlineBooking:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the online booking is rejected."), field="reason")
    with transaction.atomic():
        booking = _pending(booking)
        booking.status = OnlineBookingStatus.REJECTED
        booking.decided_at, booking.decided_by = timezone.now(), actor
        booking.save(update_fields=["status", "decided_at", "decided_by"])
        record(
            "online_booking.reject",
            actor=actor,
            clinic=booking.clinic,
            obj=booking,
            details={"reason": reason},
        )
    return booking
