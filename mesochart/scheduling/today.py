"""The Today page's appointment card: the day's appointments, who has arrived, and what is
still missing for each before it can go ahead.

``MISSING_CHECKS`` is the hook: each check takes an appointment and returns a short label
of what is missing, or ``None``. Consent and prescription checks are built in; a
pre-visit questionnaire (none exists yet) adds its check here with ``register_check``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic
from mesochart.care.services.consents import consent_state
from mesochart.care.services.plans import active_prescription, needs_prescription
from mesochart.library.services import library_for

from .models import Appointment, AppointmentKind, AppointmentStatus
from .services import day_bounds

Check = Callable[[Appointment], "str | None"]


def consent_missing(appointment: Appointment) -> str | None:
    if appointment.type.kind != AppointmentKind.TREATMENT:
        return None
    missing = consent_state(appointment.patient, appointment.protocol).missing
    if not missing:
        return None
    return _("consent (%(kinds)s)") % {"kinds": ", ".join(m.replace("_", "-") for m in missing)}


def prescription_missing(appointment: Appointment) -> str | None:
    if appointment.type.kind != AppointmentKind.TREATMENT:
        return None
    if not needs_prescription(library_for(appointment.clinic), appointment.protocol):
        return None
    day = appointment.clinic.local_day(appointment.starts_at)
    if active_prescription(appointment.patient, appointment.protocol, day) is not None:
        return None
    return _("prescription")


MISSING_CHECKS: list[Check] = [consent_missing, prescription_missing]


def register_check(check: Check) -> Check:
    """Add a check (e.g. a questionnaire not yet answered) to the Today page."""
    MISSING_CHECKS.append(check)
    return check


@dataclass
class TodayRow:
    appointment: Appointment
    missing: list[str] = field(default_factory=list)

    @property
    def arrived(self) -> bool:
        return self.appointment.status in (
            AppointmentStatus.ARRIVED,
            AppointmentStatus.IN_TREATMENT,
            AppointmentStatus.COMPLETED,
        )


def today_board(clinic: Clinic, day: date) -> list[TodayRow]:
    start, end = day_bounds(clinic, day)
    appointments = (
        Appointment.objects.filter(clinic=clinic, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("patient", "type", "practitioner", "room", "clinic")
        .order_by("starts_at")
    )
    rows = []
    for appointment in appointments:
        row = TodayRow(appointment)
        if appointment.status not in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW):
            row.missing = [m for check in MISSING_CHECKS if (m := check(appointment))]
        rows.append(row)
    return rows
