"""Slot search: working hours, absences, booked practitioners, rooms and devices, rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesochart.scheduling import services
from mesochart.scheduling.models import Absence, Room
from mesochart.scheduling.slots import find_slots

from .factories import DAY, appt_type, at, setup_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(clinic, staff):
    return setup_book(clinic, staff)


def _slots(clinic, key, **kw):
    kw.setdefault("not_before", at(clinic, DAY, 0))
    return find_slots(clinic, appt_type(clinic, key), start=DAY, **kw)


def test_slots_follow_working_hours_on_the_step(clinic, staff, book):
    slots = _slots(clinic, "Consultation", days=1, practitioner=staff["practitioner"])
    assert slots[0].starts_at == at(clinic, DAY, 9)
    assert slots[-1].ends_at == at(clinic, DAY, 17)
    assert len(slots) == (8 * 60 - 30) // 15 + 1
    assert all(s.practitioner == staff["practitioner"] for s in slots)


def test_weekend_without_hours_has_no_slot(clinic, staff, book):
    saturday = DAY + timedelta(days=5)
    assert find_slots(
        clinic, appt_type(clinic, "Consultation"), start=saturday, days=2,
        not_before=at(clinic, DAY, 0),
    ) == []  # fmt: skip


def test_booked_and_absent_times_are_skipped(clinic, staff, patient, book):
    services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Consultation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 10),
    )
    services.do_save_resource(
        staff["manager"],
        clinic,
        Absence(
            practitioner=staff["practitioner"],
            starts_at=at(clinic, DAY, 13),
            ends_at=at(clinic, DAY, 17),
        ),
        action="absence",
    )
    starts = [
        s.starts_at
        for s in _slots(clinic, "Consultation", days=1, practitioner=staff["practitioner"])
    ]
    assert at(clinic, DAY, 9, 30) in starts and at(clinic, DAY, 9, 45) not in starts
    assert at(clinic, DAY, 10, 15) not in starts and at(clinic, DAY, 10, 30) in starts
    assert max(starts) == at(clinic, DAY, 12, 30)


def test_any_practitioner_and_the_last_free_room(clinic, staff, patient, book):
    Room.objects.filter(clinic=clinic, name="Room 2").update(active=False)
    services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Consultation"),
        practitioner=staff["prescriber"],
        starts_at=at(clinic, DAY, 9),
    )
    nine = [s for s in _slots(clinic, "Consultation", days=1) if s.starts_at == at(clinic, DAY, 9)]
    assert nine == []  # one room, taken
    ten = [s for s in _slots(clinic, "Consultation", days=1) if s.starts_at == at(clinic, DAY, 10)]
    assert {s.practitioner.username for s in ten} == {"prescriber", "practitioner", "assistant"}


def test_a_device_treatment_needs_the_device_free(clinic, staff, patient, book):
    services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "rf-microneedling-meso"),
        practitioner=staff["prescriber"],
        starts_at=at(clinic, DAY, 9),
    )
    starts = {s.starts_at for s in _slots(clinic, "rf-microneedling-meso", days=1)}
    assert at(clinic, DAY, 9) not in starts and at(clinic, DAY, 9, 30) in starts
    assert at(clinic, DAY, 9, 15) not in starts  # would overlap the device's booking


def test_prescriber_only_types_offer_prescribers_only(clinic, staff, book):
    slots = _slots(clinic, "Prescriber consultation", days=1)
    assert {s.practitioner.username for s in slots} == {"prescriber"}


def test_the_rules_remove_days_for_the_patient(clinic, staff, patient, book):
    # No consultation: a prescription-only treatment has no slot at all.
    assert _slots(clinic, "submental-dca", days=3, patient=patient) == []
    services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Prescriber consultation"),
        practitioner=staff["prescriber"],
        starts_at=at(clinic, DAY, 9),
    )
    slots = _slots(clinic, "submental-dca", days=3, patient=patient)
    assert slots and all(s.starts_at.date() >= DAY for s in slots)


def test_warnings_travel_with_the_slot(clinic, staff, patient, book):
    services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "skin-revitalisation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 9),
    )
    slots = _slots(clinic, "skin-revitalisation", days=10, patient=patient)
    assert slots[0].warnings and slots[0].warnings[0].code == "booking.interval_too_short"
    later = [s for s in slots if s.starts_at.date() >= DAY + timedelta(days=7)]
    assert later and not later[0].warnings


def test_limit_and_not_before(clinic, staff, book):
    slots = _slots(clinic, "Consultation", limit=5, not_before=at(clinic, DAY, 16, 7))
    assert len(slots) == 5
    assert slots[0].starts_at == at(clinic, DAY, 16, 15)
