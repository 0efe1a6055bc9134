"""Objects of a clinic for the URL walker (core/tests/test_url_walker.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from mesochart.scheduling import services
from mesochart.scheduling.models import Absence, OnlineBooking, WorkingHours

from .factories import DAY, appt_type, at, setup_book


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    setup_book(clinic, staff)
    appointment = services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Consultation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 10),
    )
    absence = services.do_save_resource(
        staff["manager"],
        clinic,
        Absence(
            practitioner=staff["practitioner"],
            starts_at=at(clinic, DAY, 13),
            ends_at=at(clinic, DAY, 14),
        ),
        action="absence",
    )
    hours = WorkingHours.objects.filter(clinic=clinic).first()
    assert hours is not None
    booking = OnlineBooking.objects.create(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        type=appt_type(clinic, "Consultation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 11),
        given_name="Nora",
        family_name="Online",
        birth_date=date(1990, 1, 1),
        email="nora@example.org",
        phone="07700 900999",
    )
    return {
        "appointment_id": appointment.pk,
        "booking_id": booking.pk,
        # The public links: anything but a signed token answers 404 to everyone.
        "token": "not-a-signed-token",
        "action": "confirm",
        "hours_id": hours.pk,
        "absence_id": absence.pk,
    }
