from __future__ import annotations

import pytest

from mesochart.audit.services import verify_chain
from mesochart.conftest import create_patient
from mesochart.sterility.demo import load_sterility_demo
from mesochart.sterility.models import Cycle, CycleStatus, Pack, PackUse, Steriliser

pytestmark = pytest.mark.django_db


def test_demo_loads_a_class_b_steriliser_with_released_and_waiting_loads_once(clinic, staff):
    actor = staff["manager"]
    patients = [create_patient(clinic, actor, given_name=f"Demo{i}") for i in range(4)]
    first = load_sterility_demo(clinic, actor, patients)
    counts = (Cycle.objects.count(), Pack.objects.count(), PackUse.objects.count())
    again = load_sterility_demo(clinic, actor, patients)
    assert (Cycle.objects.count(), Pack.objects.count(), PackUse.objects.count()) == counts
    assert again.cycles_created == 0 and first.cycles_created == 4
    steriliser = Steriliser.objects.get()
    assert steriliser.steriliser_class == "B" and steriliser.pre_vacuum
    statuses = sorted(Cycle.objects.values_list("status", flat=True))
    assert statuses.count(CycleStatus.RELEASED) == 3 and CycleStatus.QUARANTINED in statuses
    assert {u.patient_id for u in PackUse.objects.all()} == {p.pk for p in patients}
    assert steriliser.bowie_dick_tests.filter(day=clinic.today(), result="pass").exists()
    assert verify_chain().ok
