from __future__ import annotations

import pytest

from mesochart.conftest import create_patient
from mesochart.stock.demo import load_stock_demo
from mesochart.stock.models import Fridge, Lot, LotStatus, StockMovement
from mesochart.stock.services import dashboard

pytestmark = pytest.mark.django_db


def test_demo_stock_is_loaded_once(clinic, staff):
    patients = [create_patient(clinic, staff["manager"], given_name=f"D{i}") for i in range(3)]
    lots = load_stock_demo(clinic, staff["manager"], patients)
    counts = (Fridge.objects.count(), Lot.objects.count(), StockMovement.objects.count())
    assert len(lots) == 8 and counts[0] == 1
    assert {lot.product for lot in lots} >= {"ha-skin-booster", "dca-10mg-ml"}
    assert StockMovement.objects.filter(kind="administered").count() == 24
    board = dashboard(clinic)
    assert len(board.expiring) == 1
    assert [lot.status for lot in board.quarantined] == [LotStatus.QUARANTINED]
    load_stock_demo(clinic, staff["manager"], patients)
    assert (Fridge.objects.count(), Lot.objects.count(), StockMovement.objects.count()) == counts
