"""A positive BI fails its load and makes every pack since the last passing BI suspect."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.sterility import services
from mesochart.sterility.errors import SterilityRefusal
from mesochart.sterility.models import CycleStatus, Pack, PackStatus
from mesochart.sterility.recall import suspect_rows

from .factories import DAY, at, make_pack, make_steriliser, released_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(staff):
    return staff["manager"]


def test_failed_bi_marks_packs_since_the_last_passing_bi_and_names_patients(clinic, actor):
    autoclave = make_steriliser(clinic, actor)
    d1, d2, d3 = DAY - timedelta(days=2), DAY - timedelta(days=1), DAY
    passed = released_cycle(autoclave, actor, 1, day=d1, bi_result="pass", bi_lot="G1")
    between = released_cycle(autoclave, actor, 2, day=d2)
    tested = released_cycle(autoclave, actor, 3, day=d3, bi_result="pending", bi_lot="G2")
    old_pack, mid_pack, new_pack = (make_pack(c, actor) for c in (passed, between, tested))
    spare = make_pack(tested, actor)
    alice = create_patient(clinic, actor, given_name="Alice")
    bob = create_patient(clinic, actor, given_name="Bob")
    carol = create_patient(clinic, actor, given_name="Carol")
    services.do_use_pack(actor, clinic, old_pack, alice, at(clinic, d1, 16))
    services.do_use_pack(actor, clinic, mid_pack, bob, at(clinic, d2, 16))
    services.do_use_pack(actor, clinic, new_pack, carol, at(clinic, d3, 16))

    outcome = services.do_record_bi_result(actor, tested, "fail")

    assert outcome.cycle.status == CycleStatus.FAILED
    assert {p.code for p in outcome.suspect_packs} == {mid_pack.code, new_pack.code, spare.code}
    assert {p.pk for p in outcome.affected_patients} == {bob.pk, carol.pk}
    assert Pack.objects.get(pk=old_pack.pk).status == PackStatus.USED
    assert Pack.objects.get(pk=spare.pk).state(DAY) == "suspect"
    audited = AuditEvent.objects.filter(action="sterility.pack_suspect")
    assert {e.details["code"] for e in audited} == {mid_pack.code, new_pack.code, spare.code}
    rows = suspect_rows(clinic.organisation_id, tested.pk)
    assert {r.patient_id for r in rows} == {bob.pk, carol.pk}
    assert all(r.via.startswith("suspect (failed BI)") for r in rows)


def test_suspect_pack_cannot_be_used(clinic, actor, patient):
    autoclave = make_steriliser(clinic, actor)
    cycle = released_cycle(autoclave, actor, bi_result="pending", bi_lot="G")
    pack = make_pack(cycle, actor)
    services.do_record_bi_result(actor, cycle, "fail")
    with pytest.raises(SterilityRefusal) as info:
        services.do_use_pack(actor, clinic, pack, patient, at(clinic, DAY, 16))
    assert info.value.code == "sterility.pack_suspect"


def test_passing_bi_changes_no_pack(clinic, actor):
    autoclave = make_steriliser(clinic, actor)
    cycle = released_cycle(autoclave, actor, bi_result="pending", bi_lot="G")
    make_pack(cycle, actor)
    outcome = services.do_record_bi_result(actor, cycle, "pass")
    assert outcome.suspect_packs == [] and outcome.affected_patients == []
    assert not Pack.objects.filter(status=PackStatus.SUSPECT).exists()


def test_other_sterilisers_packs_are_not_suspect(clinic, actor):
    first = make_steriliser(clinic, actor, name="One")
    second = make_steriliser(clinic, actor, name="Two")
    failing = released_cycle(first, actor, bi_result="pending", bi_lot="G")
    fine = make_pack(released_cycle(second, actor), actor)
    services.do_record_bi_result(actor, failing, "fail")
    assert Pack.objects.get(pk=fine.pk).status == PackStatus.AVAILABLE


def test_bi_read_once_cannot_be_overwritten(clinic, actor):
    cycle = released_cycle(make_steriliser(clinic, actor), actor, bi_result="pending", bi_lot="G")
    services.do_record_bi_result(actor, cycle, "pass")
    with pytest.raises(SterilityRefusal):
        services.do_record_bi_result(actor, cycle, "fail")


def test_positive_bi_entered_with_the_cycle_marks_earlier_packs_suspect(clinic, actor):
    from .factories import record_cycle

    autoclave = make_steriliser(clinic, actor)
    earlier = make_pack(released_cycle(autoclave, actor, 1, day=DAY - timedelta(days=1)), actor)
    cycle = record_cycle(autoclave, actor, 2, bi_result="fail", bi_lot="G9")
    assert cycle.status == CycleStatus.FAILED
    assert Pack.objects.get(pk=earlier.pk).suspect_cycle == cycle
