"""Packs: numbering, expiry, and do_use_pack's refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.sterility import services
from mesochart.sterility.errors import SterilityInvalid, SterilityNotFound, SterilityRefusal
from mesochart.sterility.models import Pack, PackUse

from .factories import DAY, at, make_pack, make_steriliser, record_cycle, released_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(staff):
    return staff["practitioner"]


@pytest.fixture
def autoclave(clinic, staff):
    return make_steriliser(clinic, staff["manager"])


def use(actor, clinic, pack, patient, when=None):
    return services.do_use_pack(actor, clinic, pack, patient, when or at(clinic, DAY, 15))


def refusal(actor, clinic, pack, patient, when=None) -> str:
    with pytest.raises(SterilityRefusal) as info:
        use(actor, clinic, pack, patient, when)
    return info.value.code


def test_pack_ids_follow_a_per_clinic_sequence(
    clinic, neighbour_clinic, autoclave, staff, neighbour
):
    cycle = released_cycle(autoclave, staff["manager"])
    packs = services.do_create_packs(staff["manager"], cycle, set_name="Tray", count=3)
    assert [p.code for p in packs] == ["P-000001", "P-000002", "P-000003"]
    other = make_steriliser(neighbour_clinic, neighbour)
    other_pack = make_pack(released_cycle(other, neighbour), neighbour)
    assert other_pack.code == "P-000001"  # the neighbour clinic counts on its own


def test_released_pack_is_used_once_and_the_use_is_audited(
    clinic, autoclave, actor, patient, staff
):
    pack = make_pack(released_cycle(autoclave, staff["manager"]), actor)
    pack_use = use(actor, clinic, pack, patient)
    assert pack_use.patient == patient
    pack.refresh_from_db()
    assert pack.state(DAY) == "used"
    assert AuditEvent.objects.filter(action="sterility.pack_use", object_id=str(pack.pk)).exists()


def test_pack_used_twice_is_refused(clinic, autoclave, actor, patient, staff):
    pack = make_pack(released_cycle(autoclave, staff["manager"]), actor)
    use(actor, clinic, pack, patient)
    second = create_patient(clinic, actor, given_name="Ana")
    assert refusal(actor, clinic, pack, second) == "sterility.pack_used"
    assert PackUse.objects.filter(pack=pack).count() == 1


def test_pack_from_a_load_awaiting_release_is_refused(clinic, autoclave, actor, patient):
    pack = make_pack(record_cycle(autoclave, actor), actor)
    assert refusal(actor, clinic, pack, patient) == "sterility.pack_not_released"


def test_pack_from_a_quarantined_load_is_refused(clinic, autoclave, actor, patient):
    cycle = record_cycle(autoclave, actor, contains_implants=True, bi_result="pending", bi_lot="G")
    pack = make_pack(cycle, actor)
    assert refusal(actor, clinic, pack, patient) == "sterility.pack_not_released"


def test_pack_from_a_failed_load_is_refused(clinic, autoclave, actor, staff, patient):
    cycle = record_cycle(autoclave, actor)
    pack = make_pack(cycle, actor)
    services.do_fail_cycle(staff["manager"], cycle, "torn wrap")
    assert refusal(actor, clinic, pack, patient) == "sterility.pack_not_released"
    with pytest.raises(SterilityRefusal) as info:
        make_pack(cycle, actor)  # no new packs on a failed load
    assert info.value.code == "sterility.cycle_failed"


def test_expired_pack_is_refused(clinic, autoclave, actor, staff, patient):
    services.do_set_shelf_life(staff["manager"], clinic, 2)
    pack = make_pack(released_cycle(autoclave, staff["manager"]), actor)
    assert pack.expires_on == DAY + timedelta(days=2)
    on_last_day = at(clinic, DAY + timedelta(days=2), 10)
    day_after = at(clinic, DAY + timedelta(days=3), 10)
    assert refusal(actor, clinic, pack, patient, day_after) == "sterility.pack_expired"
    assert use(actor, clinic, pack, patient, on_last_day).pack == pack


def test_event_related_shelf_life_has_no_expiry(clinic, autoclave, actor, staff):
    pack = make_pack(released_cycle(autoclave, staff["manager"]), actor)
    assert pack.expires_on is None
    assert not pack.is_expired(date(2040, 1, 1))


def test_pack_of_another_clinic_is_refused_like_a_missing_one(
    clinic, neighbour_clinic, neighbour, actor, patient
):
    other = make_steriliser(neighbour_clinic, neighbour)
    pack = make_pack(released_cycle(other, neighbour), neighbour)
    with pytest.raises(SterilityNotFound) as info:
        use(actor, clinic, pack, patient)
    assert info.value.code == "sterility.pack_not_found" and info.value.status == 404


def test_patient_of_another_clinic_is_refused(
    clinic, neighbour_clinic, neighbour, autoclave, actor, staff
):
    pack = make_pack(released_cycle(autoclave, staff["manager"]), actor)
    stranger = create_patient(neighbour_clinic, neighbour)
    with pytest.raises(SterilityNotFound):
        use(actor, clinic, pack, stranger)
    assert not Pack.objects.get(pk=pack.pk).used_at


def test_pack_cannot_be_used_before_its_load_was_sterilised(
    clinic, autoclave, actor, staff, patient
):
    pack = make_pack(released_cycle(autoclave, staff["manager"]), actor)  # cycle at 10:00
    with pytest.raises(SterilityInvalid) as info:
        use(actor, clinic, pack, patient, at(clinic, DAY, 8))
    assert info.value.code == "sterility.used_before_sterilised" and info.value.field == "used_at"


def test_a_pack_tells_its_contract_status_and_whether_it_was_used(clinic, staff):
    from mesochart.sterility.models import CycleStatus, PackStatus

    cycle = released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"])
    pack = make_pack(cycle, staff["manager"])
    assert pack.contract_status() == "released" and not pack.is_used
    pack.cycle.status = CycleStatus.QUARANTINED
    assert pack.contract_status() == "quarantined"
    pack.cycle.status = CycleStatus.FAILED
    assert pack.contract_status() == "failed"
    pack.cycle.status = CycleStatus.RELEASED
    pack.status = PackStatus.SUSPECT
    assert pack.contract_status() == "failed"
    pack.status = PackStatus.USED
    assert pack.is_used


def test_usable_packs_are_released_available_and_in_date(clinic, staff):
    services.do_set_shelf_life(staff["manager"], clinic, 30)
    cycle = released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"])
    pack = make_pack(cycle, staff["manager"])
    assert pack.expires_on is not None
    assert services.usable_packs(clinic, pack.expires_on) == [pack]
    assert services.usable_packs(clinic, pack.expires_on + timedelta(days=1)) == []
    other = create_patient(clinic, staff["practitioner"])
    services.do_use_pack(staff["practitioner"], clinic, pack, other, at(clinic, DAY, 15))
    assert services.usable_packs(clinic, DAY) == []
