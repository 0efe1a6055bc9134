from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mesochart.stock import services
from mesochart.stock.models import Fridge, Lot


@pytest.fixture
def manager(staff):
    return staff["manager"]


@pytest.fixture
def practitioner(staff):
    return staff["practitioner"]


@pytest.fixture
def fridge(clinic, manager) -> Fridge:
    return services.do_create_fridge(manager, clinic, "Main fridge")


@pytest.fixture
def today(clinic):
    return clinic.today()


@pytest.fixture
def make_lot(clinic, manager, fridge, today) -> Callable[..., Lot]:
    counter = {"n": 0}

    def make(**overrides: Any) -> Lot:
        counter["n"] += 1
        data: dict[str, Any] = {
            "product": "ha-skin-booster",
            "lot_number": f"L{counter['n']:03d}",
            "expiry": today + timedelta(days=180),
            "quantity": Decimal("10"),
            "unit": "syringe",
            "storage": "fridge",
            "fridge": fridge,
        }
        data.update(overrides)
        return services.do_receive_lot(manager, clinic, **data)

    return make


@pytest.fixture
def lot(make_lot) -> Lot:
    return make_lot()
