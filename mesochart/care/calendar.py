"""The patient's next appointments as an iCalendar file (RFC 5545), written by hand:
booked appointments (timed events), planned sessions and open follow-ups from today on
(all-day events). Patient-facing: the kind of visit, never a protocol code or rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.patients.models import Patient

from .models import FollowUp, FollowUpKind, FollowUpStatus, SessionStatus, TreatmentSession

PRODID = "-//Mesochart//Mesochart appointments//EN"


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        limit = 75 if not out else 74  # continuation lines start with a space
        if len(current) + len(encoded) > limit:
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def _event(uid: str, day: date, summary: str, description: str, stamp: str) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(description)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def _timed_event(uid: str, start: datetime, end: datetime, summary: str, stamp: str) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{escape(summary)}",
        "END:VEVENT",
    ]


def patient_ics(patient: Patient, host: str) -> str:
    clinic = patient.clinic
    today = clinic.today()
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    domain = host.split(":")[0] or "mesochart.local"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(clinic.name)}",
    ]
    from mesochart.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

    for appointment in Appointment.objects.filter(
        patient=patient,
        status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
        starts_at__gte=datetime.combine(today, time(0, 0), tzinfo=UTC),
    ).select_related("type"):
        lines += _timed_event(
            f"appointment-{appointment.pk}@{domain}",
            appointment.starts_at,
            appointment.ends_at,
            _("%(clinic)s: %(what)s")
            % {"clinic": clinic.name, "what": AppointmentKind(appointment.type.kind).label},
            stamp,
        )
    for session in TreatmentSession.objects.filter(
        patient=patient, status=SessionStatus.PLANNED, scheduled_for__gte=today
    ):
        lines += _event(
            f"session-{session.pk}@{domain}",
            session.scheduled_for,
            f"{clinic.name}: treatment appointment",
            "Planned treatment session.",
            stamp,
        )
    for fu in FollowUp.objects.filter(
        patient=patient, status=FollowUpStatus.OPEN, due__gte=today
    ).exclude(kind=FollowUpKind.INFECTION_SURVEILLANCE):
        lines += _event(
            f"followup-{fu.pk}@{domain}",
            fu.due,
            f"{clinic.name}: {fu.get_kind_display().lower()}",
            fu.note,
            stamp,
        )
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
