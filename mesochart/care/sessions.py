"""Treatment plans and sessions: every write (atomic, audited) and the queries the
charting screen asks.

A session goes planned -> in progress -> signed (immutable; addenda only), or is
cancelled. While it is in progress, the chart (points, zone entries, packs, items) is
turned into the check-session contract's JSON (:func:`engine_input`) and checked by the
safety engine on every change. Signing re-checks inside the transaction, refuses while a
block or an unresolved warning stands or a required consent is missing, and consumes
stock and packs in the same transaction: nothing is half-signed. See docs/sessions.md.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from mesochart.accounts.models import Clinic, Membership, Role, User
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput, NotAllowed
from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.patients.screening import engine_patient
from mesochart.protocols import (
    ENGINE_VERSION,
    HistoryEntry,
    Library,
    Result,
    check_session,
    plan_course,
    screen,
)
from mesochart.protocols import InvalidInput as EngineInvalidInput
from mesochart.sterility import services as sterility
from mesochart.sterility.models import CycleStatus, Pack, PackStatus, SterileItemLot
from mesochart.stock import gs1
from mesochart.stock import services as stock
from mesochart.stock.models import Lot, LotStatus, MixturePreparation, Unit

from . import maps
from .models import (
    SESSION_TRANSITIONS,
    ChartEntry,
    EntryKind,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    PlanStatus,
    SessionAddendum,
    SessionItem,
    SessionOverride,
    SessionPack,
    SessionStatus,
    SessionSupply,
    TreatmentPlan,
    TreatmentSession,
)
from .services import consent_codes, missing_for_protocol


class SessionBlocked(Conflict):
    """Signing refused: ``reasons`` lists what stands in the way."""

    code = "session.blocked"

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message, field="session")
        self.reasons = reasons


def local_day(clinic: Clinic, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(clinic.timezone)).date()


def _protocol_or_error(library: Library, code: str) -> None:
    if code not in library.protocols:
        raise InvalidInput(f"Unknown protocol code {code!r}.", field="protocol")


def _editable(session: TreatmentSession) -> None:
    if session.status != SessionStatus.IN_PROGRESS:
        raise Conflict(
            f"This session is {session.get_status_display().lower()}: "
            + (
                "a signed session never changes; add an addendum instead."
                if session.status == SessionStatus.SIGNED
                else "start it before charting."
            ),
            field="session",
        )


def _locked(session: TreatmentSession) -> TreatmentSession:
    return TreatmentSession.objects.select_for_update().get(pk=session.pk)


# --- plans ---------------------------------------------------------------------------


def do_create_plan(
    actor: User, clinic: Clinic, patient: Patient, *, protocol: str, start: date, goals: str = ""
) -> TreatmentPlan:
    _protocol_or_error(library_for(clinic), protocol)
    if patient.clinic_id != clinic.pk:
        raise InvalidInput("No such patient.", field="patient")
    with transaction.atomic():
        if TreatmentPlan.objects.filter(
            patient=patient, protocol=protocol, status=PlanStatus.ACTIVE
        ).exists():
            raise InvalidInput(
                "This patient already has an active plan for this protocol: close it first.",
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
        raise InvalidInput("A plan closes as completed or stopped.", field="status")
    reason = (reason or "").strip()
    if status == PlanStatus.STOPPED and not reason:
        raise InvalidInput("Say why the plan is stopped.", field="reason")
    with transaction.atomic():
        plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != PlanStatus.ACTIVE:
            raise Conflict("This plan is already closed.", field="status")
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


def signed_sessions(patient: Patient) -> list[TreatmentSession]:
    """The patient's signed sessions, oldest first, with their entries (two queries)."""
    return list(
        TreatmentSession.objects.filter(patient=patient, status=SessionStatus.SIGNED)
        .order_by("signed_at")
        .prefetch_related("entries")
    )


def session_day(session: TreatmentSession) -> date:
    """The day the session happened (signing day, else start day, else the planned day)."""
    moment = session.signed_at or session.started_at
    return local_day(session.clinic, moment) if moment else session.scheduled_for


def _adverse_events_by_session(patient: Patient) -> Mapping[uuid.UUID, list[str]]:
    # Imported here: outcomes imports the care models, so a module-level import would cycle.
    from mesochart.outcomes.services import adverse_event_codes_by_session

    return adverse_event_codes_by_session(patient)


def history_for(patient: Patient, *, exclude: TreatmentSession | None = None) -> list[HistoryEntry]:
    """The engine's ``history``: every signed session of the patient (any protocol)."""
    events = _adverse_events_by_session(patient)
    out = []
    for s in signed_sessions(patient):
        if exclude is not None and s.pk == exclude.pk:
            continue
        entries = list(s.entries.all())
        out.append(
            HistoryEntry(
                date=session_day(s),
                protocol=s.protocol,
                zones=tuple(sorted({e.zone for e in entries})),
                adverse_events=tuple(events.get(s.pk, ())),
                products=tuple(sorted({e.product for e in entries if e.product})),
            )
        )
    return out


def plan_schedule(plan: TreatmentPlan, on: date | None = None) -> Any:
    """``plan_course`` for the plan from ``on`` (default: today) over its signed sessions."""
    library = library_for(plan.clinic)
    today = on or plan.clinic.local_now().date()
    history = [session_day(s) for s in signed_sessions(plan.patient) if s.protocol == plan.protocol]
    return plan_course(plan.protocol, max(today, plan.start), history, library=library)


# --- sessions: create, start, cancel ---------------------------------------------------


def set_session_status(actor: User, session: TreatmentSession, new: str) -> None:
    """Check the transition (``SESSION_TRANSITIONS``); the caller saves and audits."""
    if new not in SESSION_TRANSITIONS[session.status]:
        raise Conflict(
            f"A {session.get_status_display().lower()} session cannot become "
            f"{SessionStatus(new).label.lower()}.",
            field="status",
        )
    session.status = new


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
    _protocol_or_error(library_for(clinic), protocol)
    if patient.clinic_id != clinic.pk:
        raise InvalidInput("No such patient.", field="patient")
    if plan is not None and (plan.patient_id != patient.pk or plan.protocol != protocol):
        raise InvalidInput("That plan is for another patient or protocol.", field="plan")
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
    """Planned -> in progress: screen the medical profile now and keep the result."""
    with transaction.atomic():
        session = _locked(session)
        set_session_status(actor, session, SessionStatus.IN_PROGRESS)
        now = timezone.now()
        library = library_for(session.clinic)
        patient = session.patient
        result = screen(
            engine_patient(patient),
            session.protocol,
            local_day(session.clinic, now),
            history_for(patient),
            library=library,
        )
        session.screening = {
            "at": now.isoformat(),
            "engine_version": ENGINE_VERSION,
            "profile_version": patient.profile.version,
            "result": result.as_dict(),
        }
        session.started_at = now
        session.started_by = actor
        session.brush = default_brush(library, session.protocol, session.clinic)
        session.save(update_fields=["status", "screening", "started_at", "started_by", "brush"])
        record(
            "session.start",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"screening": result.verdict, "profile_version": patient.profile.version},
        )
    return session


def do_cancel_session(actor: User, session: TreatmentSession, reason: str) -> TreatmentSession:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the session is cancelled.", field="reason")
    with transaction.atomic():
        session = _locked(session)
        set_session_status(actor, session, SessionStatus.CANCELLED)
        session.cancelled_reason = reason
        session.save(update_fields=["status", "cancelled_reason"])
        record(
            "session.cancel",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"reason": reason},
        )
    return session


# --- the brush: what the next point gets ------------------------------------------------


def entry_kind_for(library: Library, protocol: str) -> str:
    """The main kind of entry a protocol charts (from its techniques' kinds)."""
    kinds = [library.techniques[t].kind for t in library.protocols[protocol].techniques]
    for kind in (EntryKind.INJECTION, EntryKind.MICRONEEDLING, EntryKind.ENERGY):
        if kind in kinds:
            return str(kind)
    return str(EntryKind.NEEDLE_FREE) if kinds else str(EntryKind.INJECTION)


def default_brush(library: Library, protocol: str, clinic: Clinic) -> dict[str, Any]:
    """The first technique of the protocol and the first-expiry-first-out lot of its first
    product; volumes and needles are left for the clinician to set (never invented)."""
    proto = library.protocols[protocol]
    kind = entry_kind_for(library, protocol)
    techniques = [t for t in proto.techniques if library.techniques[t].kind == kind]
    brush: dict[str, Any] = {"kind": kind, "technique": techniques[0] if techniques else ""}
    for product in proto.products:
        lots = stock.fefo_lots(clinic, product)
        if lots:
            brush["lot"] = str(lots[0].pk)
            break
    return brush


BRUSH_DECIMALS = {
    "volume_ml": ("volume per point (mL)", Decimal("0.001"), Decimal("0.001"), Decimal("100")),
    "depth_mm": ("depth (mm)", Decimal("0.01"), Decimal("0"), Decimal("100")),
    "needle_length_mm": ("needle length (mm)", Decimal("0.01"), Decimal("0"), Decimal("100")),
}
BRUSH_INTS = {
    "needle_gauge": ("needle gauge", 10, 40),
    "angle_deg": ("angle (degrees)", 0, 90),
    "passes": ("passes", 1, 50),
}
BRUSH_TEXT = ("technique", "device", "device_lot", "endpoint", "energy", "kind")


def _decimal(value: Any, name: str, label: str, step: Decimal, lo: Decimal, hi: Decimal) -> str:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"The {label} must be a number.", field=name) from None
    if not number.is_finite() or number < lo or number > hi:
        raise InvalidInput(f"The {label} must be between {lo} and {hi}.", field=name)
    return str(number.quantize(step, rounding=ROUND_HALF_UP))


def clean_brush(
    library: Library, session: TreatmentSession, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate brush fields (form or JSON); errors name the field."""
    brush: dict[str, Any] = {}
    for name in BRUSH_TEXT:
        value = str(data.get(name) or "").strip()
        if value:
            brush[name] = value[:60]
    kind = brush.get("kind") or entry_kind_for(library, session.protocol)
    if kind not in EntryKind.values:
        raise InvalidInput(f"Unknown entry kind {kind!r}.", field="kind")
    brush["kind"] = kind
    technique = brush.get("technique", "")
    if technique and technique not in library.techniques:
        raise InvalidInput(f"Unknown technique {technique!r}.", field="technique")
    if brush.get("endpoint") and brush["endpoint"] not in ("erythema", "pinpoint_bleeding"):
        raise InvalidInput("The endpoint is erythema or pinpoint bleeding.", field="endpoint")
    if data.get("test_spot") in (True, "on", "true", "1"):
        brush["test_spot"] = True
    scanned = str(data.get("scan") or "").strip()
    if scanned:
        data = {**data, "lot": str(lot_from_scan(session, scanned).pk)}
    for name, (label, step, lo, hi) in BRUSH_DECIMALS.items():
        if str(data.get(name) or "").strip():
            brush[name] = _decimal(data[name], name, label, step, lo, hi)
    for name, (label, lo_i, hi_i) in BRUSH_INTS.items():
        raw = str(data.get(name) or "").strip()
        if raw:
            try:
                number = int(raw)
            except ValueError:
                raise InvalidInput(f"The {label} must be a whole number.", field=name) from None
            if not lo_i <= number <= hi_i:
                raise InvalidInput(f"The {label} must be between {lo_i} and {hi_i}.", field=name)
            brush[name] = number
    values = {name: str(data.get(name) or "").strip() for name in ("lot", "topical_lot")}
    values["preparation"] = str(data.get("preparation") or "").strip()
    if values["lot"].startswith("prep:"):  # the lot list also offers the session's mixtures
        values["preparation"], values["lot"] = values["lot"][5:], ""
    for name in ("lot", "topical_lot", "preparation"):
        raw = values[name]
        if raw:
            try:
                brush[name] = str(uuid.UUID(raw))
            except ValueError:
                raise InvalidInput("Choose a lot from the list.", field=name) from None
    if "lot" in brush:
        lot_of(session, brush["lot"], "lot")
    if "topical_lot" in brush:
        lot_of(session, brush["topical_lot"], "topical_lot")
    if "preparation" in brush:
        preparation_of(session, brush["preparation"])
        brush.pop("lot", None)
    return brush


def lot_from_scan(session: TreatmentSession, scanned: str) -> Lot:
    """The clinic's lot a scanned GS1 code (GTIN + lot, AIs 01 and 10) or a typed lot
    number names; errors name the ``scan`` field."""
    try:
        parsed = gs1.parse(scanned)
    except gs1.GS1Error:
        parsed = None
    lots = Lot.objects.filter(clinic_id=session.clinic_id)
    if parsed is not None and parsed.lot:
        lots = lots.filter(lot_number=parsed.lot)
        product = stock.product_for_gtin(session.clinic, parsed.gtin) if parsed.gtin else None
        if product:
            lots = lots.filter(product=product)
    else:
        lots = lots.filter(lot_number__iexact=scanned)
    found = list(lots[:2])
    if len(found) != 1:
        raise InvalidInput(
            "No single lot in this clinic matches the scan; receive it in stock first."
            if not found
            else "Several products share this lot number: pick the lot from the list.",
            field="scan",
        )
    return found[0]


def lot_of(session: TreatmentSession, lot_id: str | uuid.UUID, name: str = "lot") -> Lot:
    lot = Lot.objects.filter(pk=lot_id, clinic_id=session.clinic_id).first()
    if lot is None:
        raise InvalidInput("No such lot in this clinic.", field=name)
    return lot


def preparation_of(session: TreatmentSession, prep_id: str | uuid.UUID) -> MixturePreparation:
    prep = MixturePreparation.objects.filter(pk=prep_id, clinic_id=session.clinic_id).first()
    if prep is None:
        raise InvalidInput("No such mixture preparation in this clinic.", field="preparation")
    return prep


def do_set_brush(
    actor: User, session: TreatmentSession, data: Mapping[str, Any]
) -> TreatmentSession:
    library = library_for(session.clinic)
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        session.brush = clean_brush(library, session, data)
        session.save(update_fields=["brush"])
        record(
            "session.brush",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"brush": session.brush},
        )
    return session


# --- chart entries ----------------------------------------------------------------------


def _entry_from_brush(
    session: TreatmentSession, brush: Mapping[str, Any], actor: User
) -> ChartEntry:
    entry = ChartEntry(
        organisation_id=session.organisation_id,
        clinic_id=session.clinic_id,
        session=session,
        kind=brush.get("kind") or EntryKind.INJECTION,
        technique=brush.get("technique", ""),
        created_by=actor,
    )
    if brush.get("preparation"):
        prep = preparation_of(session, brush["preparation"])
        entry.preparation = prep
        entry.product = prep.mixture
    elif brush.get("lot"):
        lot = lot_of(session, brush["lot"])
        entry.lot = lot
        entry.product = lot.product
    for name in ("volume_ml", "depth_mm", "needle_length_mm"):
        if brush.get(name) not in (None, ""):
            setattr(entry, name, Decimal(str(brush[name])))
    for name in ("needle_gauge", "angle_deg", "passes"):
        if brush.get(name) not in (None, ""):
            setattr(entry, name, int(brush[name]))
    for name in ("device", "device_lot", "endpoint", "energy"):
        setattr(entry, name, str(brush.get(name) or ""))
    entry.test_spot = bool(brush.get("test_spot"))
    if brush.get("topical_lot"):
        entry.topical_lot = lot_of(session, brush["topical_lot"], "topical_lot")
    return entry


def _next_position(session: TreatmentSession) -> int:
    last = session.entries.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 1


def _coordinate(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number between 0 and 1.", field=name) from None
    if not 0.0 <= number <= 1.0:
        raise InvalidInput(f"{name} must be between 0 and 1.", field=name)
    return round(number, 4)


def resolve_zone(view: str, x: Any, y: Any) -> tuple[float, float, str]:
    """Normalised coordinates and the zone under them (server-side, from the map data)."""
    if view not in maps.VIEWS:
        raise InvalidInput(f"Unknown map view {view!r}.", field="view")
    fx, fy = _coordinate(x, "x"), _coordinate(y, "y")
    zone = maps.zone_at(view, fx, fy)
    if zone is None:
        raise InvalidInput("That point is outside every treatment zone of the map.", field="zone")
    return fx, fy, zone


def do_add_point(
    actor: User, session: TreatmentSession, *, view: str, x: Any, y: Any
) -> ChartEntry:
    """One point where the clinician clicked, with the brush's lot, volume, depth, needle."""
    fx, fy, zone = resolve_zone(view, x, y)
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        entry = _entry_from_brush(session, session.brush, actor)
        entry.view, entry.x, entry.y, entry.zone, entry.points = view, fx, fy, zone, 1
        entry.position = _next_position(session)
        entry.save(force_insert=True)
        if _needs_supply(entry):
            _sync_supplies(session)
        record(
            "session.point_add",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={
                "entry": str(entry.pk),
                "zone": zone,
                "x": fx,
                "y": fy,
                "lot": str(entry.lot_id or ""),
                "volume_ml": str(entry.volume_ml or ""),
            },
        )
    return entry


def do_add_zone_entry(
    actor: User, session: TreatmentSession, data: Mapping[str, Any]
) -> ChartEntry:
    """A whole-zone entry (nappage over the forehead, a roller over a cheek): the brush's
    settings with the zone and number of points given."""
    library = library_for(session.clinic)
    zone = str(data.get("zone") or "").strip()
    if zone not in library.zones:
        raise InvalidInput("Choose a zone.", field="zone")
    try:
        points = int(str(data.get("points") or "1"))
    except ValueError:
        raise InvalidInput("The number of points must be a whole number.", field="points") from None
    if not 1 <= points <= 10000:
        raise InvalidInput("The number of points must be between 1 and 10000.", field="points")
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        brush = clean_brush(library, session, {**session.brush, **dict(data)})
        entry = _entry_from_brush(session, brush, actor)
        entry.zone, entry.points = zone, points
        entry.note = str(data.get("note") or "").strip()[:200]
        entry.position = _next_position(session)
        entry.save(force_insert=True)
        _sync_supplies(session)
        record(
            "session.entry_add",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"entry": str(entry.pk), "zone": zone, "points": points},
        )
    return entry


def do_move_point(actor: User, entry: ChartEntry, *, view: str, x: Any, y: Any) -> ChartEntry:
    fx, fy, zone = resolve_zone(view, x, y)
    with transaction.atomic():
        session = _locked(entry.session)
        _editable(session)
        entry = ChartEntry.objects.get(pk=entry.pk)
        if entry.x is None:
            raise InvalidInput("A zone entry has no point to move.", field="entry")
        before = (entry.zone, entry.x, entry.y)
        entry.view, entry.x, entry.y, entry.zone = view, fx, fy, zone
        entry.save(update_fields=["view", "x", "y", "zone"])
        record(
            "session.point_move",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"entry": str(entry.pk), "from": list(before), "to": [zone, fx, fy]},
        )
    return entry


def do_delete_entry(actor: User, entry: ChartEntry) -> None:
    with transaction.atomic():
        session = _locked(entry.session)
        _editable(session)
        details = {"entry": str(entry.pk), "zone": entry.zone, "points": entry.points}
        ChartEntry.objects.filter(pk=entry.pk).delete()
        if _needs_supply(entry):
            _sync_supplies(session)
        record(
            "session.entry_delete",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details=details,
        )


def _counted(lot: Lot) -> bool:
    return lot.unit != Unit.ML


def _needs_supply(entry: ChartEntry) -> bool:
    """Whether the entry's lots are counted as supplies (see ``_sync_supplies``)."""
    return entry.topical_lot_id is not None or (entry.lot is not None and _counted(entry.lot))


def _sync_supplies(session: TreatmentSession) -> None:
    """Lots whose use is not a charted volume (injection lots counted in vials or
    syringes, microneedling topicals) get one supply row while charted: 1 in the lot's
    unit by default, which the clinician corrects before signing."""
    lots: set[uuid.UUID] = set()
    for e in session.entries.select_related("lot", "topical_lot"):
        if e.lot is not None and _counted(e.lot):
            lots.add(e.lot.pk)
        if e.topical_lot is not None:
            lots.add(e.topical_lot.pk)
    session.supplies.exclude(lot_id__in=lots).delete()
    have = set(session.supplies.values_list("lot_id", flat=True))
    for lot_id in lots - have:
        SessionSupply.objects.create(session=session, lot_id=lot_id, quantity=Decimal(1))


def do_set_supply(
    actor: User, session: TreatmentSession, lot_id: uuid.UUID, quantity: Any
) -> SessionSupply:
    try:
        qty = Decimal(str(quantity))
    except (InvalidOperation, ValueError):
        raise InvalidInput("The quantity must be a number.", field="quantity") from None
    if not qty.is_finite() or qty <= 0 or qty > 1000:
        raise InvalidInput("The quantity must be more than 0.", field="quantity")
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        supply = session.supplies.filter(lot_id=lot_id).first()
        if supply is None:
            raise InvalidInput("That lot is not charted in this session.", field="lot")
        supply.quantity = qty.quantize(Decimal("0.01"))
        supply.save(update_fields=["quantity"])
        record(
            "session.supply",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"lot": str(lot_id), "quantity": str(supply.quantity)},
        )
    return supply


def do_prepare_mixture(
    actor: User, session: TreatmentSession, mixture: str, components: Mapping[str, Any]
) -> MixturePreparation:
    """Draw up a library mixture at the chair for this session: ``components`` maps each
    component lot id to the quantity taken (in the lot's unit). The lots are consumed now
    (stock's ``do_prepare_mixture``); the next points use the mixture."""
    library = library_for(session.clinic)
    if mixture not in library.protocols[session.protocol].mixtures:
        raise InvalidInput("This protocol has no such mixture.", field="mixture")
    parts = []
    for lot_id, raw in components.items():
        lot = lot_of(session, lot_id, "components")
        try:
            quantity = Decimal(str(raw).strip().replace(",", "."))
        except (InvalidOperation, ValueError):
            raise InvalidInput("Each quantity must be a number.", field="components") from None
        parts.append((lot, quantity))
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        prep = stock.do_prepare_mixture(actor, session.clinic, mixture, parts)
        session.preparations.add(prep)
        session.brush = {**session.brush, "preparation": str(prep.pk)}
        session.brush.pop("lot", None)
        session.save(update_fields=["brush"])
        record(
            "session.mixture",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"preparation": str(prep.pk), "mixture": mixture},
        )
    return prep


# --- packs and single-use items ---------------------------------------------------------


def do_add_pack(actor: User, session: TreatmentSession, code: str) -> SessionPack:
    """Add a pack by its label code (scanned or typed). Its state is checked by the engine
    on every change and by sterility when the session is signed."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("Scan or type the pack id.", field="pack")
    pack = Pack.objects.filter(clinic_id=session.clinic_id, code__iexact=code).first()
    if pack is None:
        raise InvalidInput(f"No pack {code!r} in this clinic.", field="pack")
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        if session.packs.filter(pack=pack).exists():
            raise InvalidInput(f"Pack {pack.code} is already on this session.", field="pack")
        row = SessionPack.objects.create(session=session, pack=pack, added_by=actor)
        record(
            "session.pack_add",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"pack": pack.code},
        )
    return row


def do_remove_pack(actor: User, row: SessionPack) -> None:
    with transaction.atomic():
        session = _locked(row.session)
        _editable(session)
        code = row.pack.code
        row.delete()
        record(
            "session.pack_remove",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"pack": code},
        )


def do_add_item(
    actor: User, session: TreatmentSession, item_lot_id: Any, serial: str = ""
) -> SessionItem:
    item_lot = SterileItemLot.objects.filter(pk=item_lot_id, clinic_id=session.clinic_id).first()
    if item_lot is None:
        raise InvalidInput("Choose a single-use item lot.", field="item_lot")
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        row = SessionItem.objects.create(
            session=session,
            item_lot=item_lot,
            serial=(serial or "").strip()[:40],
            added_by=actor,
        )
        record(
            "session.item_add",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"item_lot": str(item_lot.pk), "serial": row.serial},
        )
    return row


def do_remove_item(actor: User, row: SessionItem) -> None:
    with transaction.atomic():
        session = _locked(row.session)
        _editable(session)
        row.delete()
        record(
            "session.item_remove",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"item": str(row.pk)},
        )


# --- the safety check ---------------------------------------------------------------------


def pack_status(pack: Pack) -> str:
    """The contract's pack status: released, quarantined (load not released) or failed."""
    if pack.status == PackStatus.SUSPECT or pack.cycle.status == CycleStatus.FAILED:
        return "failed"
    if pack.cycle.status != CycleStatus.RELEASED:
        return "quarantined"
    return "released"


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != ""}


def session_entries(session: TreatmentSession) -> list[ChartEntry]:
    return list(
        session.entries.select_related("lot", "topical_lot", "preparation").order_by(
            "position", "created_at"
        )
    )


def engine_input(
    session: TreatmentSession,
    entries: list[ChartEntry] | None = None,
    packs: list[SessionPack] | None = None,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The check-session contract's JSON for this session as charted now."""
    at = at or timezone.now()
    entries = session_entries(session) if entries is None else entries
    packs = list(session.packs.select_related("pack__cycle")) if packs is None else packs
    patient = session.patient
    subject = engine_patient(patient)
    injections: list[dict[str, Any]] = []
    needling: list[dict[str, Any]] = []
    for entry in entries:
        if entry.kind == EntryKind.INJECTION:
            row = _drop_none(
                {
                    "zone": entry.zone,
                    "product": entry.product or None,
                    "lot": entry.lot.lot_number if entry.lot else None,
                    "expiry": entry.lot.expiry.isoformat() if entry.lot else None,
                    "technique": entry.technique or None,
                    "points": entry.points,
                    "volume_ml": _num(entry.volume_ml),
                    "depth_mm": _num(entry.depth_mm),
                    "needle_gauge": entry.needle_gauge,
                    "needle_length_mm": _num(entry.needle_length_mm),
                }
            )
            if entry.preparation is not None:
                row["lot"] = f"PREP-{str(entry.preparation.pk)[:8]}"
                row["components"] = preparation_components(entry.preparation)
            if not entry.product:
                row["product"] = "?"
            injections.append(row)
        elif entry.kind == EntryKind.MICRONEEDLING:
            topicals = []
            if entry.topical_lot is not None:
                topicals.append(
                    {
                        "product": entry.topical_lot.product,
                        "lot": entry.topical_lot.lot_number,
                        "expiry": entry.topical_lot.expiry.isoformat(),
                    }
                )
            needling.append(
                _drop_none(
                    {
                        "zone": entry.zone,
                        "device": entry.device or None,
                        "needle_length_mm": _num(entry.needle_length_mm),
                        "passes": entry.passes,
                        "device_lot": entry.device_lot or None,
                        "topicals": topicals,
                    }
                )
            )
    return {
        "date": local_day(session.clinic, session.started_at or at).isoformat(),
        "protocol": session.protocol,
        "patient": _drop_none(
            {
                "birth_date": subject.birth_date.isoformat(),
                "sex": subject.sex,
                "pregnant": subject.pregnant,
                "breastfeeding": subject.breastfeeding,
                "bmi": subject.bmi,
                "fitzpatrick": subject.fitzpatrick,
                "conditions": list(subject.conditions),
                "medications": list(subject.medications),
                "allergies": list(subject.allergies),
                "isotretinoin_last_dose": subject.isotretinoin_last_dose.isoformat()
                if subject.isotretinoin_last_dose
                else None,
            }
        ),
        "consents": consent_codes(patient, at, session.protocol),
        "history": [
            {
                "date": h.date.isoformat(),
                "protocol": h.protocol,
                "zones": list(h.zones),
                "adverse_events": list(h.adverse_events),
            }
            for h in history_for(patient, exclude=session)
        ],
        "injections": injections,
        "microneedling": needling,
        "instrument_packs": [
            _drop_none(
                {
                    "id": p.pack.code,
                    "status": pack_status(p.pack),
                    "expires": p.pack.expires_on.isoformat() if p.pack.expires_on else None,
                }
            )
            for p in packs
        ],
    }


def engine_paths(entries: Iterable[ChartEntry]) -> dict[uuid.UUID, str]:
    """Each entry's JSON path in ``engine_input`` (``injections[2]``, ``microneedling[0]``),
    so a finding's ``where`` leads back to the entry it concerns."""
    paths: dict[uuid.UUID, str] = {}
    counts = {EntryKind.INJECTION: 0, EntryKind.MICRONEEDLING: 0}
    for entry in entries:
        if entry.kind in counts:
            kind = EntryKind(entry.kind)
            paths[entry.pk] = (
                f"{'injections' if kind == EntryKind.INJECTION else 'microneedling'}[{counts[kind]}]"
            )
            counts[kind] += 1
    return paths


def concerns(where: str, path: str) -> bool:
    """Whether a finding at ``where`` is about the JSON node ``path`` or inside it."""
    return where == path or where.startswith((path + ".", path + "["))


def preparation_components(prep: MixturePreparation) -> list[dict[str, Any]]:
    from mesochart.stock.models import MovementKind

    return [
        {"product": m.lot.product, "lot": m.lot.lot_number, "expiry": m.lot.expiry.isoformat()}
        for m in prep.movements.filter(kind=MovementKind.MIXED).select_related("lot")
        if m.lot is not None
    ]


@dataclass
class Check:
    """The engine's result plus what the clinic's own records add, and the overrides."""

    result: Result | None
    findings: list[dict[str, Any]]
    verdict: str
    error: dict[str, str] | None = None
    engine_input: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> list[dict[str, Any]]:
        """Findings that stop signing: blocks and warnings not overridden."""
        return [
            f for f in self.findings if f["severity"] in ("block", "warn") and not f.get("override")
        ]


def _record_findings(
    session: TreatmentSession, entries: list[ChartEntry], packs: list[SessionPack], at: datetime
) -> list[dict[str, Any]]:
    """Findings from the clinic's records the contract's JSON cannot carry: lot status,
    stock on hand, packs already used, consents the protocol needs."""
    out: list[dict[str, Any]] = []
    lots: dict[uuid.UUID, Lot] = {}
    need: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    paths = engine_paths(entries)
    for entry in entries:
        base = paths.get(entry.pk, "entries")
        lot_paths = ((entry.lot, f"{base}.lot"), (entry.topical_lot, f"{base}.topicals[0].lot"))
        for lot, path in lot_paths:
            if lot is None:
                continue
            lots[lot.pk] = lot
            if lot.status != LotStatus.AVAILABLE:
                out.append(
                    {
                        "code": f"lot.{lot.status}",
                        "severity": "block",
                        "message": f"Lot {lot.lot_number} of {lot.product} is {lot.status}: "
                        "it may not be used.",
                        "evidence": "S",
                        "source": "Clinic stock record (lot status set by a manager or recall)",
                        "where": path,
                        "overridable": False,
                    }
                )
        if entry.lot is not None and not _counted(entry.lot) and entry.volume_ml is not None:
            need[entry.lot.pk] += entry.volume_ml * entry.points
    for lot_id, ml in need.items():
        on_hand = lots[lot_id].on_hand_now()
        if ml > on_hand:
            lot = lots[lot_id]
            out.append(
                {
                    "code": "stock.insufficient",
                    "severity": "block",
                    "message": f"{ml} mL of lot {lot.lot_number} charted; {on_hand} mL on hand.",
                    "evidence": "S",
                    "source": "Clinic stock record",
                    "where": "injections",
                    "overridable": False,
                }
            )
    for p in packs:
        if p.pack.used_at is not None or p.pack.status == PackStatus.USED:
            out.append(
                {
                    "code": "sterility.pack_used",
                    "severity": "block",
                    "message": f"Pack {p.pack.code} was already opened for a procedure: "
                    "reprocess it.",
                    "evidence": "S",
                    "source": "Clinic sterilisation record (one pack, one procedure)",
                    "where": "instrument_packs",
                    "overridable": False,
                }
            )
    missing = missing_for_protocol(session.patient, session.protocol, at)
    if "off_label" in missing:
        out.append(
            {
                "code": "consent.off_label_missing",
                "severity": "block",
                "message": "This protocol is off label: an off-label consent must be signed.",
                "evidence": "S",
                "source": "Consent policy (docs/consent.md): off-label protocols need "
                "an off-label consent",
                "where": "consents",
                "overridable": False,
            }
        )
    return out


def run_check(
    session: TreatmentSession,
    *,
    at: datetime | None = None,
    entries: list[ChartEntry] | None = None,
) -> Check:
    """The live safety check of the session as charted now (engine + clinic records),
    with each finding's override attached when a prescriber made one. ``entries``: the
    session's entries when the caller already loaded them (``session_entries``)."""
    at = at or timezone.now()
    entries = session_entries(session) if entries is None else entries
    packs = list(session.packs.select_related("pack__cycle"))
    data = engine_input(session, entries, packs, at=at)
    library = library_for(session.clinic)
    try:
        result = check_session(data, library=library)
    except EngineInvalidInput as exc:
        return Check(
            None,
            [],
            "invalid",
            {"error": exc.message, "field": exc.field},
            data,
        )
    findings = [f.as_dict() for f in result.findings]
    findings += _record_findings(session, entries, packs, at)
    overrides = {(o.code, o.where): o for o in session.overrides.select_related("by")}
    for f in findings:
        o = overrides.get((f["code"], f["where"]))
        if o is not None and f["overridable"]:
            f["override"] = {
                "by": o.by.display_name,
                "reason": o.reason,
                "at": o.at.isoformat(),
            }
    rank = {"ok": 0, "info": 0, "warn": 1, "block": 2}
    verdict = "ok"
    for f in findings:
        if rank[f["severity"]] > rank[verdict]:
            verdict = f["severity"]
    return Check(result, findings, verdict, None, data)


def do_override(
    actor: User, session: TreatmentSession, *, code: str, where: str, reason: str
) -> SessionOverride:
    """A prescriber's reasoned decision to proceed despite an overridable finding."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput("Give the clinical reason for the override.", field="reason")
    with transaction.atomic():
        session = _locked(session)
        _editable(session)
        check = run_check(session)
        finding = next(
            (f for f in check.findings if f["code"] == code and f["where"] == where), None
        )
        if finding is None:
            raise InvalidInput("That finding is no longer raised.", field="code")
        if not finding["overridable"]:
            raise NotAllowed(
                f"{code} is a {finding['evidence']}-level {finding['severity']}: "
                "label and standard limits cannot be overridden.",
                field="code",
            )
        row, _ = SessionOverride.objects.update_or_create(
            session=session,
            code=code,
            where=where,
            defaults={
                "severity": finding["severity"],
                "message": finding["message"],
                "reason": reason,
                "by": actor,
                "at": timezone.now(),
            },
        )
        record(
            "session.override",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={
                "code": code,
                "where": where,
                "severity": finding["severity"],
                "message": finding["message"],
                "reason": reason,
            },
        )
    return row


# --- totals -----------------------------------------------------------------------------


@dataclass
class Totals:
    by_product: list[dict[str, Any]]
    by_zone: list[dict[str, Any]]
    points: int
    limits: list[dict[str, Any]]


def totals(session: TreatmentSession, entries: list[ChartEntry] | None = None) -> Totals:
    """Volume and points per product and per zone, with the protocol's per-session limits."""
    entries = session_entries(session) if entries is None else entries
    library = library_for(session.clinic)
    by_product: dict[str, dict[str, Any]] = {}
    by_zone: dict[str, dict[str, Any]] = {}
    count = 0
    for e in entries:
        ml = e.total_ml or Decimal(0)
        key = e.product or e.kind
        p = by_product.setdefault(
            key,
            {
                "product": key,
                "name": _product_name(library, key),
                "ml": Decimal(0),
                "points": 0,
                "lots": set(),
            },
        )
        p["ml"] += ml
        p["points"] += e.points
        if e.lot is not None:
            p["lots"].add(e.lot.lot_number)
        z = by_zone.setdefault(
            e.zone,
            {
                "zone": e.zone,
                "name": library.zones[e.zone].name if e.zone in library.zones else e.zone,
                "ml": Decimal(0),
                "points": 0,
            },
        )
        z["ml"] += ml
        z["points"] += e.points
        count += e.points
    for p in by_product.values():
        p["lots"] = sorted(p["lots"])
    limits = [
        {
            "id": param.id,
            "label": param.id.rsplit(".", 1)[-1].replace("_", " "),
            "value": param.value,
            "unit": param.unit,
            "evidence": param.evidence,
            "source": param.source,
        }
        for param in library.dose_limits_for(session.protocol)
    ]
    return Totals(
        sorted(by_product.values(), key=lambda r: r["product"]),
        sorted(by_zone.values(), key=lambda r: r["zone"]),
        count,
        limits,
    )


def _product_name(library: Library, code: str) -> str:
    if code in library.products:
        return library.products[code].name
    if code in library.mixtures:
        return library.mixtures[code].name
    return code


# --- signing ------------------------------------------------------------------------------


def needs_cosign(
    library: Library, session: TreatmentSession, entries: Iterable[ChartEntry]
) -> bool:
    """A prescription-only product charted (or the protocol's products are)."""
    codes = {e.product for e in entries if e.product}
    if not codes:
        codes = set(library.protocols[session.protocol].products)
    for code in codes:
        product = library.products.get(code)
        if product is not None and product.prescription_only:
            return True
        mixture = library.mixtures.get(code)
        if mixture is not None and any(
            library.products[c].prescription_only
            for c in mixture.components
            if c in library.products
        ):
            return True
    return False


def _quantity(entry: ChartEntry) -> Decimal:
    assert entry.volume_ml is not None
    qty = (entry.volume_ml * entry.points).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return max(qty, Decimal("0.01"))


def do_sign_session(
    actor: User, membership: Membership, session: TreatmentSession
) -> TreatmentSession:
    """Sign: re-check, then consume stock, packs and items and create the follow-ups, all in
    one transaction. Refuses (``SessionBlocked``) with every reason at once."""
    if membership.role not in (Role.PRACTITIONER, Role.PRESCRIBER):
        raise NotAllowed("Signing needs a practitioner or a prescriber.", field="session")
    with transaction.atomic():
        session = _locked(session)
        if session.status != SessionStatus.IN_PROGRESS:
            raise Conflict(
                f"Only a session in progress can be signed; this one is "
                f"{session.get_status_display().lower()}.",
                field="session",
            )
        now = timezone.now()
        check = run_check(session, at=now)
        entries = session_entries(session)
        reasons = []
        if check.error is not None:
            reasons.append(f"{check.error['field']}: {check.error['error']}")
        if not entries:
            reasons.append("Nothing is charted.")
        for e in entries:
            if e.kind == EntryKind.INJECTION:
                if e.lot is None and e.preparation is None:
                    reasons.append(f"{e.zone}: choose the product lot.")
                if e.volume_ml is None:
                    reasons.append(f"{e.zone}: record the volume per point.")
        for f in check.blocking:
            tail = "" if f["severity"] == "block" else " (a prescriber may override it)"
            reasons.append(f"{f['message']}{tail}")
        if reasons:
            raise SessionBlocked("This session cannot be signed yet.", sorted(set(reasons)))
        _consume(actor, session, entries, now)
        library = library_for(session.clinic)
        session.status = SessionStatus.SIGNED
        session.signed_at = now
        session.signed_by = actor
        session.check_input = check.engine_input
        session.check_result = {
            "verdict": check.verdict,
            "engine_version": ENGINE_VERSION,
            "findings": check.findings,
        }
        session.cosign_required = needs_cosign(library, session, entries)
        if session.cosign_required and membership.role == Role.PRESCRIBER:
            session.cosigned_at, session.cosigned_by = now, actor
        session.save(
            update_fields=[
                "status",
                "signed_at",
                "signed_by",
                "check_input",
                "check_result",
                "cosign_required",
                "cosigned_at",
                "cosigned_by",
            ]
        )
        follow_ups = _create_follow_ups(library, session)
        record(
            "session.sign",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={
                "verdict": check.verdict,
                "entries": len(entries),
                "points": sum(e.points for e in entries),
                "overrides": [f["code"] for f in check.findings if f.get("override")],
                "follow_ups": [f.kind for f in follow_ups],
                "cosign_required": session.cosign_required,
            },
        )
    return session


def _consume(
    actor: User, session: TreatmentSession, entries: list[ChartEntry], now: datetime
) -> None:
    clinic, patient = session.clinic, session.patient
    for e in entries:
        if e.preparation is not None and e.volume_ml is not None:
            stock.do_administer_preparation(
                actor,
                clinic,
                e.preparation,
                patient,
                _quantity(e),
                e.zone,
                occurred_at=now,
                session_ref=session.pk,
                entry_ref=e.pk,
            )
        elif e.lot is not None and not _counted(e.lot) and e.volume_ml is not None:
            stock.do_administer(
                actor,
                clinic,
                e.lot,
                patient,
                _quantity(e),
                e.zone,
                occurred_at=now,
                session_ref=session.pk,
                entry_ref=e.pk,
            )
    first_entry: dict[uuid.UUID, ChartEntry] = {}
    for e in entries:
        for lot in (e.lot, e.topical_lot):
            if lot is not None and lot.pk not in first_entry:
                first_entry[lot.pk] = e
    for supply in session.supplies.select_related("lot"):
        entry = first_entry.get(supply.lot_id)
        stock.do_administer(
            actor,
            clinic,
            supply.lot,
            patient,
            supply.quantity,
            entry.zone if entry else "",
            occurred_at=now,
            session_ref=session.pk,
            entry_ref=entry.pk if entry else None,
        )
    for row in session.packs.select_related("pack"):
        sterility.do_use_pack(actor, clinic, row.pack, patient, now, session_ref=session.pk)
    for item in session.items.select_related("item_lot"):
        sterility.do_use_single_use_item(
            actor,
            clinic,
            item.item_lot,
            item.serial or None,
            patient,
            now,
            session_ref=session.pk,
        )


def _create_follow_ups(library: Library, session: TreatmentSession) -> list[FollowUp]:
    day = session_day(session)
    early = library.followups["early_check_days"]
    surveillance = library.followups["infection_surveillance_days"]
    rows = [
        FollowUp(
            kind=FollowUpKind.EARLY_CHECK,
            due=day + timedelta(days=int(early.number)),
            note=early.note or "Safety and comfort check: swelling, pain, redness, lumps.",
            evidence=early.evidence,
            source=early.source,
        ),
        FollowUp(
            kind=FollowUpKind.INFECTION_SURVEILLANCE,
            due=day,
            window_end=day + timedelta(days=int(surveillance.number)),
            note="Ask about lumps, pus and sites that do not heal until the window ends "
            "(late mycobacterial infection).",
            evidence=surveillance.evidence,
            source=surveillance.source,
        ),
    ]
    history = [
        session_day(s) for s in signed_sessions(session.patient) if s.protocol == session.protocol
    ]
    course = plan_course(session.protocol, day, history, library=library)
    nxt = [s for s in course.schedule if s.typical > day]
    if nxt:
        rows.append(
            FollowUp(
                kind=FollowUpKind.NEXT_SESSION,
                due=nxt[0].typical,
                note=f"Session {nxt[0].number} of the course; not before "
                f"{nxt[0].earliest:%d %b %Y} (minimum interval).",
                evidence=library.protocols[session.protocol].course.typical_interval_days.evidence,
                source=library.protocols[session.protocol].course.typical_interval_days.source,
            )
        )
    timeline = library.protocols[session.protocol].timeline
    if course.sessions_done == 1:
        p = timeline.first_assessment_days
        rows.append(
            FollowUp(
                kind=FollowUpKind.FIRST_ASSESSMENT,
                due=day + timedelta(days=int(p.number)),
                note="First result assessment: standard photos and scores.",
                evidence=p.evidence,
                source=p.source,
            )
        )
    if not nxt:
        p = timeline.final_assessment_days
        rows.append(
            FollowUp(
                kind=FollowUpKind.FINAL_ASSESSMENT,
                due=day + timedelta(days=int(p.number)),
                note="Final result assessment after the last session of the course.",
                evidence=p.evidence,
                source=p.source,
            )
        )
    # A new signed session supersedes the previous session's open next-session reminder.
    FollowUp.objects.filter(
        patient=session.patient,
        kind=FollowUpKind.NEXT_SESSION,
        status=FollowUpStatus.OPEN,
        session__protocol=session.protocol,
    ).update(
        status=FollowUpStatus.DONE,
        done_at=session.signed_at,
        outcome_note="Superseded by the next signed session.",
    )
    for row in rows:
        row.organisation_id = session.organisation_id
        row.clinic_id = session.clinic_id
        row.patient_id = session.patient_id
        row.session = session
        row.save(force_insert=True)
    return rows


def do_cosign(actor: User, membership: Membership, session: TreatmentSession) -> TreatmentSession:
    if membership.role != Role.PRESCRIBER:
        raise NotAllowed("Only a prescriber co-signs.", field="session")
    with transaction.atomic():
        session = _locked(session)
        if not session.awaiting_cosign:
            raise Conflict("This session does not await a co-signature.", field="session")
        if session.signed_by_id == actor.pk:
            raise Conflict("A co-signature comes from a second clinician.", field="session")
        session.cosigned_at = timezone.now()
        session.cosigned_by = actor
        session.save(update_fields=["cosigned_at", "cosigned_by"])
        record("session.cosign", actor=actor, clinic=session.clinic, obj=session, details={})
    return session


def do_add_addendum(actor: User, session: TreatmentSession, text: str) -> SessionAddendum:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("The addendum may not be empty.", field="text")
    with transaction.atomic():
        session = _locked(session)
        if session.status != SessionStatus.SIGNED:
            raise Conflict("Addenda are for signed sessions; edit the chart instead.", field="text")
        row = SessionAddendum.objects.create(
            session=session, text=text, author=actor, created_at=timezone.now()
        )
        record(
            "session.addendum",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"addendum": str(row.pk), "text": text},
        )
    return row


# --- follow-ups ----------------------------------------------------------------------------


def do_complete_follow_up(actor: User, follow_up: FollowUp, note: str = "") -> FollowUp:
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if follow_up.status != FollowUpStatus.OPEN:
            raise Conflict("This follow-up is already closed.", field="status")
        follow_up.status = FollowUpStatus.DONE
        follow_up.done_at = timezone.now()
        follow_up.done_by = actor
        follow_up.outcome_note = (note or "").strip()
        follow_up.save(update_fields=["status", "done_at", "done_by", "outcome_note"])
        record(
            "followup.done",
            actor=actor,
            clinic=follow_up.clinic,
            obj=follow_up,
            details={"kind": follow_up.kind, "note": follow_up.outcome_note},
        )
    return follow_up


@dataclass
class FollowUpBoard:
    due: list[FollowUp]
    upcoming: list[FollowUp]
    surveillance: list[FollowUp]
    awaiting_cosign: list[TreatmentSession]
    today_sessions: list[TreatmentSession]


def follow_up_board(clinic: Clinic, today: date | None = None) -> FollowUpBoard:
    """What the dashboard lists: due today or overdue, the next week, open surveillance
    windows, sessions awaiting a co-signature and today's sessions (five queries)."""
    today = today or clinic.local_now().date()
    open_ = FollowUp.objects.filter(clinic=clinic, status=FollowUpStatus.OPEN).select_related(
        "patient", "session"
    )
    surveillance_kind = FollowUpKind.INFECTION_SURVEILLANCE
    due = list(
        open_.exclude(kind=surveillance_kind).filter(due__lte=today)
        | open_.filter(kind=surveillance_kind, window_end__lte=today)
    )
    due.sort(key=lambda f: (f.window_end or f.due) if f.kind == surveillance_kind else f.due)
    upcoming = list(
        open_.exclude(kind=surveillance_kind).filter(
            due__gt=today, due__lte=today + timedelta(days=7)
        )
    )
    surveillance = list(
        open_.filter(kind=surveillance_kind, window_end__gt=today).order_by("window_end")
    )
    cosign = list(
        TreatmentSession.objects.filter(
            clinic=clinic,
            status=SessionStatus.SIGNED,
            cosign_required=True,
            cosigned_at__isnull=True,
        ).select_related("patient", "signed_by")
    )
    sessions = list(
        TreatmentSession.objects.filter(clinic=clinic, scheduled_for=today)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient")
    )
    return FollowUpBoard(due, upcoming, surveillance, cosign, sessions)
