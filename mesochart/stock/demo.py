"""Demo stock for one clinic: a fridge, eight lots, a few administrations.

Idempotent: keyed by fridge name and lot numbers; a second run changes nothing.
Everything goes through the services, so it is audited like real work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from mesochart.accounts.models import Clinic, User
from mesochart.patients.models import Patient

from . import services
from .models import Fridge, Lot, StockThreshold, Storage, Unit

FRIDGE = "Treatment room fridge"
# (product, lot number, days to expiry, quantity, unit, storage)
LOTS = [
    ("ha-skin-booster", "DEMO-HSB-2401", 20, "10", Unit.SYRINGE, Storage.FRIDGE),
    ("ha-skin-booster", "DEMO-HSB-2407", 300, "20", Unit.SYRINGE, Storage.FRIDGE),
    ("ha-nonxl-vitamins", "DEMO-NXV-118", 200, "12", Unit.VIAL, Storage.ROOM),
    ("ha-nonxl-lidocaine", "DEMO-NXL-077", 240, "12", Unit.SYRINGE, Storage.ROOM),
    ("dca-10mg-ml", "DEMO-DCA-5521", 400, "8", Unit.VIAL, Storage.FRIDGE),
    ("caffeine-deoxycholate", "DEMO-CAF-019", 90, "50", Unit.ML, Storage.FRIDGE),
    ("ha-serum-sterile", "DEMO-SER-330", 150, "15", Unit.VIAL, Storage.ROOM),
    ("methylxanthine-cocktail", "DEMO-MXC-042", 120, "40", Unit.ML, Storage.FRIDGE),
]
QUARANTINED = "DEMO-MXC-042"
ZONES = ["cheek_left", "cheek_right", "forehead", "neck", "submental"]


def load_stock_demo(clinic: Clinic, actor: User, patients: Sequence[Patient]) -> list[Lot]:
    """Create the demo stock of ``clinic`` once; returns its demo lots."""
    with transaction.atomic():
        fridge = Fridge.objects.filter(clinic=clinic, name=FRIDGE).first()
        if fridge is None:
            fridge = services.do_create_fridge(actor, clinic, FRIDGE, "Behind the treatment room")
        today = clinic.today()
        lots: list[Lot] = []
        for product, number, days, quantity, unit, storage in LOTS:
            lot = Lot.objects.filter(clinic=clinic, product=product, lot_number=number).first()
            if lot is None:
                lot = services.do_receive_lot(
                    actor,
                    clinic,
                    product=product,
                    lot_number=number,
                    expiry=today + timedelta(days=days),
                    quantity=Decimal(quantity),
                    unit=unit,
                    storage=storage,
                    fridge=fridge if storage == Storage.FRIDGE else None,
                    supplier="Demo Medical Supplies Ltd",
                )
                _use(actor, clinic, lot, patients)
                if number == QUARANTINED:
                    services.do_quarantine_lot(
                        actor, clinic, lot, "Demo: box arrived warm, awaiting supplier advice"
                    )
            lots.append(lot)
        if not StockThreshold.objects.filter(clinic=clinic, product="ha-skin-booster").exists():
            services.do_set_threshold(actor, clinic, "ha-skin-booster", Decimal("40"))
    return lots


def _use(actor: User, clinic: Clinic, lot: Lot, patients: Sequence[Patient]) -> None:
    amount = Decimal("2") if lot.unit == Unit.ML else Decimal("1")
    for i, patient in enumerate(patients[:3]):
        services.do_administer(actor, clinic, lot, patient, amount, ZONES[i % len(ZONES)])
