"""Booking rules: what the clinic's policy and the protocol course engine say about one
proposed appointment. Reads only; ``services.do_book`` and the slot search ask here.

- a prescription-only protocol needs a consultation with a prescriber first (a completed
  one within ``consultation_valid_months``, or one booked to end before the treatment
  starts), unless a prescription is already in force;
- a treatment sooner than the protocol's minimum interval (``plan_course`` over the signed
  sessions, and the other treatments of the protocol already booked) is refused when the
  engine's ``interval.too_short`` rule is block-level for the protocol, warned otherwise
  (refused too when the policy says so);
- the course's maximum sessions (signed plus booked) is respected.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, Membership, Role
from mesochart.care.services.check import signed_days
from mesochart.care.services.plans import active_prescription, needs_prescription
from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.protocols.course import plan_course
from mesochart.protocols.library import Library

from .models import (
    HOLDING,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    BookingPolicy,
)


@dataclass(frozen=True)
class RuleFinding:
    code: str
    severity: str  # "block" | "warn"
    message: str
    field: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "field": self.field,
        }


def policy_for(clinic: Clinic) -> BookingPolicy:
    policy, _created = BookingPolicy.objects.get_or_create(
        clinic=clinic, defaults={"organisation_id": clinic.organisation_id}
    )
    return policy


def policy_or_default(clinic: Clinic) -> BookingPolicy:
    """The clinic's policy for reading, without creating a row (one query)."""
    return BookingPolicy.objects.filter(clinic=clinic).first() or BookingPolicy(
        clinic=clinic, organisation_id=clinic.organisation_id
    )


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30,
            31, 30, 31, 31, 30, 31, 30, 31][month - 1]  # fmt: skip
    return date(year, month, min(day.day, last))


def prescriber_ids(clinic: Clinic) -> set[uuid.UUID]:
    return set(
        Membership.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True).values_list(
            "user_id", flat=True
        )
    )


def interval_severity(library: Library, protocol: str) -> str:
    rule = library.rules["interval.too_short"]
    return "block" if protocol in rule.block_protocols else rule.severity


@dataclass
class TreatmentContext:
    """What the rules need to judge treatments of one type for one patient, read once
    (a few queries), so the slot search can judge every day of a month without more."""

    clinic: Clinic
    protocol: str
    policy: BookingPolicy
    min_days: int
    severity: str
    max_sessions: int | None
    signed: list[date]
    booked_days: list[date]
    needs_consultation: bool
    prescription_until: date | None
    consultations: list[tuple[datetime, date]]  # (ends_at, local day) with a prescriber

    def findings(self, starts_at: datetime) -> list[RuleFinding]:
        day = self.clinic.local_day(starts_at)
        policy = self.policy
        out: list[RuleFinding] = []
        if self.needs_consultation and not (
            self.prescription_until is not None and day <= self.prescription_until
        ):
            since = add_months(day, -policy.consultation_valid_months)
            if not any(end <= starts_at and on >= since for end, on in self.consultations):
                out.append(
                    RuleFinding(
                        "booking.consultation_required",
                        "block",
                        _(
                            "This protocol uses a prescription-only medicine: book a "
                            "consultation with a prescriber first (valid for %(months)s months)."
                        )
                        % {"months": policy.consultation_valid_months},
                        "type",
                    )
                )
        gap = timedelta(days=self.min_days)
        before = [d for d in self.signed if d <= day]
        near = [d for d in (*before[-1:], *self.booked_days) if abs(d - day) < gap]
        if near:
            severity = self.severity
            if severity == "warn" and policy.warnings_refuse:
                severity = "block"
            out.append(
                RuleFinding(
                    "booking.interval_too_short",
                    severity,
                    _(
                        "Too soon: %(protocol)s sessions need at least %(days)s days between "
                        "them (another session on %(other)s)."
                    )
                    % {
                        "protocol": self.protocol,
                        "days": self.min_days,
                        "other": near[0].isoformat(),
                    },
                    "starts_at",
                )
            )
        if (
            policy.enforce_max_sessions
            and self.max_sessions is not None
            and len(before) + len(self.booked_days) >= self.max_sessions
        ):
            out.append(
                RuleFinding(
                    "booking.max_sessions",
                    "block",
                    _(
                        "The course allows at most %(max)s sessions: %(done)s signed and "
                        "%(booked)s booked."
                    )
                    % {
                        "max": self.max_sessions,
                        "done": len(before),
                        "booked": len(self.booked_days),
                    },
                    "type",
                )
            )
        return out


def treatment_context(
    clinic: Clinic,
    patient: Patient,
    appt_type: AppointmentType,
    on: date,
    *,
    exclude: uuid.UUID | None = None,
    policy: BookingPolicy | None = None,
) -> TreatmentContext | None:
    """The rules' view of ``patient`` for ``appt_type`` (``None`` unless a treatment). The
    interval and maximum come from the course engine (``plan_course`` over the signed
    sessions) and the protocol library, tuned for the clinic."""
    if appt_type.kind != AppointmentKind.TREATMENT:
        return None
    policy = policy or policy_for(clinic)
    library = library_for(clinic)
    protocol = appt_type.protocol
    signed = signed_days(patient, protocol)
    course = plan_course(protocol, on, signed, library=library)
    booked = Appointment.objects.filter(
        patient=patient,
        protocol=protocol,
        type__kind=AppointmentKind.TREATMENT,
        status__in=(
            AppointmentStatus.BOOKED,
            AppointmentStatus.CONFIRMED,
            AppointmentStatus.ARRIVED,
            AppointmentStatus.IN_TREATMENT,
        ),
    )
    if exclude is not None:
        booked = booked.exclude(pk=exclude)
    needs = policy.consultation_required and needs_prescription(library, protocol)
    rx = active_prescription(patient, protocol, on) if needs else None
    consultations: list[tuple[datetime, date]] = []
    if needs:
        rows = Appointment.objects.filter(
            patient=patient,
            type__kind=AppointmentKind.CONSULTATION,
            practitioner_id__in=prescriber_ids(clinic),
            status__in=HOLDING,
        ).values_list("ends_at", "starts_at")
        consultations = [(end, clinic.local_day(start)) for end, start in rows]
    return TreatmentContext(
        clinic=clinic,
        protocol=protocol,
        policy=policy,
        min_days=int(library.protocols[protocol].course.min_interval_days.number),
        severity=interval_severity(library, protocol),
        max_sessions=course.max_sessions,
        signed=signed,
        booked_days=[clinic.local_day(s) for s in booked.values_list("starts_at", flat=True)],
        needs_consultation=needs,
        prescription_until=rx.valid_until if rx is not None else None,
        consultations=consultations,
    )


def check_treatment(
    clinic: Clinic,
    patient: Patient,
    appt_type: AppointmentType,
    starts_at: datetime,
    *,
    exclude: uuid.UUID | None = None,
    policy: BookingPolicy | None = None,
) -> list[RuleFinding]:
    """The findings for a ``appt_type`` appointment of ``patient`` at ``starts_at``."""
    context = treatment_context(
        clinic, patient, appt_type, clinic.local_day(starts_at), exclude=exclude, policy=policy
    )
    return context.findings(starts_at) if context is not None else []


def no_show_count(patient: Patient, policy: BookingPolicy, now: datetime) -> int:
    since = now - timedelta(days=30 * policy.no_show_window_months)
    return Appointment.objects.filter(
        patient=patient, status=AppointmentStatus.NO_SHOW, starts_at__gte=since
    ).count()
