"""Cycle list, overview, steriliser and cycle pages cost the same queries for 2 or 20 loads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.conftest import create_patient
from mesochart.sterility import services

from .factories import DAY, at, cycle_data, make_steriliser, released_cycle

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def add_loads(steriliser, actor, clinic, first: int, n: int) -> None:
    for number in range(first, first + n):
        day = DAY - timedelta(days=number)
        cycle = released_cycle(steriliser, actor, number, day=day)
        packs = services.do_create_packs(actor, cycle, set_name="Tray", count=2)
        patient = create_patient(clinic, actor, given_name=f"P{number}")
        services.do_use_pack(actor, clinic, packs[0], patient, at(clinic, day, 15))
        services.do_record_cycle(
            actor,
            steriliser,
            cycle_data(
                clinic,
                1000 + number,
                started_at=at(clinic, day, 17),
                contains_implants=True,
                bi_result="pending",
                bi_lot="G",
            ),
        )  # a quarantined load: shows on the overview


@pytest.mark.parametrize(
    "page", ["sterility:cycles", "sterility:index", "sterility:steriliser", "sterility:cycle"]
)
def test_pages_have_a_constant_query_budget(
    client_as, clinic, staff, page, django_assert_num_queries
):
    actor = staff["manager"]
    steriliser = make_steriliser(clinic, actor)
    add_loads(steriliser, actor, clinic, 1, 2)
    first_cycle = steriliser.cycles.order_by("number").first()
    args = {"sterility:steriliser": [steriliser.pk], "sterility:cycle": [first_cycle.pk]}
    url = reverse(page, args=args.get(page))
    client = client_as("manager")
    few = count_queries(client, url)
    add_loads(steriliser, actor, clinic, 3, 18)
    if page == "sterility:cycle":
        services.do_create_packs(actor, first_cycle, set_name="More", count=30)
    with django_assert_num_queries(few):
        response = client.get(url)
    assert response.status_code == 200
