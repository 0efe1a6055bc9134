"""``services.alerts``: the Today card's counts and first lots, the stock page's rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mesochart.stock import services

pytestmark = pytest.mark.django_db


def test_alerts_count_every_kind_and_keep_the_first_lots_by_expiry(
    make_lot, manager, clinic, today
):
    late = make_lot(lot_number="E-LATE", expiry=today + timedelta(days=20))
    soon = [make_lot(lot_number=f"E-{d:02d}", expiry=today + timedelta(days=d)) for d in (9, 3, 6)]
    make_lot(lot_number="FAR", expiry=today + timedelta(days=200))
    held = make_lot(lot_number="HELD", expiry=today + timedelta(days=100))
    services.do_quarantine_lot(manager, clinic, held, "Excursion")
    services.do_set_threshold(manager, clinic, "ha-skin-booster", Decimal("200"))
    board = services.alerts(clinic, today + timedelta(days=4))  # E-03 has expired by then
    assert board.expired_with_stock.count == 1
    assert [lot.lot_number for lot in board.expired_with_stock.lots] == ["E-03"]
    assert board.expiring.count == 3 and board.expiring.more == 0
    assert board.expiring.lots == [soon[2], soon[0], late]
    assert board.expiring.lots[0].on_hand == Decimal("10")
    assert [lot.lot_number for lot in board.quarantined.lots] == ["HELD"]
    assert [(r.product, r.on_hand) for r in board.low_stock] == [
        ("ha-skin-booster", Decimal("40"))  # four usable lots of 10: E-03 expired, HELD held
    ]
    assert not board.all_clear


def test_alerts_keep_only_the_first_lots_but_count_them_all(make_lot, clinic, today):
    for d in range(1, 8):
        make_lot(lot_number=f"E-{d}", expiry=today + timedelta(days=d))
    board = services.alerts(clinic, today, first=3)
    assert board.expiring.count == 7 and board.expiring.more == 4
    assert [lot.lot_number for lot in board.expiring.lots] == ["E-1", "E-2", "E-3"]


def test_alerts_agree_with_the_stock_page(make_lot, manager, clinic, today):
    empty = make_lot(lot_number="EMPTY", expiry=today + timedelta(days=2), quantity=Decimal("1"))
    services.do_waste(manager, clinic, empty, Decimal("1"), "Broken")
    make_lot(lot_number="SOON", expiry=today + timedelta(days=5))
    held = make_lot(lot_number="HELD", expiry=today + timedelta(days=5))
    services.do_quarantine_lot(manager, clinic, held, "Warm")
    for day in (today, today + timedelta(days=3), today + timedelta(days=8)):
        page, card = services.dashboard(clinic, day), services.alerts(clinic, day, first=10)
        assert page.expiring == card.expiring.lots
        assert page.expired_with_stock == card.expired_with_stock.lots
        assert page.quarantined == card.quarantined.lots
        assert [lot.lot_number for lot in card.expired_with_stock.lots] == (
            ["HELD", "SOON"] if day > today + timedelta(days=5) else []
        )  # an empty lot is never "still on the shelf"; a held one that expired is


def test_all_clear_without_alerts_and_other_clinics_do_not_count(
    make_lot, clinic, other_clinic, outsider, today
):
    make_lot(expiry=today + timedelta(days=200))
    services.do_receive_lot(
        outsider,
        other_clinic,
        product="ha-skin-booster",
        lot_number="THEIRS",
        expiry=today + timedelta(days=2),
        quantity=Decimal("5"),
        unit="syringe",
        storage="room",
    )
    board = services.alerts(clinic, today)
    assert board.all_clear
    assert board.expiring.count == 0 and board.expiring.lots == []
    assert services.alerts(other_clinic, today).expiring.count == 1


def test_alerts_cost_six_queries_whatever_the_stock(
    make_lot, manager, clinic, today, django_assert_num_queries
):
    with django_assert_num_queries(6):
        services.alerts(clinic, today)
    for d in range(12):
        lot = make_lot(expiry=today + timedelta(days=d + 1))
        if d % 3 == 0:
            services.do_quarantine_lot(manager, clinic, lot, "Excursion")
    services.do_set_threshold(manager, clinic, "ha-skin-booster", Decimal("500"))
    with django_assert_num_queries(6):
        board = services.alerts(clinic, today)
    assert board.expiring.count == 8 and board.quarantined.count == 4 and board.low_stock
