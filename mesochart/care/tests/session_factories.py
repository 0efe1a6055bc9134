"""Building blocks for the session tests: lots, packs and charted sessions, all made
through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from mesochart.accounts.models import Clinic, User
from mesochart.care import maps, sessions
from mesochart.care.models import TreatmentSession
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


def started(
    clinic: Clinic, actor: User, patient: Patient, protocol: str = "submental-dca"
) -> TreatmentSession:
    session = sessions.do_create_session(
        actor, clinic, patient, protocol=protocol, scheduled_for=clinic.local_now().date()
    )
    return sessions.do_start_session(actor, session)


def dca_session(
    clinic: Clinic, actor: User, patient: Patient, lot: Lot, points: int = 0, **brush: Any
) -> TreatmentSession:
    session = started(clinic, actor, patient)
    session = sessions.do_set_brush(actor, session, {**DCA_BRUSH, "lot": str(lot.pk), **brush})
    add_points(actor, session, points)
    return session


def add_points(actor: User, session: TreatmentSession, n: int, zone: str = "submental") -> None:
    x, y = maps.zone_centroid("face", zone)
    for _ in range(n):
        sessions.do_add_point(actor, session, view="face", x=x, y=y)


def codes(session: TreatmentSession) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in sessions.run_check(session).findings}
