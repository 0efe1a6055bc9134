"""Treatment plans, their live schedule, and prescriptions.

A plan's schedule is never stored: :func:`plan_schedule` runs the engine's
``plan_course`` over the patient's signed sessions of the protocol with the clinic's tuned
library. A protocol whose products include a prescription-only medicine (library
``prescription_only``, e.g. deoxycholic acid) needs a prescriber's prescription before a
session starts (:func:`active_prescription`); signing checks the chart against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, Membership, User
from mesochart.accounts.permissions import has_perm
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput, NotAllowed
from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.protocols import CoursePlan, Library, plan_course

from ..models import PlanStatus, Prescription, SessionStatus, TreatmentPlan, TreatmentSession
from .check import prescription_products, signed_days


def protocol_or_error(library: Library, code: str) -> None:
    if code not in library.protocols:
        raise InvalidInput(_("Unknown protocol code %(code)r.") % {"code": code}, field="protocol")


def do_create_plan(
    actor: User, clinic: Clinic, patient: Patient, *, protocol: str, start: date, goals: str = ""
) -> TreatmentPlan:
    protocol_or_error(library_for(clinic), protocol)
    if patient.clinic_id != clinic.pk:
        raise InvalidInput(_("No such patient."), field="patient")
    with transaction.atomic():
        if TreatmentPlan.objects.filter(
            patient=patient, protocol=protocol, status=PlanStatus.ACTIVE
        ).exists():
            raise InvalidInput(
                _("This patient already has an active plan for this protocol: close it first."),
                field="protocol",
            )
        plan = TreatmentPlan.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            protocol=protocol,
            start=start,
            goals=(goals or "").strip(),
            created_by=actor,
        )
        record(
            "plan.create",
            actor=actor,
            clinic=clinic,
            obj=plan,
            details={"patient": str(patient.pk), "protocol": protocol, "start": str(start)},
        )
    return plan


def do_close_plan(actor: User, plan: TreatmentPlan, status: str, reason: str) -> TreatmentPlan:
    if status not in (PlanStatus.COMPLETED, PlanStatus.STOPPED):
        raise InvalidInput(_("A plan closes as completed or stopped."), field="status")
    reason = (reason or "").strip()
    if status == PlanStatus.STOPPED and not reason:
        raise InvalidInput(_("Say why the plan is stopped."), field="reason")
    with transaction.atomic():
        plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != PlanStatus.ACTIVE:
            raise Conflict(_("This plan is already closed."), field="status")
        plan.status = status
        plan.closed_reason = reason
        plan.save(update_fields=["status", "closed_reason"])
        record(
            "plan.close",
            actor=actor,
            clinic=plan.clinic,
            obj=plan,
            details={"status": status, "reason": reason},
        )
    return plan


def plan_schedule(plan: TreatmentPlan, on: date | None = None) -> CoursePlan:
    """``plan_course`` for the plan from ``on`` (default: today) over its signed sessions."""
    library = library_for(plan.clinic)
    today = on or plan.clinic.today()
    history = signed_days(plan.patient, plan.protocol)
    return plan_course(plan.protocol, max(today, plan.start), history, library=library)


# --- prescriptions ----------------------------------------------------------------------


def needs_prescription(library: Library, protocol: str) -> bool:
    """Whether a session of ``protocol`` needs a prescriber's prescription to start."""
    proto = library.protocols[protocol]
    return bool(prescription_products(library, (*proto.products, *proto.mixtures)))


@dataclass(frozen=True)
class PrescriptionDraft:
    """What a prescriber prescribes (validated by ``PrescriptionForm``)."""

    products: tuple[str, ...]
    zones: tuple[str, ...]
    max_volume_ml: Decimal | None
    max_points: int | None
    sessions: int
    valid_until: date
    notes: str = ""


def label_limits(library: Library, protocol: str) -> dict[str, Any]:
    """The label's per-session limits that bind a prescription (``max_volume_ml``,
    ``max_points``), with their evidence and source: a prescription never exceeds them."""
    out: dict[str, Any] = {}
    for param in library.dose_limits_for(protocol):
        key = param.id.rsplit(".", 1)[-1]
        if key == "max_volume_ml_per_session":
            out["max_volume_ml"] = param
        elif key == "max_points_per_session":
            out["max_points"] = param
    return out


def _check_draft(library: Library, protocol: str, draft: PrescriptionDraft, today: date) -> None:
    proto = library.protocols[protocol]
    allowed = {*proto.products, *proto.mixtures}
    if not draft.products:
        raise InvalidInput(_("Prescribe at least one product."), field="products")
    for code in draft.products:
        if code not in allowed:
            raise InvalidInput(
                _("%(code)s is not a product of this protocol.") % {"code": code},
                field="products",
            )
    if not draft.zones:
        raise InvalidInput(_("Prescribe at least one zone."), field="zones")
    for code in draft.zones:
        if code not in proto.zones:
            raise InvalidInput(
                _("%(code)s is not a zone of this protocol.") % {"code": code}, field="zones"
            )
    if draft.valid_until < today:
        raise InvalidInput(_("The prescription must be valid today or later."), field="valid_until")
    if draft.sessions < 1:
        raise InvalidInput(_("A prescription covers at least one session."), field="sessions")
    limits = label_limits(library, protocol)
    for name, value in (("max_volume_ml", draft.max_volume_ml), ("max_points", draft.max_points)):
        param = limits.get(name)
        if value is not None and value <= 0:
            raise InvalidInput(_("Enter a number greater than zero."), field=name)
        if param is not None and value is not None and float(value) > param.number:
            raise InvalidInput(
                _("The label allows at most %(value)s %(unit)s per session (%(source)s).")
                % {"value": f"{param.number:g}", "unit": param.unit, "source": param.source},
                field=name,
            )


def do_prescribe(
    actor: User,
    membership: Membership,
    patient: Patient,
    protocol: str,
    draft: PrescriptionDraft,
    *,
    plan: TreatmentPlan | None = None,
) -> Prescription:
    """A prescriber's prescription for ``protocol``: products, zones, per-session limits
    (never above the label's), how many sessions and until when."""
    if not has_perm(membership, "prescription.write"):
        raise NotAllowed(_("Only a prescriber prescribes."), field="prescription")
    clinic = membership.clinic
    library = library_for(clinic)
    protocol_or_error(library, protocol)
    if patient.clinic_id != clinic.pk:
        raise InvalidInput(_("No such patient."), field="patient")
    if plan is not None and (plan.patient_id != patient.pk or plan.protocol != protocol):
        raise InvalidInput(_("That plan is for another patient or protocol."), field="plan")
    _check_draft(library, protocol, draft, clinic.today())
    with transaction.atomic():
        rx = Prescription.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            protocol=protocol,
            plan=plan,
            products=list(draft.products),
            zones=list(draft.zones),
            max_volume_ml=draft.max_volume_ml,
            max_points=draft.max_points,
            sessions=draft.sessions,
            valid_until=draft.valid_until,
            notes=draft.notes.strip(),
            prescribed_by=actor,
            prescribed_at=timezone.now(),
        )
        record(
            "prescription.create",
            actor=actor,
            clinic=clinic,
            obj=patient,
            details={
                "prescription": str(rx.pk),
                "protocol": protocol,
                "products": rx.products,
                "zones": rx.zones,
                "max_volume_ml": None if rx.max_volume_ml is None else str(rx.max_volume_ml),
                "max_points": rx.max_points,
                "sessions": rx.sessions,
                "valid_until": str(rx.valid_until),
            },
        )
    return rx


def do_revoke_prescription(
    actor: User, membership: Membership, rx: Prescription, reason: str
) -> Prescription:
    if not has_perm(membership, "prescription.write"):
        raise NotAllowed(_("Only a prescriber revokes a prescription."), field="prescription")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the prescription is revoked."), field="reason")
    with transaction.atomic():
        rx = Prescription.objects.select_for_update().get(pk=rx.pk)
        if rx.revoked_at is not None:
            raise Conflict(_("This prescription was revoked already."), field="reason")
        rx.revoked_at, rx.revoked_by, rx.revoked_reason = timezone.now(), actor, reason
        rx.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
        record(
            "prescription.revoke",
            actor=actor,
            clinic=rx.clinic,
            obj=rx.patient,
            details={"prescription": str(rx.pk), "reason": reason},
        )
    return rx


def sessions_used(rx: Prescription) -> int:
    """Sessions started under ``rx`` (in progress or signed; one query)."""
    return TreatmentSession.objects.filter(
        prescription=rx, status__in=(SessionStatus.IN_PROGRESS, SessionStatus.SIGNED)
    ).count()


def active_prescription(patient: Patient, protocol: str, day: date) -> Prescription | None:
    """The newest prescription of ``protocol`` for the patient that is in force on ``day``
    (not revoked, not expired) and still has a session left."""
    candidates = (
        Prescription.objects.filter(
            patient=patient, protocol=protocol, revoked_at__isnull=True, valid_until__gte=day
        )
        .filter(Q(plan__isnull=True) | Q(plan__status=PlanStatus.ACTIVE))
        .select_related("prescribed_by")
        .order_by("-prescribed_at")
    )
    for rx in candidates:
        if sessions_used(rx) < rx.sessions:
            return rx
    return None
