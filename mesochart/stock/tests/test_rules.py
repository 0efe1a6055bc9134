"""The stock rules, each both ways, through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.errors import InvalidInput
from mesochart.stock import services
from mesochart.stock.errors import StockRuleError
from mesochart.stock.models import Lot, LotStatus, MovementKind, StockMovement

pytestmark = pytest.mark.django_db


def on_hand(lot: Lot) -> Decimal:
    return Lot.objects.with_on_hand().get(pk=lot.pk).on_hand


# --- receiving ------------------------------------------------------------------


def test_receiving_a_lot_records_a_received_movement_and_audit(lot, manager):
    assert on_hand(lot) == Decimal("10")
    assert lot.movements.get().kind == MovementKind.RECEIVED
    assert AuditEvent.objects.filter(action="stock.receive", object_id=str(lot.pk)).exists()


def test_unknown_product_code_is_refused_naming_the_field(make_lot):
    with pytest.raises(InvalidInput) as info:
        make_lot(product="botox-9000")
    assert info.value.field == "product"
    assert not Lot.objects.exists()


def test_same_lot_number_of_same_product_cannot_be_received_twice(make_lot):
    make_lot(lot_number="A1")
    with pytest.raises(InvalidInput) as info:
        make_lot(lot_number="A1")
    assert info.value.field == "lot_number"
    make_lot(lot_number="A1", product="ha-serum-sterile", unit="vial")  # other product: fine


def test_an_already_expired_lot_is_not_received(make_lot, today):
    with pytest.raises(InvalidInput) as info:
        make_lot(expiry=today - timedelta(days=1))
    assert info.value.field == "expiry"


def test_fridge_storage_needs_a_fridge(make_lot):
    with pytest.raises(InvalidInput) as info:
        make_lot(fridge=None)
    assert info.value.field == "fridge"
    assert make_lot(storage="room", fridge=None).fridge is None


# --- expiry -------------------------------------------------------------------


def test_expired_is_derived_from_the_date(lot, today):
    assert not lot.is_expired_on(today)
    assert lot.is_expired_on(lot.expiry + timedelta(days=1))
    assert not lot.is_expired_on(lot.expiry)  # usable through its expiry date
    assert list(Lot.objects.expired(lot.expiry + timedelta(days=1))) == [lot]
    assert list(Lot.objects.expired(today)) == []


def test_expired_lot_is_refused(lot, patient, practitioner, clinic, today):
    Lot.objects.filter(pk=lot.pk).update(expiry=today - timedelta(days=1))
    lot.refresh_from_db()
    with pytest.raises(StockRuleError) as info:
        services.do_administer(practitioner, clinic, lot, patient, Decimal("1"), "cheek_left")
    assert info.value.code == "lot.expired"
    assert on_hand(lot) == Decimal("10")


def test_in_date_lot_is_administered(lot, patient, practitioner, clinic):
    movement = services.do_administer(
        practitioner, clinic, lot, patient, Decimal("1"), "cheek_left"
    )
    assert movement.kind == MovementKind.ADMINISTERED and movement.quantity == Decimal("-1")
    assert movement.patient == patient and movement.zone == "cheek_left"
    assert on_hand(lot) == Decimal("9")


def test_lot_expiring_today_can_still_be_used(make_lot, today, patient, practitioner, clinic):
    lot = make_lot(expiry=today)
    services.do_administer(practitioner, clinic, lot, patient, Decimal("1"), "")
    assert on_hand(lot) == Decimal("9")


# --- quarantine and recall ---------------------------------------------------------


def test_quarantined_lot_is_refused_until_released(lot, patient, practitioner, manager, clinic):
    services.do_quarantine_lot(manager, clinic, lot, "Dropped box")
    with pytest.raises(StockRuleError) as info:
        services.do_administer(practitioner, clinic, lot, patient, Decimal("1"), "neck")
    assert info.value.code == "lot.quarantined"
    services.do_release_lot(manager, clinic, lot, "Checked with supplier")
    services.do_administer(practitioner, clinic, lot, patient, Decimal("1"), "neck")
    kinds = list(lot.movements.values_list("kind", flat=True).order_by("id"))
    assert kinds == ["received", "quarantined", "released", "administered"]


def test_recalled_lot_is_refused_and_cannot_be_released(
    lot, patient, practitioner, manager, clinic
):
    services.do_recall_lot(manager, clinic, lot, "Manufacturer FSN 2026-11")
    with pytest.raises(StockRuleError) as info:
        services.do_administer(practitioner, clinic, lot, patient, Decimal("1"), "neck")
    assert info.value.code == "lot.recalled"
    with pytest.raises(StockRuleError):
        services.do_release_lot(manager, clinic, lot, "oops")


def test_quarantine_and_release_need_a_reason(lot, manager, clinic):
    with pytest.raises(InvalidInput) as info:
        services.do_quarantine_lot(manager, clinic, lot, "  ")
    assert info.value.field == "reason"
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.AVAILABLE


# --- containers -----------------------------------------------------------------------


def test_multi_dose_vial_gets_28_days_beyond_use(make_lot, manager, clinic, today):
    lot = make_lot(product="caffeine-deoxycholate", unit="mL", quantity=Decimal("50"))
    container = services.do_open_container(manager, clinic, lot)
    assert not container.single_use
    assert container.beyond_use_date == today + timedelta(days=28)


def test_beyond_use_date_never_passes_lot_expiry(make_lot, manager, clinic, today):
    lot = make_lot(product="caffeine-deoxycholate", unit="mL", expiry=today + timedelta(days=10))
    assert services.do_open_container(manager, clinic, lot).beyond_use_date == lot.expiry


def test_opened_vial_past_beyond_use_date_is_refused(make_lot, manager, clinic, patient):
    lot = make_lot(product="caffeine-deoxycholate", unit="mL", quantity=Decimal("50"))
    opened = timezone.now() - timedelta(days=29)
    container = services.do_open_container(manager, clinic, lot, opened_at=opened)
    with pytest.raises(StockRuleError) as info:
        services.do_administer(
            manager, clinic, lot, patient, Decimal("2"), "submental", container=container
        )
    assert info.value.code == "container.beyond_use"
    assert on_hand(lot) == Decimal("50")


def test_opened_vial_within_beyond_use_date_is_used(make_lot, manager, clinic, patient):
    lot = make_lot(product="caffeine-deoxycholate", unit="mL", quantity=Decimal("50"))
    opened = timezone.now() - timedelta(days=27)
    container = services.do_open_container(manager, clinic, lot, opened_at=opened)
    services.do_administer(
        manager, clinic, lot, patient, Decimal("2"), "submental", container=container
    )
    assert on_hand(lot) == Decimal("48")


def test_single_use_container_is_bound_to_its_first_patient(lot, manager, clinic, patient, staff):
    container = services.do_open_container(manager, clinic, lot)
    assert container.single_use
    services.do_administer(
        manager, clinic, lot, patient, Decimal("1"), "cheek_left", container=container
    )
    services.do_administer(
        manager, clinic, lot, patient, Decimal("1"), "cheek_right", container=container
    )
    second = create_patient(clinic, manager, given_name="Ana", family_name="Silva")
    with pytest.raises(StockRuleError) as info:
        services.do_administer(
            manager, clinic, lot, second, Decimal("1"), "neck", container=container
        )
    assert info.value.code == "container.single_use"
    assert "one patient" in info.value.message
    container.refresh_from_db()
    assert container.patient == patient


# --- waste, adjust, never below zero -------------------------------------------------


def test_waste_needs_a_reason(lot, practitioner, clinic):
    with pytest.raises(InvalidInput) as info:
        services.do_waste(practitioner, clinic, lot, Decimal("1"), "")
    assert info.value.field == "reason"
    services.do_waste(practitioner, clinic, lot, Decimal("1"), "Syringe dropped")
    assert on_hand(lot) == Decimal("9")


def test_adjust_needs_a_reason_and_is_signed(lot, manager, clinic):
    with pytest.raises(InvalidInput):
        services.do_adjust(manager, clinic, lot, Decimal("-2"), " ")
    services.do_adjust(manager, clinic, lot, Decimal("-2"), "Count on Monday")
    services.do_adjust(manager, clinic, lot, Decimal("1"), "Found one in the drawer")
    assert on_hand(lot) == Decimal("9")


def test_stock_never_goes_below_zero(lot, manager, clinic, patient):
    with pytest.raises(StockRuleError) as info:
        services.do_administer(manager, clinic, lot, patient, Decimal("10.5"), "neck")
    assert info.value.code == "stock.insufficient"
    with pytest.raises(StockRuleError):
        services.do_adjust(manager, clinic, lot, Decimal("-11"), "Count")
    with pytest.raises(StockRuleError):
        services.do_waste(manager, clinic, lot, Decimal("11"), "Broken")
    services.do_administer(manager, clinic, lot, patient, Decimal("10"), "neck")
    assert on_hand(lot) == Decimal("0")


def test_administering_in_a_wrong_unit_or_zone_is_refused(lot, manager, clinic, patient):
    with pytest.raises(InvalidInput) as info:
        services.do_administer(manager, clinic, lot, patient, Decimal("1"), "neck", unit="mL")
    assert info.value.field == "unit"
    with pytest.raises(InvalidInput) as info:
        services.do_administer(manager, clinic, lot, patient, Decimal("1"), "elbow")
    assert info.value.field == "zone"


def test_another_clinics_patient_cannot_receive_this_clinics_lot(
    lot, manager, clinic, other_clinic, outsider
):
    stranger = create_patient(other_clinic, outsider)
    with pytest.raises(InvalidInput) as info:
        services.do_administer(manager, clinic, lot, stranger, Decimal("1"), "neck")
    assert info.value.field == "patient"


def test_movements_carry_organisation_and_session_references(lot, manager, clinic, patient):
    import uuid

    session, entry = uuid.uuid4(), uuid.uuid4()
    m = services.do_administer(
        manager, clinic, lot, patient, Decimal("1"), "neck", session_ref=session, entry_ref=entry
    )
    m.refresh_from_db()
    assert (m.session_ref, m.entry_ref, m.organisation_id) == (
        session,
        entry,
        clinic.organisation_id,
    )


# --- FEFO and dashboard ------------------------------------------------------------------


def test_fefo_suggests_first_expiry_first_and_skips_unusable(make_lot, manager, clinic, today):
    late = make_lot(expiry=today + timedelta(days=300))
    early = make_lot(expiry=today + timedelta(days=20))
    quarantined = make_lot(expiry=today + timedelta(days=5))
    services.do_quarantine_lot(manager, clinic, quarantined, "Warm on arrival")
    empty = make_lot(expiry=today + timedelta(days=2), quantity=Decimal("1"))
    services.do_waste(manager, clinic, empty, Decimal("1"), "Broken")
    make_lot(product="ha-serum-sterile", unit="vial")
    lots = services.fefo_lots(clinic, "ha-skin-booster")
    assert lots == [early, late]
    assert lots[0].on_hand == Decimal("10")


def test_dashboard_lists_expiring_quarantined_and_low_stock(
    make_lot, manager, clinic, today, django_assert_max_num_queries
):
    soon = make_lot(expiry=today + timedelta(days=10))
    make_lot(expiry=today + timedelta(days=200))
    held = make_lot(expiry=today + timedelta(days=100))
    services.do_quarantine_lot(manager, clinic, held, "Excursion")
    services.do_set_threshold(manager, clinic, "ha-skin-booster", Decimal("25"))
    services.do_set_threshold(manager, clinic, "ha-serum-sterile", Decimal("0"))
    with django_assert_max_num_queries(6):
        board = services.dashboard(clinic)
    assert board.expiring == [soon]
    assert board.quarantined == [held]
    assert [(r.product, r.on_hand) for r in board.low_stock] == [("ha-skin-booster", Decimal("20"))]


def test_ledger_is_append_only_on_hand_is_the_sum(lot, manager, clinic, patient):
    services.do_administer(manager, clinic, lot, patient, Decimal("3"), "neck")
    total = sum(StockMovement.objects.filter(lot=lot).values_list("quantity", flat=True))
    assert total == on_hand(lot) == lot.on_hand_now() == Decimal("7")


def test_receiving_with_a_gtin_teaches_the_clinic_which_product_it_is(make_lot, clinic):
    make_lot(product="ha-skin-booster", gtin="04012345678901", lot_number="G1")
    assert services.product_for_gtin(clinic, "04012345678901") == "ha-skin-booster"


def test_a_gtin_known_as_another_product_is_refused(make_lot):
    make_lot(product="ha-skin-booster", gtin="04012345678901", lot_number="G1")
    with pytest.raises(InvalidInput) as info:
        make_lot(product="dca-10mg-ml", gtin="04012345678901", lot_number="G2")
    assert info.value.field == "product"
    assert "is ha-skin-booster" in info.value.message


def test_a_lot_says_why_it_may_not_be_used_and_stock_answers_in_one_query(
    clinic, make_lot, django_assert_num_queries
):
    from datetime import timedelta as days

    from mesochart.stock import services as stock
    from mesochart.stock.models import LotStatus

    first = make_lot(lot_number="A-1")
    second = make_lot(lot_number="A-2", expiry=first.expiry + days(days=30))
    day = clinic.today()
    assert stock.lot_refusal(first, day) is None
    assert stock.lot_refusal(first, first.expiry + days(days=1)).code == "lot.expired"
    first.status = LotStatus.QUARANTINED
    assert stock.lot_status_refusal(first).code == "lot.quarantined"
    first.status = LotStatus.RECALLED
    assert stock.lot_refusal(first, day).code == "lot.recalled"
    with django_assert_num_queries(1):
        on_hand = stock.on_hand_by_lot([first.pk, second.pk])
    assert on_hand == {first.pk: first.on_hand_now(), second.pk: second.on_hand_now()}
    with django_assert_num_queries(1):
        by_product = stock.fefo_lots_by_product(clinic, ["ha-skin-booster", "dca-10mg-ml"])
    assert [lot.lot_number for lot in by_product["ha-skin-booster"]] == ["A-1", "A-2"]
    assert "dca-10mg-ml" not in by_product
