"""A session's life: planned -> in progress -> signed, or cancelled.

:func:`set_session_status` is the one door for a status change: it checks the transition
(``models.SESSION_TRANSITIONS``), sets the new status and the fields that go with it,
saves them and writes the audit event. Creating, starting and cancelling are here;
signing is in ``signing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput
from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.patients.screening import engine_patient
from mesochart.protocols import ENGINE_VERSION, screen

from ..models import (
    SESSION_TRANSITIONS,
    PlanStatus,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from .check import history_for
from .plans import active_prescription, needs_prescription, protocol_or_error


class PrescriptionRequired(Conflict):
    """A prescription-only protocol's session cannot start before a prescriber prescribes."""

    code = "session.prescription_required"


def locked_session(session: TreatmentSession) -> TreatmentSession:
    """The session re-read with its row locked until the transaction ends, with what every
    service reads of it (clinic, patient and profile, prescription) in the same query."""
    return (
        TreatmentSession.objects.select_for_update(of=("self",))
        .select_related("clinic", "patient__profile", "prescription__prescribed_by")
        .get(pk=session.pk)
    )


def editable_or_conflict(session: TreatmentSession) -> None:
    """Refuse (409) unless the session is in progress: a signed record never changes."""
    if session.status != SessionStatus.IN_PROGRESS:
        if session.status == SessionStatus.SIGNED:
            message = _(
                "This session is signed: a signed session never changes; add an addendum instead."
            )
        elif session.status == SessionStatus.CANCELLED:
            message = _("This session is cancelled.")
        else:
            message = _("This session is planned: start it before charting.")
        raise Conflict(message, field="session")


def check_transition(session: TreatmentSession, new: str) -> None:
    """Refuse (409) a status change that ``SESSION_TRANSITIONS`` does not allow."""
    if new not in SESSION_TRANSITIONS[session.status]:
        raise Conflict(
            _("A %(old)s session cannot become %(new)s.")
            % {
                "old": session.get_status_display().lower(),
                "new": SessionStatus(new).label.lower(),
            },
            field="status",
        )


def set_session_status(
    actor: User,
    session: TreatmentSession,
    new: str,
    *,
    event: str,
    fields: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> TreatmentSession:
    """Move a (locked) session to ``new``: check the transition, set ``fields`` with it,
    save them and write the audit event ``session.<event>``."""
    check_transition(session, new)
    session.status = new
    for name, value in (fields or {}).items():
        setattr(session, name, value)
    session.save(update_fields=["status", *(fields or {})])
    record(
        f"session.{event}",
        actor=actor,
        clinic=session.clinic,
        obj=session,
        details=dict(details or {}),
    )
    return session


def do_create_session(
    actor: User,
    clinic: Clinic,
    patient: Patient,
    *,
    protocol: str,
    scheduled_for: date,
    plan: TreatmentPlan | None = None,
    notes: str = "",
) -> TreatmentSession:
    """A planned session; it joins the patient's active plan of the protocol if any."""
    protocol_or_error(library_for(clinic), protocol)
    if patient.clinic_id != clinic.pk:
        raise InvalidInput(_("No such patient."), field="patient")
    if plan is not None and (plan.patient_id != patient.pk or plan.protocol != protocol):
        raise InvalidInput(_("That plan is for another patient or protocol."), field="plan")
    with transaction.atomic():
        if plan is None:
            plan = TreatmentPlan.objects.filter(
                patient=patient, protocol=protocol, status=PlanStatus.ACTIVE
            ).first()
        session = TreatmentSession.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            plan=plan,
            protocol=protocol,
            scheduled_for=scheduled_for,
            notes=(notes or "").strip(),
            created_by=actor,
        )
        record(
            "session.create",
            actor=actor,
            clinic=clinic,
            obj=session,
            details={
                "patient": str(patient.pk),
                "protocol": protocol,
                "scheduled_for": str(scheduled_for),
            },
        )
    return session


def do_start_session(actor: User, session: TreatmentSession) -> TreatmentSession:
    """Planned -> in progress, today: screen the medical profile now and keep the result
    (with the engine and profile versions). A prescription-only protocol needs a
    prescriber's prescription in force first. A session planned for another day becomes
    today's session (the audit keeps the planned day)."""
    from .charting import default_brush

    with transaction.atomic():
        session = locked_session(session)
        clinic = session.clinic
        library = library_for(clinic)
        now = timezone.now()
        today = clinic.local_day(now)
        check_transition(session, SessionStatus.IN_PROGRESS)
        prescription = None
        if needs_prescription(library, session.protocol):
            prescription = active_prescription(session.patient, session.protocol, today)
            if prescription is None:
                raise PrescriptionRequired(
                    _(
                        "This protocol uses a prescription-only medicine: a prescriber must "
                        "prescribe it (products, zones, dose limits) before the session starts."
                    ),
                    field="prescription",
                )
        patient = session.patient
        result = screen(
            engine_patient(patient),
            session.protocol,
            today,
            history_for(patient, exclude=session.pk),
            library=library,
        )
        planned_for = session.scheduled_for
        set_session_status(
            actor,
            session,
            SessionStatus.IN_PROGRESS,
            event="start",
            fields={
                "screening": {
                    "at": now.isoformat(),
                    "engine_version": ENGINE_VERSION,
                    "profile_version": patient.profile.version,
                    "result": result.as_dict(),
                },
                "started_at": now,
                "started_by": actor,
                "performed_on": today,
                "scheduled_for": today,
                "prescription": prescription,
                "brush": default_brush(library, session),
            },
            details={
                "screening": result.verdict,
                "profile_version": patient.profile.version,
                "planned_for": str(planned_for),
                "prescription": str(prescription.pk) if prescription else None,
            },
        )
    return session


def do_cancel_session(actor: User, session: TreatmentSession, reason: str) -> TreatmentSession:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the session is cancelled."), field="reason")
    with transaction.atomic():
        session = locked_session(session)
        set_session_status(
            actor,
            session,
            SessionStatus.CANCELLED,
            event="cancel",
            fields={"cancelled_reason": reason},
            details={"reason": reason},
        )
    return session
