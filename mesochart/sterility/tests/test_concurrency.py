"""Two people opening the same pack or item at once: exactly one succeeds (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from mesochart.conftest import create_patient, make_user
from mesochart.core.testing import race
from mesochart.sterility import services
from mesochart.sterility.errors import SterilityRefusal
from mesochart.sterility.models import PackUse, SingleUseItemUse

from .factories import DAY, at, make_item_lot, make_pack, make_steriliser, released_cycle

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; SQLite serialises writers anyway")


def test_racing_for_one_pack_uses_it_once(clinic):
    manager = make_user("boss", clinic, "manager")
    patients = [create_patient(clinic, manager, given_name=f"R{i}") for i in range(3)]
    pack = make_pack(released_cycle(make_steriliser(clinic, manager), manager), manager)
    results = race(
        3,
        lambda i: services.do_use_pack(manager, clinic, pack, patients[i], at(clinic, DAY, 15)),
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 2, results
    assert all(
        isinstance(f, SterilityRefusal) and f.code == "sterility.pack_used" for f in failures
    )
    assert PackUse.objects.filter(pack=pack).count() == 1


def test_racing_for_one_single_use_item_uses_it_once(clinic):
    manager = make_user("boss", clinic, "manager")
    patient = create_patient(clinic, manager)
    item_lot = make_item_lot(clinic, manager)
    results = race(
        3,
        lambda i: services.do_use_single_use_item(
            manager, clinic, item_lot, "SN-RACE", patient, at(clinic, DAY, 15)
        ),
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 2, results
    assert all(getattr(f, "code", "") == "sterility.single_use_reused" for f in failures)
    assert SingleUseItemUse.objects.count() == 1
