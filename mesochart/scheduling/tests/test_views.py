"""The appointment book through HTTP: views, refusals on the form, roles, clinic isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.scheduling import services
from mesochart.scheduling.models import Appointment, AppointmentStatus, Room

from .factories import DAY, appt_type, at, setup_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(clinic, staff):
    return setup_book(clinic, staff)


def _appt(clinic, staff, patient, key="skin-revitalisation", hour=10, day=DAY):
    return services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, key),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, day, hour),
    )


def _form(clinic, staff, who, **over):
    data = {
        "patient": who.mrn,
        "type": str(appt_type(clinic, "skin-revitalisation").pk),
        "practitioner": str(staff["practitioner"].pk),
        "day": DAY.isoformat(),
        "time": "10:00",
        "room": "",
        "device": "",
        "notes": "Prefers mornings",
    }
    data.update(over)
    return data


def test_reception_books_from_the_form(client_as, clinic, staff, patient, book):
    response = client_as("reception").post(
        reverse("scheduling:book"), _form(clinic, staff, patient)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    appt = Appointment.objects.get()
    assert appt.starts_at == at(clinic, DAY, 10) and appt.notes == "Prefers mornings"
    day = client_as("reception").get(reverse("scheduling:day") + f"?day={DAY}")
    assert patient.full_name in day.content.decode()
    assert AuditEvent.objects.filter(action="read.appointments").exists()


def test_double_booking_is_refused_on_the_form_keeping_the_values(
    client_as, clinic, staff, patient, book
):
    _appt(clinic, staff, patient)
    response = client_as("reception").post(
        reverse("scheduling:book"), _form(clinic, staff, patient, time="10:15")
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "already has an appointment at that time" in html
    assert 'value="Prefers mornings"' in html or "Prefers mornings</textarea>" in html
    assert 'value="10:15"' in html and f'value="{patient.mrn}"' in html
    assert Appointment.objects.count() == 1


def test_unknown_record_number_names_the_field(client_as, clinic, staff, patient, book):
    response = client_as("reception").post(
        reverse("scheduling:book"), _form(clinic, staff, patient, **{"patient": "XX-1"})
    )
    assert response.status_code == 400
    assert "No patient with this record number" in response.content.decode()


def test_warnings_need_the_box_ticked(client_as, clinic, staff, patient, book):
    _appt(clinic, staff, patient, day=DAY + timedelta(days=2), hour=9)
    client = client_as("reception")
    response = client.post(reverse("scheduling:book"), _form(clinic, staff, patient))
    assert response.status_code == 409 and "Too soon" in response.content.decode()
    response = client.post(
        reverse("scheduling:book"), _form(clinic, staff, patient, acknowledge="on")
    )
    assert response.status_code == 302
    assert Appointment.objects.count() == 2


def test_slot_search_lists_links_that_fill_the_form(client_as, clinic, staff, patient, book):
    client = client_as("reception")
    response = client.get(
        reverse("scheduling:slots"),
        {"patient": patient.mrn, "type": str(appt_type(clinic, "Consultation").pk), "day": DAY},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Free slots" in html and "time=09%3A00" in html and "<form" not in html


def test_status_buttons_swap_the_card_and_arrival_opens_the_session(
    client_as, clinic, staff, patient, book
):
    appt = _appt(clinic, staff, patient)
    client = client_as("reception")
    url = reverse("scheduling:status", args=[appt.pk, "arrive"])
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.ARRIVED and appt.session is not None
    assert reverse("care:session", args=[appt.session_id]) in response.content.decode()
    refused = client.post(
        reverse("scheduling:status", args=[appt.pk, "complete"]), headers={"HX-Request": "true"}
    )
    assert refused.status_code == 409
    assert "Sign the treatment session" in refused.content.decode()


def test_cancel_form_records_late_cancellation(client_as, clinic, staff, patient, book):
    soon = clinic.today() + timedelta(days=1)
    while soon.weekday() > 4:
        soon += timedelta(days=1)
    appt = services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "Consultation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, soon, 16),
    )
    client = client_as("reception")
    response = client.post(
        reverse("scheduling:cancel", args=[appt.pk]), {"cancelled_by": "patient", "reason": ""}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("scheduling:cancel", args=[appt.pk]),
        {"cancelled_by": "patient", "reason": "Unwell"},
    )
    assert response.status_code == 302
    appt.refresh_from_db()
    late = appt.starts_at - timezone.now() < timedelta(hours=48)
    assert appt.status == AppointmentStatus.CANCELLED and appt.cancelled_late == late


def test_move_form(client_as, clinic, staff, patient, book):
    appt = _appt(clinic, staff, patient, key="Consultation")
    response = client_as("reception").post(
        reverse("scheduling:move", args=[appt.pk]),
        {"practitioner": str(staff["prescriber"].pk), "day": DAY, "time": "11:00"},
    )
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.practitioner == staff["prescriber"] and appt.starts_at == at(clinic, DAY, 11)


@pytest.mark.parametrize("name", ["outsider", "neighbour"])
def test_another_clinics_appointment_answers_404(client_as, clinic, staff, patient, book, name):
    appt = _appt(clinic, staff, patient)
    client = client_as(name)
    assert client.get(reverse("scheduling:detail", args=[appt.pk])).status_code == 404
    assert client.get(reverse("scheduling:move", args=[appt.pk])).status_code == 404
    assert client.get(reverse("scheduling:cancel", args=[appt.pk])).status_code == 404
    response = client.post(reverse("scheduling:status", args=[appt.pk, "confirm"]))
    assert response.status_code == 404
    day = client.get(reverse("scheduling:day") + f"?day={DAY}")
    assert patient.full_name not in day.content.decode()
    assert Appointment.objects.get(pk=appt.pk).status == AppointmentStatus.BOOKED


def test_auditor_sees_but_cannot_book_and_only_managers_manage(
    client_as, clinic, staff, patient, book
):
    auditor = client_as("auditor")
    assert auditor.get(reverse("scheduling:day")).status_code == 200
    assert auditor.get(reverse("scheduling:book")).status_code == 403
    assert client_as("reception").get(reverse("scheduling:manage")).status_code == 403
    manager = client_as("manager")
    assert manager.get(reverse("scheduling:manage")).status_code == 200
    response = manager.post(reverse("scheduling:manage_add_rooms"), {"rooms-name": "Room 9"})
    assert response.status_code == 302 and Room.objects.filter(name="Room 9").exists()
    dup = manager.post(reverse("scheduling:manage_add_rooms"), {"rooms-name": "Room 9"})
    assert dup.status_code == 400
    response = manager.post(
        reverse("scheduling:manage_policy"),
        {
            "policy-consultation_required": "on",
            "policy-consultation_valid_months": "3",
            "policy-cancel_notice_hours": "24",
            "policy-no_show_flag_count": "2",
            "policy-no_show_window_months": "12",
            "policy-slot_step_minutes": "0",
        },
    )
    assert response.status_code == 400 and "slot step" in response.content.decode().lower()


def test_week_view_per_room(client_as, clinic, staff, patient, book):
    appt = _appt(clinic, staff, patient)
    response = client_as("practitioner").get(
        reverse("scheduling:week"), {"day": DAY, "by": "room", "who": str(appt.room_id)}
    )
    assert response.status_code == 200 and patient.full_name in response.content.decode()


def test_today_page_shows_arrivals_and_what_is_missing(client_as, clinic, staff, patient, book):
    today = clinic.today()
    services.do_save_resource(
        staff["manager"], clinic, _all_day_hours(staff, today), action="hours"
    )
    appt = services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "skin-revitalisation"),
        practitioner=staff["assistant"],
        starts_at=at(clinic, today, 23, 0),
    )
    html = client_as("reception").get(reverse("core:dashboard")).content.decode()
    assert 'id="appointments-today"' in html and patient.full_name in html
    assert "Missing:" in html and "consent (treatment)" in html
    services.do_arrive(staff["reception"], appt)
    html = client_as("reception").get(reverse("core:dashboard")).content.decode()
    assert "arrived" in html


def _all_day_hours(staff, day):
    from datetime import time

    from mesochart.scheduling.models import WorkingHours

    return WorkingHours(
        practitioner=staff["assistant"], weekday=day.weekday(), start=time(0), end=time(23, 59)
    )


def test_patient_chart_shows_appointments_and_flags_no_shows(
    client_as, clinic, staff, patient, book
):
    first = _appt(clinic, staff, patient, key="Consultation", hour=11)
    second = _appt(clinic, staff, patient, key="Consultation", hour=12)
    Appointment.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=AppointmentStatus.NO_SHOW, starts_at=timezone.now() - timedelta(days=10),
        ends_at=timezone.now() - timedelta(days=10) + timedelta(minutes=30),
    )  # fmt: skip
    _appt(clinic, staff, patient, key="Consultation")
    html = client_as("reception").get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert 'id="no-show-flag"' in html and "2 no-shows" in html
    assert "Consultation" in html


def test_day_view_has_a_constant_query_budget(client_as, clinic, staff, patient, book):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as("reception")
    url = reverse("scheduling:day") + f"?day={DAY}"
    _appt(clinic, staff, patient, key="Consultation", hour=9)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for hour in (10, 11, 12, 13, 14):
        _appt(clinic, staff, patient, key="Consultation", hour=hour)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_manager_removes_working_hours(client_as, clinic, staff, book):
    from mesochart.scheduling.models import WorkingHours

    hours = WorkingHours.objects.filter(clinic=clinic).first()
    response = client_as("manager").post(reverse("scheduling:hours_delete", args=[hours.pk]))
    assert response.status_code == 302
    assert not WorkingHours.objects.filter(pk=hours.pk).exists()
    assert AuditEvent.objects.filter(action="scheduling.workinghours_delete").exists()
