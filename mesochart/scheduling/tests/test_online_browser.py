"""In real Chromium: a patient books online, the confirmation email (Django's file
backend) carries a link that confirms the booking, and the cancel link inside the notice
period records a late cancellation; a time taken meanwhile is refused on the page with
everything typed kept."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from mesochart.conftest import PATIENT_DATA, create_patient
from mesochart.scheduling import services
from mesochart.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelledBy,
)

from .factories import setup_book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPE_LABEL = "Skin revitalisation (non-cross-linked HA + vitamins)"


@pytest.fixture
def online_clinic(clinic, staff, settings, live_server, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.SMS_BACKEND = "mesochart.messaging.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms.jsonl"
    settings.SITE_URL = live_server.url
    setup_book(clinic, staff)
    AppointmentType.objects.filter(clinic=clinic).update(online=True)
    services.do_set_policy(staff["manager"], clinic, {"cancel_notice_hours": 120})
    return clinic


def next_weekday(clinic):
    day = clinic.today() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def fill_details(page, given=PATIENT_DATA["given_name"]):
    page.fill("#id_given_name", given)
    page.fill("#id_family_name", PATIENT_DATA["family_name"])
    page.fill("#id_birth_date", PATIENT_DATA["birth_date"].isoformat())
    page.fill("#id_email", PATIENT_DATA["email"])
    page.fill("#id_phone", PATIENT_DATA["phone"])


def choose_slot(page, live_server, clinic, practitioner=""):
    page.goto(f"{live_server.url}/book/{clinic.pk}/")
    page.select_option("#id_type", label=TYPE_LABEL)
    if practitioner:
        page.select_option("#id_practitioner", label=practitioner)
    page.fill("#id_day", next_weekday(clinic).isoformat())
    page.click("main button:has-text('Show free times')")
    page.wait_for_selector("#slots input[type=radio]")
    page.locator("#slots input[type=radio]").first.check()


def emailed_link(mail_dir: Path, kind: str) -> str:
    text = "".join(p.read_text() for p in sorted(mail_dir.glob("*.log")))
    found = re.findall(r"(http://\S+/book/" + kind + r"/\S+/)", text)
    assert found, text
    return found[-1]


def test_a_patient_books_online_confirms_by_email_and_cancels_late(
    live_server, page, online_clinic, staff, patient, settings, artifacts
):
    clinic = online_clinic
    choose_slot(page, live_server, clinic)
    fill_details(page)
    page.click("main button:has-text('Book')")
    page.wait_for_selector("#booking-sent")
    assert "Check your email" in page.content()
    appointment = Appointment.objects.get()
    assert appointment.patient == patient and appointment.status == AppointmentStatus.BOOKED

    page.goto(emailed_link(Path(settings.EMAIL_FILE_PATH), "confirm"))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    page.click("#confirm-button")
    page.wait_for_selector("#booking-confirmed")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    page.screenshot(path=str(artifacts / "online-booking-confirmed.png"))

    page.goto(emailed_link(Path(settings.EMAIL_FILE_PATH), "cancel"))
    assert "late cancellation" in page.inner_text("#late-notice")
    page.click("main button:has-text('Cancel the appointment')")
    page.wait_for_selector("#booking-cancelled")
    assert "recorded as a late cancellation" in page.inner_text("#booking-cancelled")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_late and appointment.cancelled_by == CancelledBy.PATIENT


def test_a_time_taken_meanwhile_is_refused_on_the_page_with_the_typed_values_kept(
    live_server, page, online_clinic, staff, artifacts
):
    clinic = online_clinic
    choose_slot(page, live_server, clinic, practitioner=staff["practitioner"].display_name)
    chosen = page.locator("#slots input[type=radio]:checked").get_attribute("value")
    fill_details(page, given="Ines")
    from datetime import datetime

    services.do_book(
        staff["reception"],
        clinic,
        patient=create_patient(clinic, staff["reception"], given_name="Other", email="o@x.org"),
        appt_type=AppointmentType.objects.get(clinic=clinic, name=TYPE_LABEL),
        practitioner=staff["practitioner"],
        starts_at=datetime.fromisoformat(str(chosen)),
    )
    page.click("main button:has-text('Book')")
    page.wait_for_selector("#id_slot-error")
    assert "no longer free" in page.inner_text("#id_slot-error")
    assert page.input_value("#id_given_name") == "Ines"
    assert page.input_value("#id_email") == PATIENT_DATA["email"]
    assert page.input_value("#id_type") == str(
        AppointmentType.objects.get(clinic=clinic, name=TYPE_LABEL).pk
    )
    page.screenshot(path=str(artifacts / "online-booking-refused.png"))
