from __future__ import annotations

from decimal import Decimal

import pytest

from mesochart.conftest import create_patient
from mesochart.errors import InvalidInput
from mesochart.recall.rows import RecallRow
from mesochart.stock import services
from mesochart.stock.errors import StockRuleError
from mesochart.stock.models import Lot, MovementKind
from mesochart.stock.recall import lots_matching, rows_for_lot

pytestmark = pytest.mark.django_db

MIX = "revitalisation-lidocaine-mix"


@pytest.fixture
def vitamins(make_lot):
    return make_lot(
        product="ha-nonxl-vitamins", lot_number="VIT-1", unit="vial", storage="room", fridge=None
    )


@pytest.fixture
def lidocaine(make_lot):
    return make_lot(
        product="ha-nonxl-lidocaine",
        lot_number="LID-1",
        unit="syringe",
        storage="room",
        fridge=None,
    )


def test_preparing_a_mixture_consumes_each_component(vitamins, lidocaine, manager, clinic):
    prep = services.do_prepare_mixture(
        manager, clinic, MIX, [(vitamins, Decimal("1")), (lidocaine, Decimal("2"))]
    )
    assert Lot.objects.with_on_hand().get(pk=vitamins.pk).on_hand == Decimal("9")
    assert Lot.objects.with_on_hand().get(pk=lidocaine.pk).on_hand == Decimal("8")
    assert prep.movements.filter(kind=MovementKind.MIXED).count() == 2


def test_mixture_needs_exactly_its_library_components(vitamins, make_lot, manager, clinic):
    with pytest.raises(InvalidInput) as info:
        services.do_prepare_mixture(manager, clinic, MIX, [(vitamins, Decimal("1"))])
    assert info.value.field == "components"
    with pytest.raises(InvalidInput) as info:
        services.do_prepare_mixture(manager, clinic, "unknown-mix", [(vitamins, Decimal("1"))])
    assert info.value.field == "mixture"


def test_mixture_refuses_a_quarantined_component(vitamins, lidocaine, manager, clinic):
    services.do_quarantine_lot(manager, clinic, lidocaine, "Warm")
    with pytest.raises(StockRuleError) as info:
        services.do_prepare_mixture(
            manager, clinic, MIX, [(vitamins, Decimal("1")), (lidocaine, Decimal("1"))]
        )
    assert info.value.code == "lot.quarantined"
    assert Lot.objects.with_on_hand().get(pk=vitamins.pk).on_hand == Decimal("10")


def test_recall_of_any_component_lot_reaches_every_patient_of_the_mixture(
    vitamins, lidocaine, manager, clinic, patient
):
    second = create_patient(clinic, manager, given_name="Ana", family_name="Silva")
    direct_only = create_patient(clinic, manager, given_name="Bea", family_name="Stone")
    prep = services.do_prepare_mixture(
        manager, clinic, MIX, [(vitamins, Decimal("1")), (lidocaine, Decimal("1"))]
    )
    services.do_administer_preparation(manager, clinic, prep, patient, Decimal("1"), "cheek_left")
    services.do_administer_preparation(manager, clinic, prep, second, Decimal("0.5"), "neck")
    services.do_administer(manager, clinic, lidocaine, direct_only, Decimal("1"), "forehead")

    for lot_number in ("VIT-1", "LID-1"):
        rows = rows_for_lot(clinic.organisation_id, lot_number)
        mixed = [r for r in rows if r.via.startswith("mixture")]
        assert {r.patient_id for r in mixed} == {patient.pk, second.pk}
        assert all(r.via == f"mixture {prep.label} {MIX}" for r in mixed)
    lid_rows = rows_for_lot(clinic.organisation_id, "LID-1")
    direct = [r for r in lid_rows if r.via == "direct"]
    assert [(r.patient_id, r.quantity, r.zone, r.product) for r in direct] == [
        (direct_only.pk, Decimal("1"), "forehead", "ha-nonxl-lidocaine")
    ]
    assert direct_only.pk not in {
        r.patient_id for r in rows_for_lot(clinic.organisation_id, "VIT-1")
    }


def test_recall_rows_carry_patient_contact_and_clinic(lot, manager, clinic, patient):
    services.do_administer(manager, clinic, lot, patient, Decimal("1.5"), "cheek_left")
    (row,) = rows_for_lot(clinic.organisation_id, lot.lot_number)
    assert isinstance(row, RecallRow)
    assert (row.mrn, row.patient_name, row.birth_date, row.phone, row.email) == (
        patient.mrn,
        "Elena Moreau",
        "1985-04-02",
        patient.phone,
        patient.email,
    )
    assert (row.clinic_name, row.lot, row.quantity, row.unit, row.via) == (
        clinic.name,
        lot.lot_number,
        Decimal("1.5"),
        "syringe",
        "direct",
    )


def test_recall_is_scoped_to_the_organisation_and_spans_its_clinics(
    lot, manager, clinic, patient, neighbour_clinic, neighbour, other_clinic, outsider
):
    services.do_administer(manager, clinic, lot, patient, Decimal("1"), "neck")
    harbour_fridge = services.do_create_fridge(neighbour, neighbour_clinic, "F")
    harbour_lot = services.do_receive_lot(
        neighbour,
        neighbour_clinic,
        product=lot.product,
        lot_number=lot.lot_number,
        expiry=lot.expiry,
        quantity=Decimal("3"),
        unit="syringe",
        fridge=harbour_fridge,
    )
    harbour_patient = create_patient(neighbour_clinic, neighbour, given_name="Hal")
    services.do_administer(
        neighbour, neighbour_clinic, harbour_lot, harbour_patient, Decimal("1"), ""
    )
    assert {r.clinic_name for r in rows_for_lot(clinic.organisation_id, lot.lot_number)} == {
        "Riverside",
        "Harbour",
    }
    assert rows_for_lot(other_clinic.organisation_id, lot.lot_number) == []
    assert len(lots_matching(clinic.organisation_id, lot.lot_number, lot.product)) == 2
    assert lots_matching(clinic.organisation_id, lot.lot_number, "ha-serum-sterile") == []


def test_recall_query_count_does_not_grow_with_patients(
    vitamins, lidocaine, manager, clinic, django_assert_num_queries
):
    prep = services.do_prepare_mixture(
        manager, clinic, MIX, [(vitamins, Decimal("2")), (lidocaine, Decimal("2"))]
    )
    for i in range(6):
        p = create_patient(clinic, manager, given_name=f"P{i}")
        services.do_administer(manager, clinic, vitamins, p, Decimal("1"), "neck")
        services.do_administer_preparation(manager, clinic, prep, p, Decimal("0.2"), "neck")
    with django_assert_num_queries(2):
        rows = rows_for_lot(clinic.organisation_id, "VIT-1")
    assert len(rows) == 12
