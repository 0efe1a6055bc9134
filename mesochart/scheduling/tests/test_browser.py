"""In real Chromium: reception books a treatment from the day view (with the slot search),
and a second booking of the same practitioner at an overlapping time is refused on the
form, with everything typed still there."""

from __future__ import annotations

import re

import pytest

from mesochart.conftest import browser_sign_in, create_patient
from mesochart.scheduling.models import Appointment

from .factories import DAY, at, setup_book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reception_books_on_the_day_view_and_a_double_booking_is_refused(
    live_server, page, clinic, staff, patient, artifacts
):
    setup_book(clinic, staff)
    other = create_patient(clinic, staff["reception"], given_name="Nadia", family_name="Okoro")
    browser_sign_in(page, live_server, "reception")

    page.click("nav.mainnav >> text=Appointments")
    page.goto(live_server.url + f"/appointments/?day={DAY.isoformat()}")
    page.click("main a:has-text('Book with Practitioner')")
    page.wait_for_url(re.compile(r".*/appointments/new/.*"))
    assert page.input_value("#id_practitioner") == str(staff["practitioner"].pk)
    assert page.input_value("#id_day") == DAY.isoformat()
    page.fill("#id_patient", patient.mrn)
    page.select_option("#id_type", label="Skin revitalisation (non-cross-linked HA + vitamins)")
    # The slot search comes in through htmx, below the form, without leaving the page.
    page.click("main button:has-text('Find free slots')")
    page.wait_for_selector("#slots .slot")
    assert "09:00" in page.inner_text("#slots")
    assert page.input_value("#id_patient") == patient.mrn
    page.fill("#id_time", "10:00")
    page.fill("#id_notes", "First session, prefers the window room")
    page.click("#book-submit")
    page.wait_for_url(re.compile(r".*/appointments/\?day=" + DAY.isoformat()))
    day_view = page.inner_text("#day-view")
    assert patient.full_name in day_view and "10:00" in day_view
    page.screenshot(path=str(artifacts / "scheduling-day-view.png"), full_page=True)
    first = Appointment.objects.get()
    assert first.starts_at == at(clinic, DAY, 10) and first.practitioner == staff["practitioner"]

    # The same practitioner at 10:15 for someone else: refused, nothing typed is lost.
    page.click("main a:has-text('Book with Practitioner')")
    page.fill("#id_patient", other.mrn)
    page.select_option("#id_type", label="Consultation")
    page.fill("#id_time", "10:15")
    page.fill("#id_notes", "Wants to discuss a skin booster")
    page.click("#book-submit")
    error = page.locator(".field.has-error p.error")
    error.wait_for()
    assert "already has an appointment at that time" in error.inner_text()
    assert "Practitioner" in error.inner_text()
    assert page.input_value("#id_patient") == other.mrn
    assert page.input_value("#id_time") == "10:15"
    assert page.input_value("#id_notes") == "Wants to discuss a skin booster"
    assert page.input_value("#id_practitioner") == str(staff["practitioner"].pk)
    assert page.input_value("#id_day") == DAY.isoformat()
    page.screenshot(path=str(artifacts / "scheduling-double-booking-refused.png"), full_page=True)
    assert Appointment.objects.count() == 1

    # Another practitioner at the same time is fine, from the same form.
    page.select_option("#id_practitioner", str(staff["prescriber"].pk))
    page.click("#book-submit")
    page.wait_for_url(re.compile(r".*/appointments/\?day=.*"))
    assert Appointment.objects.count() == 2
    assert other.full_name in page.inner_text("#day-view")


def test_arrival_button_swaps_the_card_and_opens_the_session(
    live_server, page, clinic, staff, patient
):
    from mesochart.scheduling import services

    from .factories import appt_type

    setup_book(clinic, staff)
    appointment = services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "skin-revitalisation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, DAY, 11),
    )
    browser_sign_in(page, live_server, "reception")
    page.goto(live_server.url + f"/appointments/?day={DAY.isoformat()}")
    card = page.locator(f"#appt-{appointment.pk}")
    card.locator("button:has-text('Arrived')").click()
    page.locator(f"#appt-{appointment.pk} a:has-text('Open the session')").wait_for()
    assert "Arrived" in page.inner_text(f"#appt-{appointment.pk}")
    assert page.url.endswith(f"?day={DAY.isoformat()}")  # swapped in place, no navigation
    appointment.refresh_from_db()
    assert appointment.status == "arrived" and appointment.session_id is not None
    # Completing before the session is signed is refused inside the card.
    page.locator(f"#appt-{appointment.pk} button:has-text('Completed')").click()
    page.locator(f"#appt-{appointment.pk} p.error").wait_for()
    assert "Sign the treatment session" in page.inner_text(f"#appt-{appointment.pk}")
