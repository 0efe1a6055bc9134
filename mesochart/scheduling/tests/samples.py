"""Objects of a clinic for the URL walker (core/tests/test_url_walker.py)."""

from __future__ import annotations

from typing import Any

from mesochart.scheduling import services
from mesochart.scheduling.models import Absence, WorkingHours

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
    return {
        "appointment_id": appointment.pk,
        "action": "confirm",
        "hours_id": hours.pk,
        "absence_id": absence.pk,
    }
