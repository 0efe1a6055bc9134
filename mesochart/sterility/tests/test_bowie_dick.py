"""A failed or missing Bowie-Dick test blocks a pre-vacuum steriliser's loads of that day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesochart.sterility import services
from mesochart.sterility.errors import SterilityRefusal
from mesochart.sterility.models import CycleStatus

from .factories import DAY, bowie_dick, make_steriliser, record_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(staff):
    return staff["manager"]


def code_of(actor, cycle) -> str:
    with pytest.raises(SterilityRefusal) as info:
        services.do_release_cycle(actor, cycle)
    return info.value.code


def test_no_bowie_dick_today_blocks_release_of_a_pre_vacuum_load(clinic, actor):
    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor, day=DAY - timedelta(days=1))  # yesterday's does not count
    cycle = record_cycle(steriliser, actor)
    assert code_of(actor, cycle) == "sterility.bowie_dick_missing"
    assert cycle.status == CycleStatus.RECORDED


def test_passing_bowie_dick_before_the_first_load_allows_release(clinic, actor):
    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor, hour=7)
    cycle = record_cycle(steriliser, actor)
    assert services.do_release_cycle(actor, cycle).status == CycleStatus.RELEASED


def test_bowie_dick_done_after_the_load_started_does_not_count(clinic, actor):
    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor, hour=10)  # the cycle started at 09:00
    assert code_of(actor, record_cycle(steriliser, actor)) == "sterility.bowie_dick_missing"


def test_failed_bowie_dick_blocks_the_days_loads(clinic, actor):
    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor, result="fail", hour=7)
    assert code_of(actor, record_cycle(steriliser, actor)) == "sterility.bowie_dick_failed"


def test_failure_later_in_the_day_blocks_earlier_loads_too(clinic, actor):
    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor, result="pass", hour=7)
    bowie_dick(steriliser, actor, result="fail", hour=12)
    assert code_of(actor, record_cycle(steriliser, actor)) == "sterility.bowie_dick_failed"


def test_passing_retest_clears_only_loads_started_after_it(clinic, actor):
    from .factories import at

    steriliser = make_steriliser(clinic, actor)
    bowie_dick(steriliser, actor, result="fail", hour=7)
    bowie_dick(steriliser, actor, result="pass", hour=10)
    before = record_cycle(steriliser, actor, 1, started_at=at(clinic, DAY, 8))
    after = record_cycle(steriliser, actor, 2, started_at=at(clinic, DAY, 11))
    assert code_of(actor, before) == "sterility.bowie_dick_failed"
    assert services.do_release_cycle(actor, after).status == CycleStatus.RELEASED


def test_non_pre_vacuum_steriliser_needs_no_bowie_dick(clinic, actor):
    steriliser = make_steriliser(clinic, actor, name="N", steriliser_class="N", pre_vacuum=False)
    cycle = record_cycle(steriliser, actor, program="134-3")
    assert services.do_release_cycle(actor, cycle).status == CycleStatus.RELEASED


def test_class_b_is_always_pre_vacuum(clinic, actor):
    steriliser = make_steriliser(clinic, actor, pre_vacuum=False)
    assert steriliser.pre_vacuum
