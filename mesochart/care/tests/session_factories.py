"""Building blocks for the session tests: lots, packs, prescriptions and charted sessions,
all made through the services (and, for what the browser sends, through the forms)."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.utils import timezone

from mesochart.accounts.models import Clinic, Membership, Role, User
from mesochart.care import maps
from mesochart.care.forms import BrushForm, first_errors, map_points
from mesochart.care.models import ChartEntry, Prescription, TreatmentSession
from mesochart.care.services import charting, check, lifecycle, plans
from mesochart.errors import InvalidInput
from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.stock import services as stock
from mesochart.stock.models import Lot, Storage, Unit

DCA_BRUSH = {
    "kind": "injection",
    "technique": "point",
    "volume_ml": "0.2",
    "depth_mm": "6",
    "needle_gauge": "30",
    "needle_length_mm": "13",
}


def receive(
    clinic: Clinic,
    actor: User,
    product: str = "dca-10mg-ml",
    lot_number: str = "K1234",
    quantity: str = "20",
    unit: str = Unit.ML,
    days: int = 200,
) -> Lot:
    return stock.do_receive_lot(
        actor,
        clinic,
        product=product,
        lot_number=lot_number,
        expiry=timezone.now().date() + timedelta(days=days),
        quantity=Decimal(quantity),
        unit=unit,
        storage=Storage.ROOM,
    )


def prescriber_of(clinic: Clinic) -> Membership:
    membership = (
        Membership.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True)
        .select_related("user", "clinic")
        .first()
    )
    assert membership is not None, "the clinic needs a prescriber (the staff fixture)"
    return membership


def prescribe(
    clinic: Clinic, patient: Patient, protocol: str = "submental-dca", **changes: Any
) -> Prescription:
    """The clinic's prescriber prescribes ``protocol`` at the label's limits, every
    prescription-only product and every zone of the protocol, for ten sessions."""
    membership = prescriber_of(clinic)
    library = library_for(clinic)
    proto = library.protocols[protocol]
    limits = plans.label_limits(library, protocol)
    fields: dict[str, Any] = {
        "products": tuple(sorted(plans.prescription_products(library, proto.products))),
        "zones": tuple(proto.zones),
        "max_volume_ml": Decimal(str(limits["max_volume_ml"].number))
        if "max_volume_ml" in limits
        else None,
        "max_points": int(limits["max_points"].number) if "max_points" in limits else None,
        "sessions": 10,
        "valid_until": clinic.today() + timedelta(days=60),
        **changes,
    }
    return plans.do_prescribe(
        membership.user, membership, patient, protocol, plans.PrescriptionDraft(**fields)
    )


def started(
    clinic: Clinic, actor: User, patient: Patient, protocol: str = "submental-dca"
) -> TreatmentSession:
    """A session of today, started; a prescription-only protocol is prescribed first."""
    library = library_for(clinic)
    if (
        plans.needs_prescription(library, protocol)
        and plans.active_prescription(patient, protocol, clinic.today()) is None
    ):
        prescribe(clinic, patient, protocol)
    session = lifecycle.do_create_session(
        actor, clinic, patient, protocol=protocol, scheduled_for=clinic.today()
    )
    return lifecycle.do_start_session(actor, session)


def set_brush(actor: User, session: TreatmentSession, data: dict[str, Any]) -> TreatmentSession:
    """The brush through its form, as the chair screen posts it; the form's first error is
    raised as ``InvalidInput`` naming its field."""
    form = BrushForm(data, session=session, library=library_for(session.clinic))
    if not form.is_valid():
        name, message = next(iter(first_errors(form).items()))
        raise InvalidInput(message, field=name)
    return charting.do_set_brush(actor, session, form.brush())


def add_point(
    actor: User, session: TreatmentSession, x: float, y: float, view: str = "face"
) -> ChartEntry:
    return charting.do_add_points(actor, session, [charting.MapPoint(view, x, y)]).entries[0]


def post_points(
    actor: User, session: TreatmentSession, pairs: list[tuple[Any, Any]], view: str = "face"
) -> charting.AddedPoints:
    """Clicks as the browser posts them (strings), through ``map_points``."""
    data = QueryDict(mutable=True)
    data.setlist("view", [view])
    data.setlist("x", [str(x) for x, _y in pairs])
    data.setlist("y", [str(y) for _x, y in pairs])
    return charting.do_add_points(actor, session, map_points(data))


def dca_session(
    clinic: Clinic, actor: User, patient: Patient, lot: Lot, points: int = 0, **brush: Any
) -> TreatmentSession:
    session = started(clinic, actor, patient)
    session = set_brush(actor, session, {**DCA_BRUSH, "lot": str(lot.pk), **brush})
    add_points(actor, session, points)
    return session


def add_points(actor: User, session: TreatmentSession, n: int, zone: str = "submental") -> None:
    if n:
        x, y = maps.zone_centroid("face", zone)
        charting.do_add_points(actor, session, [charting.MapPoint("face", x, y)] * n)


def codes(session: TreatmentSession) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in check.run_check(session).findings}


def override_all(actor: User, session: TreatmentSession, reason: str) -> None:
    """A prescriber overrides every overridable finding that stands (tests of what comes
    after the review)."""
    result = check.run_check(session)
    by_code: dict[str, list[str]] = {}
    for f in result.blocking:
        by_code.setdefault(f["code"], []).append(f["where"])
    for code, wheres in by_code.items():
        charting.do_override(actor, session, code=code, wheres=wheres, reason=reason)


def signed_history(
    patient: Patient, actor: User, n: int, *, protocol: str = "skin-revitalisation"
) -> list[TreatmentSession]:
    """``n`` earlier signed sessions of ``patient``, two months apart, ten entries each,
    written straight to the tables as signing leaves them (a long history, fast)."""
    from datetime import datetime

    from mesochart.care.models import EntryKind, SessionStatus

    now = datetime.now(UTC)
    rows = []
    for k in range(n):
        at = now - timedelta(days=60 * (n - k) + 30)
        rows.append(
            TreatmentSession(
                organisation_id=patient.organisation_id,
                clinic_id=patient.clinic_id,
                patient=patient,
                protocol=protocol,
                scheduled_for=at.date(),
                performed_on=at.date(),
                status=SessionStatus.SIGNED,
                started_at=at,
                signed_at=at,
                started_by=actor,
                signed_by=actor,
                created_by=actor,
                charted_zones=["cheek_left", "forehead"],
                charted_products=["ha-nonxl-vitamins"],
            )
        )
    TreatmentSession.objects.bulk_create(rows)
    ChartEntry.objects.bulk_create(
        ChartEntry(
            organisation_id=patient.organisation_id,
            clinic_id=patient.clinic_id,
            session=s,
            kind=EntryKind.INJECTION,
            zone="cheek_left" if i % 2 else "forehead",
            view="face",
            x=0.5,
            y=0.5,
            product="ha-nonxl-vitamins",
            points=1,
            volume_ml=Decimal("0.02"),
            position=i + 1,
            created_by=actor,
        )
        for s in rows
        for i in range(10)
    )
    return rows
