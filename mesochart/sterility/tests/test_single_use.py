"""Single-use sterile items: one item (lot + serial / UDI-PI) is used once, ever."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from mesochart.conftest import create_patient
from mesochart.sterility import services
from mesochart.sterility.errors import SterilityRefusal
from mesochart.sterility.models import SingleUseItemUse

from .factories import DAY, at, make_item_lot

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(staff):
    return staff["practitioner"]


def use(actor, clinic, item_lot, serial, patient, day=DAY):
    return services.do_use_single_use_item(
        actor, clinic, item_lot, serial, patient, at(clinic, day, 14)
    )


def test_cartridge_used_on_one_patient_cannot_be_used_again(clinic, actor, patient):
    item_lot = make_item_lot(clinic, actor)
    use(actor, clinic, item_lot, "SN-0001", patient)
    other = create_patient(clinic, actor, given_name="Bea")
    with pytest.raises(SterilityRefusal) as info:
        use(actor, clinic, item_lot, "SN-0001", other)
    assert info.value.code == "sterility.single_use_reused"
    assert SingleUseItemUse.objects.count() == 1


def test_the_database_refuses_a_reused_item_too(clinic, actor, patient):
    item_lot = make_item_lot(clinic, actor)
    first = use(actor, clinic, item_lot, "SN-9", patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        SingleUseItemUse.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            item_lot=item_lot,
            item_serial="SN-9",
            patient=patient,
            used_at=first.used_at,
            used_by=actor,
        )


def test_items_without_serial_get_the_lots_next_sequence(clinic, actor, patient):
    item_lot = make_item_lot(clinic, actor)
    serials = [use(actor, clinic, item_lot, None, patient).item_serial for _ in range(3)]
    assert serials == ["#1", "#2", "#3"]


def test_same_serial_in_another_lot_is_another_item(clinic, actor, patient):
    first = make_item_lot(clinic, actor, lot="A")
    second = make_item_lot(clinic, actor, lot="B")
    use(actor, clinic, first, "0001", patient)
    assert use(actor, clinic, second, "0001", patient).item_lot == second


def test_expired_lot_is_refused(clinic, actor, patient):
    item_lot = make_item_lot(clinic, actor, expiry=date(2026, 11, 19))
    with pytest.raises(SterilityRefusal) as info:
        use(actor, clinic, item_lot, "SN-1", patient)
    assert info.value.code == "sterility.item_expired"


def test_lot_cannot_give_more_items_than_it_holds(clinic, actor, patient):
    item_lot = make_item_lot(clinic, actor, quantity=1)
    use(actor, clinic, item_lot, None, patient)
    with pytest.raises(SterilityRefusal) as info:
        use(actor, clinic, item_lot, None, patient)
    assert info.value.code == "sterility.item_lot_exhausted"
