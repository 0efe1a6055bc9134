"""Each release rule of do_release_cycle, refused and allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mesochart.audit.models import AuditEvent
from mesochart.sterility import services
from mesochart.sterility.errors import SterilityRefusal
from mesochart.sterility.models import Cycle, CycleStatus

from .factories import DAY, bowie_dick, make_steriliser, record_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(staff):
    return staff["manager"]


@pytest.fixture
def autoclave(clinic, actor):
    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor)
    return steriliser


def refused(actor, cycle) -> str:
    with pytest.raises(SterilityRefusal) as info:
        services.do_release_cycle(actor, cycle)
    return info.value.code


def test_cycle_meeting_every_rule_is_released_and_audited(autoclave, actor):
    cycle = record_cycle(autoclave, actor)
    assert cycle.status == CycleStatus.RECORDED
    services.do_release_cycle(actor, cycle)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.RELEASED
    assert cycle.released_by == actor and cycle.released_at is not None
    event = AuditEvent.objects.filter(action="sterility.cycle_status").last()
    assert event.details["to"] == "released" and event.object_id == str(cycle.pk)


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature_c", Decimal("133.9")), ("hold_min", Decimal("3.4"))],
)
def test_cycle_below_its_program_fails_physical_parameters(autoclave, actor, field, value):
    cycle = record_cycle(autoclave, actor, **{field: value})
    assert not cycle.physical_met and cycle.status == CycleStatus.FAILED
    assert refused(actor, cycle) == "sterility.physical_parameters_not_met"


def test_program_pressure_is_checked_when_the_source_gives_one(autoclave, actor):
    low = record_cycle(
        autoclave, actor, 1, program="134-5", hold_min=Decimal("5"), pressure_bar=Decimal("2.0")
    )
    ok = record_cycle(
        autoclave, actor, 2, program="134-5", hold_min=Decimal("5"), pressure_bar=Decimal("2.1")
    )
    assert not low.physical_met and "pressure" in low.physical_notes
    assert ok.physical_met


def test_cycle_at_exactly_the_program_values_meets_them(autoclave, actor):
    cycle = record_cycle(autoclave, actor, temperature_c=Decimal("134"), hold_min=Decimal("3.5"))
    assert cycle.physical_met
    assert services.do_release_cycle(actor, cycle).status == CycleStatus.RELEASED


def test_failed_chemical_indicator_refuses_release(autoclave, actor):
    cycle = record_cycle(autoclave, actor, ci_result="fail")
    assert cycle.status == CycleStatus.FAILED
    assert refused(actor, cycle) == "sterility.ci_failed"


def test_missing_chemical_indicator_refuses_release(autoclave, actor):
    cycle = record_cycle(autoclave, actor, ci_result="", ci_type=None)
    assert refused(actor, cycle) == "sterility.ci_missing"
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.RECORDED


def test_implant_load_stays_quarantined_while_its_bi_is_pending(autoclave, actor):
    cycle = record_cycle(
        autoclave, actor, contains_implants=True, bi_result="pending", bi_lot="GS-1"
    )
    assert cycle.bi_required and cycle.status == CycleStatus.QUARANTINED
    assert refused(actor, cycle) == "sterility.bi_pending"
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.QUARANTINED
    services.do_record_bi_result(actor, cycle, "pass")
    assert services.do_release_cycle(actor, cycle).status == CycleStatus.RELEASED


def test_steriliser_requiring_bi_release_quarantines_every_load(clinic, actor):
    steriliser = make_steriliser(clinic, actor, name="Strict", bi_release_required=True)
    bowie_dick(steriliser, actor)
    cycle = record_cycle(steriliser, actor)  # no BI at all in the load
    assert cycle.bi_required and cycle.status == CycleStatus.QUARANTINED
    assert refused(actor, cycle) == "sterility.bi_pending"


def test_load_without_bi_release_can_go_before_its_bi_is_read(autoclave, actor):
    cycle = record_cycle(autoclave, actor, bi_result="pending", bi_lot="GS-1")
    assert not cycle.bi_required
    assert services.do_release_cycle(actor, cycle).status == CycleStatus.RELEASED


def test_failed_biological_indicator_refuses_release(autoclave, actor):
    cycle = record_cycle(autoclave, actor, bi_result="pending", bi_lot="GS-1")
    services.do_record_bi_result(actor, cycle, "fail")
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.FAILED
    assert refused(actor, cycle) == "sterility.bi_failed"


def test_already_released_cycle_is_not_released_twice(autoclave, actor):
    cycle = services.do_release_cycle(actor, record_cycle(autoclave, actor))
    assert refused(actor, cycle) == "sterility.already_released"


def test_rejected_cycle_cannot_be_released(autoclave, actor):
    cycle = record_cycle(autoclave, actor)
    services.do_fail_cycle(actor, cycle, "wet packs")
    assert refused(actor, cycle) == "sterility.cycle_failed"


def test_refusal_on_a_permanent_failure_marks_the_cycle_failed(autoclave, actor):
    cycle = record_cycle(autoclave, actor)
    Cycle.objects.filter(pk=cycle.pk).update(ci_result="fail")  # e.g. an imported record
    assert refused(actor, cycle) == "sterility.ci_failed"
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.FAILED


def test_status_transitions_are_data_and_enforced(autoclave, actor):
    cycle = record_cycle(autoclave, actor)
    services.set_status(actor, cycle, CycleStatus.FAILED, reason="test")
    with pytest.raises(SterilityRefusal) as info:
        services.set_status(actor, cycle, CycleStatus.RELEASED)
    assert info.value.code == "sterility.bad_transition"


def test_cycle_number_is_unique_per_steriliser_only(clinic, autoclave, actor):
    record_cycle(autoclave, actor, 7)
    with pytest.raises(Exception) as info:
        record_cycle(autoclave, actor, 7)
    assert getattr(info.value, "code", "") == "sterility.cycle_number_taken"
    other = make_steriliser(clinic, actor, name="Second")
    assert record_cycle(other, actor, 7).number == 7


def test_pre_vacuum_program_is_refused_on_a_gravity_steriliser(clinic, actor):
    class_n = make_steriliser(clinic, actor, name="N", steriliser_class="N", pre_vacuum=False)
    with pytest.raises(Exception) as info:
        record_cycle(class_n, actor, program="132-4-prevac-wrapped", temperature_c=Decimal("132"))
    assert getattr(info.value, "code", "") == "sterility.program_needs_pre_vacuum"


def test_cycle_day_is_the_clinics_local_date(clinic, actor):
    clinic.timezone = "Asia/Tokyo"
    clinic.save(update_fields=["timezone"])
    steriliser = make_steriliser(clinic, actor, name="Tokyo")
    started = datetime(DAY.year, DAY.month, DAY.day, 20, 0, tzinfo=UTC)  # 05:00 next day there
    cycle = record_cycle(steriliser, actor, started_at=started)
    assert cycle.day == DAY + timedelta(days=1)
