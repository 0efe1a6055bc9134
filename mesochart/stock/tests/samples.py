"""Objects of ``clinic`` for every id parameter of the stock URLs (see the URL walker)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from mesochart.stock import services


def url_samples(clinic, staff, patient) -> dict[str, Any]:
    manager = staff["manager"]
    fridge = services.do_create_fridge(manager, clinic, "Walker fridge")
    lot = services.do_receive_lot(
        manager,
        clinic,
        product="ha-skin-booster",
        lot_number="WALK-1",
        expiry=clinic.today() + timedelta(days=90),
        quantity=Decimal("5"),
        unit="syringe",
        fridge=fridge,
    )
    container = services.do_open_container(manager, clinic, lot)
    return {"lot_id": lot.pk, "fridge_id": fridge.pk, "container_id": container.pk}
