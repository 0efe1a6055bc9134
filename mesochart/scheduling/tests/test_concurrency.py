"""Ten people booking the same slot at once: exactly one appointment (PostgreSQL, where
the exclusion constraints of migration 0002 are the guarantee)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from mesochart.conftest import create_patient
from mesochart.core.testing import race
from mesochart.scheduling import services
from mesochart.scheduling.models import Appointment

from .factories import DAY, appt_type, at, setup_book

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL exclusion constraints; SQLite serialises writers anyway")


def test_ten_parallel_bookings_of_one_slot_give_one_appointment(clinic, staff):
    setup_book(clinic, staff, rooms=10)
    patients = [create_patient(clinic, staff["reception"], given_name=f"R{i}") for i in range(10)]
    kind = appt_type(clinic, "Consultation")
    results = race(
        10,
        lambda i: services.do_book(
            staff["reception"],
            clinic,
            patient=patients[i],
            appt_type=kind,
            practitioner=staff["practitioner"],
            starts_at=at(clinic, DAY, 10),
        ),
    )
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 9, results
    assert all(isinstance(f, services.DoubleBooked) for f in failures), failures
    assert all(f.field == "practitioner" for f in failures)
    assert Appointment.objects.count() == 1


def test_the_database_refuses_an_overlap_that_skips_the_service(clinic, staff):
    setup_book(clinic, staff)
    patient = create_patient(clinic, staff["reception"])
    first = services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Consultation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 10),
    )
    clone = Appointment.objects.get(pk=first.pk)
    clone.pk = None
    clone.id = None
    clone.room = None
    clone.starts_at = at(clinic, DAY, 10, 20)
    clone.ends_at = at(clinic, DAY, 10, 50)
    with (
        pytest.raises(IntegrityError, match="appt_no_overlap_practitioner"),
        transaction.atomic(),
    ):
        clone.save(force_insert=True)
    # Cancelled appointments do not hold their slot.
    Appointment.objects.filter(pk=first.pk).update(status="cancelled")
    clone.save(force_insert=True)
    assert Appointment.objects.count() == 2
