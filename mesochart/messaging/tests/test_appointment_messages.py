"""The appointment book's changes queue the patient's confirmation and reminders; the
practitioner's feed and the patient's own calendar carry the appointments."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from mesochart.care.calendar import patient_ics
from mesochart.messaging import calendar as feeds
from mesochart.messaging.models import Message, MessageKind, MessageStatus
from mesochart.scheduling import services
from mesochart.scheduling.models import CancelledBy
from mesochart.scheduling.tests.factories import appt_type, at, give_hours, setup_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(clinic, staff, settings):
    settings.SITE_URL = "https://clinic.example"
    return setup_book(clinic, staff)


def next_weekday(clinic, days):
    day = clinic.today() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def book_one(clinic, staff, patient, capture, day, hour=10):
    with capture(execute=True):
        return services.do_book(
            staff["reception"],
            clinic,
            patient=patient,
            appt_type=appt_type(clinic, "skin-revitalisation"),
            practitioner=staff["practitioner"],
            starts_at=at(clinic, day, hour),
        )


def email_rows(appointment, **filters):
    return Message.objects.filter(
        key__startswith=f"appointment:{appointment.pk}:", channel="email", **filters
    )


def test_booking_queues_a_confirmation_and_two_reminders_per_channel(
    clinic, staff, patient, book, django_capture_on_commit_callbacks
):
    appointment = book_one(
        clinic, staff, patient, django_capture_on_commit_callbacks, next_weekday(clinic, 6)
    )
    confirmation = Message.objects.get(kind=MessageKind.APPOINTMENT_CONFIRMATION, channel="email")
    assert confirmation.status == MessageStatus.SENT  # the immediate task backend in tests
    assert "https://clinic.example/book/confirm/" in confirmation.body
    assert "https://clinic.example/book/cancel/" in confirmation.body
    # Patient-facing: the kind of visit, no protocol code.
    assert "skin-revitalisation" not in confirmation.body
    reminders = email_rows(appointment, kind=MessageKind.APPOINTMENT_REMINDER)
    assert sorted(m.due_at for m in reminders) == [
        appointment.starts_at - timedelta(hours=48),
        appointment.starts_at - timedelta(hours=24),
    ]
    assert Message.objects.filter(kind=MessageKind.APPOINTMENT_REMINDER).count() == 4  # + SMS
    # The same change handled again adds nothing (idempotent keys).
    from mesochart.messaging.appointments import on_appointment_changed

    on_appointment_changed(None, appointment=appointment, change="booked", actor=None)
    assert Message.objects.count() == 6


def test_moving_replaces_the_reminders_and_cancelling_cancels_them(
    clinic, staff, patient, book, django_capture_on_commit_callbacks
):
    day = next_weekday(clinic, 6)
    appointment = book_one(clinic, staff, patient, django_capture_on_commit_callbacks, day)
    old = set(email_rows(appointment, kind=MessageKind.APPOINTMENT_REMINDER))
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.do_move(
            staff["reception"], appointment, starts_at=at(clinic, day + timedelta(days=1), 11)
        )
    for message in old:
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED
    new = email_rows(moved, kind=MessageKind.APPOINTMENT_REMINDER, status=MessageStatus.QUEUED)
    assert sorted(m.due_at for m in new) == [
        moved.starts_at - timedelta(hours=48),
        moved.starts_at - timedelta(hours=24),
    ]
    # A new confirmation for the new time.
    assert email_rows(moved, kind=MessageKind.APPOINTMENT_CONFIRMATION).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.do_cancel(staff["reception"], moved, by=CancelledBy.PATIENT, reason="Away")
    assert not Message.objects.filter(
        kind=MessageKind.APPOINTMENT_REMINDER, status=MessageStatus.QUEUED
    ).exists()


def test_the_due_reminder_is_sent_once_by_the_command(
    clinic, staff, patient, book, django_capture_on_commit_callbacks
):
    appointment = book_one(
        clinic, staff, patient, django_capture_on_commit_callbacks, next_weekday(clinic, 6)
    )
    mail.outbox.clear()
    with time_machine.travel(appointment.starts_at - timedelta(hours=47)):
        call_command("send-due-messages", verbosity=0)
        call_command("send-due-messages", verbosity=0)
    reminders = [m for m in mail.outbox if "Reminder" in m.subject]
    assert len(reminders) == 1 and "/book/cancel/" in reminders[0].body
    assert email_rows(appointment, status=MessageStatus.SENT).count() == 2  # + confirmation


def test_the_practitioner_feed_and_the_patient_calendar_list_the_appointment(
    clinic, staff, patient, book, django_capture_on_commit_callbacks
):
    appointment = book_one(
        clinic, staff, patient, django_capture_on_commit_callbacks, next_weekday(clinic, 3)
    )
    feed = feeds.do_create_feed(staff["practitioner"], clinic)
    body = feeds.feed_ics(feed, "https://clinic.example", "clinic.example").decode()
    assert f"appointment-{appointment.pk}@clinic.example" in body
    assert "Treatment: E.M." in body and patient.family_name not in body
    assert "skin-revitalisation" not in body
    ics = patient_ics(patient, "clinic.example")
    assert f"appointment-{appointment.pk}@clinic.example" in ics
    assert "skin-revitalisation" not in ics and "Treatment" in ics
    # Another practitioner's feed does not list it.
    give_hours(clinic, staff["manager"], staff["prescriber"])
    other = feeds.do_create_feed(staff["prescriber"], clinic)
    assert str(appointment.pk) not in feeds.feed_ics(other, "https://x", "x").decode()
