"""Two workers racing for the last units: PostgreSQL row locks make one of them wait."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from mesochart.conftest import create_patient, make_user
from mesochart.core.testing import race
from mesochart.stock import services
from mesochart.stock.errors import StockRuleError
from mesochart.stock.models import Lot, MovementKind

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL row locks (select_for_update); SQLite serialises writers anyway"
        )


def test_two_workers_racing_for_the_last_units_never_both_succeed(clinic, organisation):
    manager = make_user("boss", clinic, "manager")
    fridge = services.do_create_fridge(manager, clinic, "F")
    patient = create_patient(clinic, manager)
    for round_ in range(5):
        lot = services.do_receive_lot(
            manager,
            clinic,
            product="ha-skin-booster",
            lot_number=f"RACE-{round_}",
            expiry=clinic.today() + timedelta(days=30),
            quantity=Decimal("3"),
            unit="syringe",
            fridge=fridge,
        )
        results = race(
            2,
            lambda i, lot=lot: services.do_administer(
                manager, clinic, lot, patient, Decimal("2"), "neck"
            ),
        )
        failures = [r for r in results if isinstance(r, Exception)]
        assert len(failures) == 1, results
        assert isinstance(failures[0], StockRuleError)
        assert failures[0].code == "stock.insufficient"
        assert Lot.objects.with_on_hand().get(pk=lot.pk).on_hand == Decimal("1")


def test_many_workers_never_drive_stock_below_zero(clinic, organisation):
    manager = make_user("boss", clinic, "manager")
    patient = create_patient(clinic, manager)
    lot = services.do_receive_lot(
        manager,
        clinic,
        product="ha-serum-sterile",
        lot_number="RACE-MANY",
        expiry=clinic.today() + timedelta(days=30),
        quantity=Decimal("5"),
        unit="vial",
        storage="room",
    )
    results = race(
        8, lambda i: services.do_administer(manager, clinic, lot, patient, Decimal("1"), "")
    )
    successes = [r for r in results if not isinstance(r, Exception)]
    assert len(successes) == 5
    assert lot.movements.filter(kind=MovementKind.ADMINISTERED).count() == 5
    assert Lot.objects.with_on_hand().get(pk=lot.pk).on_hand == Decimal("0")
