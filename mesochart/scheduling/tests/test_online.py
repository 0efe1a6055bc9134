"""Online booking: matching, pending new patients, the emailed confirm and cancel links,
rate limit, honeypot, no leak of who is a patient, clinic isolation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.conftest import PATIENT_DATA, create_patient
from mesochart.messaging.models import Message, MessageKind
from mesochart.patients.models import Patient
from mesochart.scheduling import links, online, services
from mesochart.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingAttempt,
    CancelledBy,
    OnlineBooking,
    OnlineBookingStatus,
)

from .factories import appt_type, at, setup_book

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "mesochart.messaging.sms.ConsoleBackend"
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def book(clinic, staff):
    made = setup_book(clinic, staff)
    AppointmentType.objects.filter(clinic=clinic).update(online=True)
    return made


def future_day(clinic, days=10):
    day = clinic.today() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def form_data(clinic, key="skin-revitalisation", hour=10, days=10, **person):
    starts = at(clinic, future_day(clinic, days), hour)
    return {
        "type": str(appt_type(clinic, key).pk),
        "practitioner": "",
        "day": starts.date().isoformat(),
        "slot": starts.isoformat(),
        "given_name": PATIENT_DATA["given_name"],
        "family_name": PATIENT_DATA["family_name"],
        "birth_date": PATIENT_DATA["birth_date"].isoformat(),
        "email": PATIENT_DATA["email"],
        "phone": PATIENT_DATA["phone"],
        "website": "",
        "book": "1",
        **person,
    }


def post(clinic, data, client=None, address="203.0.113.9"):
    client = client or Client(REMOTE_ADDR=address)
    return client.post(reverse("booking:page", args=[clinic.pk]), data, follow=True)


def link_in(body, kind):
    for word in body.split():
        if f"/book/{kind}/" in word:
            return word.removeprefix("http://testserver").rstrip(".,)")
    raise AssertionError(f"no {kind} link in {body!r}")


def test_the_page_lists_only_online_types_and_needs_no_sign_in(clinic, staff, book):
    AppointmentType.objects.filter(clinic=clinic, name="Consultation").update(online=False)
    response = Client().get(reverse("booking:page", args=[clinic.pk]))
    assert response.status_code == 200
    assert "Prescriber consultation" in response.text
    assert ">Consultation<" not in response.text


def test_no_online_types_no_page(clinic, staff):
    setup_book(clinic, staff)
    assert Client().get(reverse("booking:page", args=[clinic.pk])).status_code == 404


def test_a_matched_patient_is_booked_and_the_email_confirms_it(
    clinic, staff, patient, book, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(clinic, form_data(clinic, email="ELENA@example.org "))
    assert "Check your email" in response.text
    appointment = Appointment.objects.get()
    assert appointment.patient == patient and appointment.created_by is None
    assert appointment.status == AppointmentStatus.BOOKED
    booking = OnlineBooking.objects.get()
    assert booking.status == OnlineBookingStatus.BOOKED and booking.appointment == appointment
    event = AuditEvent.objects.get(action="online_booking.request")
    assert event.actor_id is None and event.details["matched"] is True
    assert AuditEvent.objects.get(action="appointment.book").actor_id is None
    confirmation = Message.objects.get(kind=MessageKind.APPOINTMENT_CONFIRMATION, channel="email")
    link = link_in(confirmation.body, "confirm")
    # Opening the link (as a mail scanner or a link preview does) changes nothing.
    page = Client().get(link)
    assert page.status_code == 200 and "Confirm the appointment" in page.text
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    # The button confirms.
    page = Client().post(link)
    assert page.status_code == 200 and "is confirmed" in page.text
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert AuditEvent.objects.filter(action="appointment.confirmed", actor=None).exists()
    # Opened and pressed again: still confirmed, nothing more.
    again = Client().get(link)
    assert again.status_code == 200 and "already confirmed" in again.text
    assert Client().post(link).status_code == 200
    assert AuditEvent.objects.filter(action="appointment.confirmed").count() == 1


def test_a_phone_match_is_enough_but_name_and_birth_date_must_agree(clinic, staff, patient):
    data = {
        "given_name": "elena",
        "family_name": "MOREAU",
        "birth_date": PATIENT_DATA["birth_date"],
        "email": "new@example.org",
        "phone": "07700 900123",
    }
    assert online.match_patient(clinic, data) == patient
    assert online.match_patient(clinic, {**data, "phone": "0123"}) is None
    assert (
        online.match_patient(
            clinic, {**data, "birth_date": PATIENT_DATA["birth_date"].replace(day=3)}
        )
        is None
    )


def test_a_new_person_is_held_for_reception_who_creates_the_patient(
    clinic, staff, book, client_as, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(clinic, form_data(clinic, given_name="Nora", email="nora@example.org"))
    assert "Check your email" in response.text
    assert not Appointment.objects.exists() and not Patient.objects.exists()
    booking = OnlineBooking.objects.get(status=OnlineBookingStatus.PENDING)
    [email] = mail.outbox
    assert email.to == ["nora@example.org"]
    link = link_in(email.body, "email")
    page = Client().get(link)
    assert page.status_code == 200 and "Confirm my address" in page.text
    booking.refresh_from_db()
    assert booking.email_confirmed_at is None
    page = Client().post(link)
    assert page.status_code == 200 and "Email address confirmed" in page.text
    booking.refresh_from_db()
    assert booking.email_confirmed_at is not None
    assert "already confirmed" in Client().get(link).text
    reception = client_as("reception")
    listing = reception.get(reverse("scheduling:online_pending"))
    assert "Nora Moreau" in listing.text
    with django_capture_on_commit_callbacks(execute=True):
        reception.post(reverse("scheduling:online_decide", args=[booking.pk, "accept"]))
    booking.refresh_from_db()
    assert booking.status == OnlineBookingStatus.BOOKED
    assert booking.patient.given_name == "Nora" and booking.patient.email == "nora@example.org"
    assert booking.appointment.patient == booking.patient
    assert AuditEvent.objects.filter(action="patient.create", actor=staff["reception"]).exists()
    assert AuditEvent.objects.get(action="online_booking.accept").actor == staff["reception"]
    assert "Nora" not in reception.get(reverse("scheduling:online_pending")).text


def test_reception_links_an_existing_record_or_rejects(clinic, staff, patient, book, client_as):
    post(clinic, form_data(clinic, email="other@example.org", phone="0000", hour=10))
    post(clinic, form_data(clinic, email="other@example.org", phone="0000", hour=11))
    first, second = OnlineBooking.objects.order_by("starts_at")
    reception = client_as("reception")
    reception.post(
        reverse("scheduling:online_decide", args=[first.pk, "accept"]), {"patient": patient.mrn}
    )
    first.refresh_from_db()
    assert first.patient == patient and Patient.objects.count() == 1
    reception.post(reverse("scheduling:online_decide", args=[second.pk, "reject"]), {"reason": ""})
    second.refresh_from_db()
    assert second.status == OnlineBookingStatus.PENDING  # a reason is needed
    reception.post(
        reverse("scheduling:online_decide", args=[second.pk, "reject"]), {"reason": "Duplicate"}
    )
    second.refresh_from_db()
    assert second.status == OnlineBookingStatus.REJECTED


def test_the_page_answers_the_same_for_a_patient_and_a_stranger(
    clinic, staff, patient, book, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = post(clinic, form_data(clinic, hour=10))
        stranger = post(clinic, form_data(clinic, hour=11, given_name="Zoe", email="z@ex.org"))
    assert known.status_code == stranger.status_code == 200
    assert known.redirect_chain == [(reverse("booking:sent", args=[clinic.pk]), 302)]
    assert stranger.redirect_chain == known.redirect_chain

    def page(response):  # the CSRF token is each browser's own
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", response.text)

    assert page(known) == page(stranger)


def test_a_rule_refusal_names_the_field_and_keeps_what_was_typed(clinic, staff, book):
    # A prescription-only treatment needs a prescriber consultation first.
    response = post(clinic, form_data(clinic, key="submental-dca", given_name="Ines"))
    assert response.status_code == 200 and "consultation" in response.text
    assert 'id="id_type-error"' in response.text or "Service:" in response.text
    assert 'value="Ines"' in response.text and 'value="elena@example.org"' in response.text
    assert not OnlineBooking.objects.exists()


def test_a_slot_taken_meanwhile_is_refused_on_the_time(clinic, staff, patient, book):
    data = form_data(clinic)
    services.do_book(
        staff["reception"],
        clinic,
        patient=patient,
        appt_type=appt_type(clinic, "skin-revitalisation"),
        practitioner=staff["practitioner"],
        starts_at=at(clinic, future_day(clinic), 10),
    )
    services.do_book(
        staff["reception"],
        clinic,
        patient=create_patient(clinic, staff["reception"], given_name="B", email="b@x.org"),
        appt_type=appt_type(clinic, "skin-revitalisation"),
        practitioner=staff["prescriber"],
        starts_at=at(clinic, future_day(clinic), 10),
    )
    # Two rooms: the assistant has no room left at 10:00 either.
    response = post(clinic, {**data, "given_name": "Kai"})
    assert "no longer free" in response.text and 'id="id_slot-error"' in response.text
    assert 'value="Kai"' in response.text


def test_missing_details_are_named(clinic, staff, book):
    response = post(clinic, form_data(clinic, email="", birth_date=""))
    assert "Email: This field is required." in response.text
    assert "Date of birth: This field is required." in response.text
    assert not OnlineBooking.objects.exists()


def test_the_honeypot_answers_the_same_and_books_nothing(clinic, staff, patient, book):
    response = post(clinic, form_data(clinic, website="http://spam.example"))
    assert "Check your email" in response.text
    assert not OnlineBooking.objects.exists() and not Appointment.objects.exists()


def test_the_rate_limit_per_address_and_per_clinic(clinic, staff, book, settings):
    settings.ONLINE_BOOKING_PER_ADDRESS_HOUR = 2
    settings.ONLINE_BOOKING_PER_CLINIC_HOUR = 4
    for hour in (10, 11):
        post(clinic, form_data(clinic, hour=hour, website="x"))
    refused = post(clinic, form_data(clinic, hour=12))
    assert "Too many bookings" in refused.text and 'value="Elena"' in refused.text
    # Another address still gets through, until the clinic's own limit.
    assert (
        "Check your email" in post(clinic, form_data(clinic, hour=13), address="198.51.100.1").text
    )
    again = post(clinic, form_data(clinic, hour=14), address="198.51.100.2")
    assert "Too many bookings" in again.text
    assert BookingAttempt.objects.count() == 5
    # An hour later the counts start again.
    with time_machine.travel(timedelta(hours=1, minutes=1)):
        assert "Check your email" in post(clinic, form_data(clinic, hour=15)).text


def test_a_tampered_or_expired_confirm_link_is_refused(
    clinic, staff, patient, book, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(clinic, form_data(clinic))
    appointment = Appointment.objects.get()
    url = links.confirm_url(appointment).removeprefix("http://testserver")
    tampered = url.replace("/confirm/", "/confirm/x")
    assert Client().get(tampered).status_code == 404
    forged = signing.dumps({"p": "confirm", "id": str(appointment.pk), "s": "x"}, salt="other")
    assert Client().get(reverse("booking:confirm", args=[forged])).status_code == 404
    # A cancel link is not a confirm link.
    cancel_token = links.cancel_url(appointment).rstrip("/").rsplit("/", 1)[1]
    assert Client().get(reverse("booking:confirm", args=[cancel_token])).status_code == 404
    assert Client().post(tampered).status_code == 404
    with time_machine.travel(timedelta(hours=settings.BOOKING_CONFIRM_LINK_HOURS + 1)):
        expired = Client().get(url)
        expired_post = Client().post(url)
    assert expired.status_code == 404 and "expired" in expired.text
    assert expired_post.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_moved_appointment_old_links_stop_working(clinic, staff, patient, book):
    post(clinic, form_data(clinic))
    appointment = Appointment.objects.get()
    old = links.cancel_url(appointment).removeprefix("http://testserver")
    services.do_move(
        staff["reception"], appointment, starts_at=appointment.starts_at + timedelta(hours=1)
    )
    assert Client().get(old).status_code == 404


@pytest.mark.parametrize(("days", "late"), [(10, False), (1, True)])
def test_cancel_link_applies_the_notice_period(clinic, staff, patient, book, days, late):
    post(clinic, form_data(clinic, days=days, hour=16))
    appointment = Appointment.objects.get()
    url = links.cancel_url(appointment).removeprefix("http://testserver")
    page = Client().get(url)
    assert ("late cancellation" in page.text) is late
    done = Client().post(url)
    assert done.status_code == 200 and "is cancelled" in done.text
    assert ("recorded as a late cancellation" in done.text) is late
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by == CancelledBy.PATIENT and appointment.cancelled_late is late
    assert AuditEvent.objects.get(action="appointment.cancelled").actor_id is None
    # Cancelling twice does nothing more.
    assert "no longer open" in Client().get(url).text


def test_another_clinics_pending_booking_answers_404(clinic, staff, book, client_as, other_clinic):
    post(clinic, form_data(clinic, email="new@example.org"))
    booking = OnlineBooking.objects.get()
    outsider = client_as("outsider")
    url = reverse("scheduling:online_decide", args=[booking.pk, "accept"])
    assert outsider.post(url).status_code == 404
    assert "new@example.org" not in outsider.get(reverse("scheduling:online_pending")).text
    booking.refresh_from_db()
    assert booking.status == OnlineBookingStatus.PENDING
    # The practitioner cannot act on the reception screen.
    assert client_as("practitioner").get(reverse("scheduling:online_pending")).status_code == 403


def test_a_patient_of_another_clinic_is_never_matched(clinic, staff, book, other_clinic, outsider):
    create_patient(other_clinic, outsider)
    post(clinic, form_data(clinic))
    assert OnlineBooking.objects.get().status == OnlineBookingStatus.PENDING
    assert not Appointment.objects.exists()
