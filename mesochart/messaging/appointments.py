"""Appointment messages: the book's ``appointment_changed`` signal queues the patient's
confirmation and schedules the reminders at the clinic's offsets; a moved appointment's
reminders are withdrawn and scheduled again, a cancelled one's withdrawn. Appointments
also join the practitioners' calendar feeds.

Keys: ``appointment:<id>:<start>:confirmation:<channel>`` and
``appointment:<id>:<start>:reminder:<hours>h:<channel>`` (``<start>`` the start in UTC,
``20310303T0900Z``): the same change handled twice queues nothing more, a new time gets
messages of its own, and ``cancel_messages("appointment:<id>:")`` withdraws them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from django.utils.translation import gettext as _

from mesochart.accounts.models import User

from . import services
from .calendar import FeedEvent, initials, register_feed_source
from .models import CalendarFeed, MessageKind


def key_prefix(appointment: Any) -> str:
    return f"appointment:{appointment.pk}:"


def generation(appointment: Any) -> str:
    return f"{appointment.starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def patient_facing_name(appointment: Any) -> str:
    """What the patient is told they booked: the kind of visit, never a protocol or
    product name or code."""
    from mesochart.scheduling.models import AppointmentKind

    return str(AppointmentKind(appointment.type.kind).label)


def message_context(appointment: Any) -> dict[str, Any]:
    from mesochart.scheduling import links

    return {
        "when": appointment.starts_at,
        "what": patient_facing_name(appointment),
        "confirm_link": links.confirm_url(appointment),
        "link": links.cancel_url(appointment),
    }


def queue_appointment_messages(appointment: Any, actor: User | None) -> None:
    """The confirmation (due now) and the reminders of the appointment's current time."""
    base = f"{key_prefix(appointment)}{generation(appointment)}"
    context = message_context(appointment)
    services.send_messages(
        patient=appointment.patient,
        kind=MessageKind.APPOINTMENT_CONFIRMATION,
        context=context,
        key=f"{base}:confirmation",
        actor=actor,
    )
    services.schedule_reminders(
        MessageKind.APPOINTMENT_REMINDER,
        appointment.patient,
        appointment.starts_at,
        {"what": context["what"], "link": context["link"]},
        f"{base}:reminder",
        actor=actor,
    )


def on_appointment_changed(
    sender: Any, appointment: Any, change: str, actor: User | None = None, **kwargs: Any
) -> None:
    from mesochart.scheduling.models import AppointmentStatus

    if change == "cancelled" or appointment.status in (
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    ):
        services.cancel_messages(key_prefix(appointment), actor=actor)
    elif change == "moved":
        services.cancel_messages(key_prefix(appointment), actor=actor)
        queue_appointment_messages(appointment, actor)
    elif change == "booked":
        queue_appointment_messages(appointment, actor)
    elif change == "status" and appointment.status == AppointmentStatus.CONFIRMED:
        # Idempotent: the reminders of this time are there already unless an offset
        # was added since; no second confirmation.
        services.schedule_reminders(
            MessageKind.APPOINTMENT_REMINDER,
            appointment.patient,
            appointment.starts_at,
            {
                "what": patient_facing_name(appointment),
                "link": message_context(appointment)["link"],
            },
            f"{key_prefix(appointment)}{generation(appointment)}:reminder",
            actor=actor,
        )


def connect() -> None:
    from mesochart.scheduling.signals import appointment_changed

    appointment_changed.connect(on_appointment_changed, dispatch_uid="messaging.appointments")


@register_feed_source
def appointments(feed: CalendarFeed, since: date, base_url: str) -> Iterable[FeedEvent]:
    """The practitioner's appointments (not cancelled or no-show) from ``since``."""
    from mesochart.scheduling.models import HOLDING, Appointment

    start = datetime.combine(since, time(0, 0), tzinfo=UTC)
    rows = Appointment.objects.filter(
        clinic=feed.clinic, practitioner=feed.user, status__in=HOLDING, starts_at__gte=start
    ).select_related("patient", "type")
    for appointment in rows.order_by("starts_at"):
        patient = appointment.patient
        yield FeedEvent(
            uid=f"appointment-{appointment.pk}",
            start=appointment.starts_at,
            end=appointment.ends_at,
            summary=_("%(what)s: %(who)s (%(mrn)s)")
            % {
                "what": patient_facing_name(appointment),
                "who": initials(patient.given_name, patient.family_name),
                "mrn": patient.mrn,
            },
            url=f"{base_url}/appointments/{appointment.pk}/",
        )
