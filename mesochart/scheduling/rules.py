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


def has_prescriber_consultation(
    clinic: Clinic, patient: Patient, before: datetime, policy: BookingPolicy
) -> bool:
    """A consultation with a prescriber that ended before ``before`` and not longer ago than
    the policy's validity (completed, or still booked ahead of the treatment)."""
    day = clinic.local_day(before)
    since = add_months(day, -policy.consultation_valid_months)
    return Appointment.objects.filter(
        patient=patient,
        type__kind=AppointmentKind.CONSULTATION,
        practitioner_id__in=prescriber_ids(clinic),
        status__in=HOLDING,
        ends_at__lte=before,
        starts_at__date__gte=since,
    ).exists()


def interval_severity(library: Library, protocol: str) -> str:
    rule = library.rules["interval.too_short"]
    return "block" if protocol in rule.block_protocols else rule.severity


def check_treatment(
    clinic: Clinic,
    patient: Patient,
    appt_type: AppointmentType,
    starts_at: datetime,
    *,
    exclude: uuid.UUID | None = None,
    policy: BookingPolicy | None = None,
) -> list[RuleFinding]:
    """The findings for a ``appt_type`` appointment of ``patient`` at ``starts_at`` (a few
    queries; none for a consultation or review)."""
    if appt_type.kind != AppointmentKind.TREATMENT:
        return []
    policy = policy or policy_for(clinic)
    library = library_for(clinic)
    protocol = appt_type.protocol
    day = clinic.local_day(starts_at)
    out: list[RuleFinding] = []

    if (
        policy.consultation_required
        and needs_prescription(library, protocol)
        and active_prescription(patient, protocol, day) is None
        and not has_prescriber_consultation(clinic, patient, starts_at, policy)
    ):
        out.append(
            RuleFinding(
                "booking.consultation_required",
                "block",
                _(
                    "This protocol uses a prescription-only medicine: book a consultation "
                    "with a prescriber first (valid for %(months)s months)."
                )
                % {"months": policy.consultation_valid_months},
                "type",
            )
        )

    signed = signed_days(patient, protocol)
    course = plan_course(protocol, day, signed, library=library)
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
    booked_days = [clinic.local_day(s) for s in booked.values_list("starts_at", flat=True)]

    min_days = int(library.protocols[protocol].course.min_interval_days.number)
    gap = timedelta(days=min_days)
    earliest = course.schedule[0].earliest if course.schedule else None
    near = [d for d in booked_days if abs(d - day) < gap]
    if (earliest is not None and day < earliest) or near:
        severity = interval_severity(library, protocol)
        if severity == "warn" and policy.warnings_refuse:
            severity = "block"
        other = near[0] if near else (signed[-1] if signed else day)
        out.append(
            RuleFinding(
                "booking.interval_too_short",
                severity,
                _(
                    "Too soon: %(protocol)s sessions need at least %(days)s days between "
                    "them (another session on %(other)s)."
                )
                % {"protocol": protocol, "days": min_days, "other": other.isoformat()},
                "starts_at",
            )
        )

    if policy.enforce_max_sessions and course.max_sessions is not None:
        done = len([d for d in signed if d <= day])
        if done + len(booked_days) >= course.max_sessions:
            out.append(
                RuleFinding(
                    "booking.max_sessions",
                    "block",
                    _(
                        "The course allows at most %(max)s sessions: %(done)s signed and "
                        "%(booked)s booked."
                    )
                    % {"max": course.max_sessions, "done": done, "booked": len(booked_days)},
                    "type",
                )
            )
    return out


def no_show_count(patient: Patient, policy: BookingPolicy, now: datetime) -> int:
    since = now - timedelta(days=30 * policy.no_show_window_months)
    return Appointment.objects.filter(
        patient=patient, status=AppointmentStatus.NO_SHOW, starts_at__gte=since
    ).count()
