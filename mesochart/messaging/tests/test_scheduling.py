"""Reminders at the clinic's offsets, follow-up messages and the due-messages sweep."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from mesochart.care.models import FollowUp, FollowUpKind, TreatmentSession
from mesochart.messaging import services
from mesochart.messaging.models import Message, MessageKind, MessageStatus
from mesochart.messaging.models import MessagingSettings as ClinicMessaging
from mesochart.messaging.tests.conftest import sms_sent

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


def appointment_at(days: int = 5, hour: int = 14) -> datetime:
    day = timezone.now().astimezone(LONDON).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=LONDON)


def test_reminders_are_queued_at_the_default_48_and_24_hours(patient):
    when = appointment_at()
    messages = services.schedule_reminders(
        MessageKind.APPOINTMENT_REMINDER, patient, when, {"what": "Consultation"}, "appt:1"
    )
    assert sorted({(m.due_at, m.channel) for m in messages}) == sorted(
        (when - timedelta(hours=h), c) for h in (48, 24) for c in ("email", "sms")
    )
    assert all(m.status == MessageStatus.QUEUED for m in messages)
    # The time is shown in the clinic's own time zone.
    email = next(m for m in messages if m.channel == "email")
    assert "14:00" in email.body and "Consultation" in email.body
    # Scheduling again adds nothing.
    again = services.schedule_reminders(
        MessageKind.APPOINTMENT_REMINDER, patient, when, {}, "appt:1"
    )
    assert {m.pk for m in again} == {m.pk for m in messages} and Message.objects.count() == 4


def test_the_clinic_tunes_the_offsets_and_a_past_offset_is_left_out(patient, staff):
    services.do_update_settings(
        staff["manager"],
        patient.clinic,
        {
            "reminder_offsets_hours": [72, 2],
            "channels": ["sms"],
            "send_hour": 9,
            "early_check_messages": True,
            "next_session_messages": True,
            "next_session_notice_days": 7,
        },
    )
    when = timezone.now() + timedelta(hours=30)
    messages = services.schedule_reminders(
        MessageKind.APPOINTMENT_REMINDER, patient, when, {}, "appt:2"
    )
    assert [(m.channel, m.due_at) for m in messages] == [("sms", when - timedelta(hours=2))]


def test_reminders_are_sent_when_due_by_the_command_and_cancelled_ones_never(patient, settings):
    when = appointment_at(days=3)
    services.schedule_reminders(MessageKind.APPOINTMENT_REMINDER, patient, when, {}, "appt:3")
    services.schedule_reminders(MessageKind.APPOINTMENT_REMINDER, patient, when, {}, "appt:4")
    assert services.cancel_messages("appt:4:") == 4
    call_command("send-due-messages", verbosity=0)
    assert mail.outbox == []  # nothing due yet
    with time_machine.travel(when - timedelta(hours=47)):
        call_command("send-due-messages", verbosity=0)
        call_command("send-due-messages", verbosity=0)
    assert len(mail.outbox) == 1 and len(sms_sent(settings)) == 1
    with time_machine.travel(when - timedelta(hours=23)):
        call_command("send-due-messages", verbosity=0)
    assert len(mail.outbox) == 2 and len(sms_sent(settings)) == 2
    assert Message.objects.filter(status=MessageStatus.CANCELLED).count() == 4


def test_a_naive_time_is_refused(patient):
    from mesochart.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.schedule_reminders(
            MessageKind.APPOINTMENT_REMINDER,
            patient,
            datetime(2030, 1, 1, 9, tzinfo=LONDON).replace(tzinfo=None),
            {},
            "x",
        )


def follow_up(patient, staff, kind, due):
    session = TreatmentSession.objects.create(
        organisation_id=patient.organisation_id,
        clinic=patient.clinic,
        patient=patient,
        protocol="skin-booster-ha",
        scheduled_for=due - timedelta(days=2),
        created_by=staff["practitioner"],
    )
    return FollowUp.objects.create(
        organisation_id=patient.organisation_id,
        clinic=patient.clinic,
        patient=patient,
        session=session,
        kind=kind,
        due=due,
    )


def test_the_result_check_goes_out_on_its_day_from_the_clinics_hour(patient, staff, settings):
    local_day = datetime(2030, 3, 4, 8, 0, tzinfo=LONDON)
    fu = follow_up(patient, staff, FollowUpKind.EARLY_CHECK, local_day.date())
    with time_machine.travel(local_day - timedelta(days=1, hours=-3)):
        assert services.send_due_messages()["follow_up_messages"] == 0  # the day before
    with time_machine.travel(local_day):
        assert services.send_due_messages()["follow_up_messages"] == 0  # before 09:00
    with time_machine.travel(local_day + timedelta(hours=2)):
        counts = services.send_due_messages()
        assert counts["follow_up_messages"] == 2 and counts["sent"] == 2
        assert services.send_due_messages() == {
            "follow_up_messages": 0,
            "sent": 0,
            "failed": 0,
            "retrying": 0,
        }
    assert len(mail.outbox) == 1 and "2 March 2030" in mail.outbox[0].body
    assert {m.key for m in Message.objects.all()} == {
        f"followup:{fu.pk}:email",
        f"followup:{fu.pk}:sms",
    }


def test_the_next_session_message_goes_out_the_set_days_before(patient, staff):
    ClinicMessaging.objects.create(
        clinic=patient.clinic, next_session_notice_days=3, channels=["email"]
    )
    due = datetime(2030, 5, 10, 10, 0, tzinfo=LONDON)
    follow_up(patient, staff, FollowUpKind.NEXT_SESSION, due.date())
    with time_machine.travel(due - timedelta(days=4)):
        assert services.send_due_messages()["sent"] == 0
    with time_machine.travel(due - timedelta(days=3)):
        assert services.send_due_messages()["sent"] == 1
    assert "10 May 2030" in mail.outbox[0].body
    assert Message.objects.get().kind == MessageKind.NEXT_SESSION


def test_a_follow_up_done_or_switched_off_sends_nothing(patient, staff):
    ClinicMessaging.objects.create(clinic=patient.clinic, early_check_messages=False)
    day = datetime(2030, 6, 1, 12, 0, tzinfo=LONDON)
    follow_up(patient, staff, FollowUpKind.EARLY_CHECK, day.date())
    fu = follow_up(patient, staff, FollowUpKind.NEXT_SESSION, day.date())
    fu.status = "done"
    fu.save(update_fields=["status"])
    with time_machine.travel(day):
        assert services.send_due_messages()["follow_up_messages"] == 0
