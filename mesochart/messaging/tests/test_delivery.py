"""Queueing and delivering messages: idempotent, retried, opted out, rendered for patients."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.messaging import services
from mesochart.messaging.models import Channel, Message, MessageKind, MessageStatus
from mesochart.messaging.tests.conftest import sms_sent

pytestmark = pytest.mark.django_db


def send_recall(patient, actor=None, key="t:1"):
    return services.send_messages(
        patient=patient,
        kind=MessageKind.RECALL_NOTICE,
        context={"treatment_day": patient.clinic.today(), "what": "product"},
        key=key,
        actor=actor,
    )


def test_a_message_is_sent_by_email_and_sms_and_logged_on_the_patient(
    patient, staff, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        messages = send_recall(patient, staff["manager"])
    assert {m.channel for m in messages} == {Channel.EMAIL, Channel.SMS}
    for m in messages:
        m.refresh_from_db()
        assert m.status == MessageStatus.SENT and m.attempts == 1 and m.sent_at
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [patient.email]
    assert "safety recall" in mail.outbox[0].body
    [sms] = sms_sent(settings)
    assert sms["to"] == patient.phone and "Elena" in sms["body"]
    assert set(patient.messages.values_list("status", flat=True)) == {MessageStatus.SENT}
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"message.queue", "message.sent"} <= actions


def test_sending_twice_with_the_same_key_sends_once(
    patient, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = send_recall(patient)
    with django_capture_on_commit_callbacks(execute=True):
        again = send_recall(patient)
    assert [m.pk for m in first] == [m.pk for m in again]
    assert Message.objects.count() == 2
    assert len(mail.outbox) == 1 and len(sms_sent(settings)) == 1


def test_delivering_a_sent_message_again_does_nothing(patient, settings):
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": patient.clinic.today()},
        key="k",
        channels=[Channel.SMS],
    )
    services.deliver(message.pk)
    services.deliver(message.pk)
    services.send_due_messages()
    assert len(sms_sent(settings)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1


def test_an_opted_out_channel_is_logged_and_never_sent(patient, staff, settings):
    services.do_set_preferences(staff["reception"], patient, email_opt_out=True, sms_opt_out=False)
    messages = send_recall(patient)
    by_channel = {m.channel: m for m in messages}
    assert by_channel[Channel.EMAIL].status == MessageStatus.SKIPPED_OPTED_OUT
    services.send_due_messages()
    assert mail.outbox == [] and len(sms_sent(settings)) == 1
    event = AuditEvent.objects.get(action="messaging.preferences")
    assert event.details["after"] == {"email_opt_out": True, "sms_opt_out": False}


def test_an_opt_out_recorded_after_queueing_stops_the_message(patient, staff):
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": None},
        key="k",
        channels=[Channel.EMAIL],
    )
    services.do_set_preferences(staff["reception"], patient, email_opt_out=True, sms_opt_out=True)
    assert services.deliver(message.pk).status == MessageStatus.SKIPPED_OPTED_OUT
    assert mail.outbox == []


def test_no_address_no_message(clinic, staff):
    from mesochart.conftest import create_patient

    mute = create_patient(clinic, staff["reception"], email="", phone="", given_name="Mute")
    assert send_recall(mute) == []
    assert not Message.objects.exists()


def test_a_failing_provider_is_retried_then_marked_failed_and_staff_retry_it(
    patient, staff, settings
):
    settings.SMS_BACKEND = "mesochart.messaging.sms.HttpJsonBackend"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/"  # discard port: nothing listens
    settings.MESSAGING_MAX_ATTEMPTS = 2
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": None},
        key="k",
        channels=[Channel.SMS],
    )
    first = services.deliver(message.pk)
    assert first.status == MessageStatus.QUEUED and first.attempts == 1
    assert "unreachable" in first.last_error and first.due_at > timezone.now()
    assert services.send_due_messages()["sent"] == 0  # not due yet
    with time_machine.travel(
        timezone.now() + timedelta(minutes=settings.MESSAGING_RETRY_MINUTES + 1)
    ):
        assert services.send_due_messages()["failed"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 2
    assert AuditEvent.objects.filter(action="message.failed", object_id=str(message.pk)).exists()

    settings.SMS_BACKEND = "mesochart.messaging.sms.FileBackend"
    services.do_retry(staff["reception"], message)
    assert services.deliver(message.pk).status == MessageStatus.SENT
    assert len(sms_sent(settings)) == 1


def test_only_a_failed_message_can_be_retried(patient, staff):
    from mesochart.errors import Conflict

    [message] = send_recall(patient)[:1]
    with pytest.raises(Conflict):
        services.do_retry(staff["reception"], message)


def test_patient_facing_text_carries_no_internal_codes(patient):
    from mesochart.care.models import TreatmentSession

    for kind in MessageKind.values:
        for channel in Channel.values:
            subject, body = services.render(
                kind,
                channel,
                patient,
                {
                    "treatment_day": patient.clinic.today(),
                    "due": patient.clinic.today(),
                    "when": timezone.now(),
                    "what": "product",
                },
            )
            text = subject + body
            assert body and "Riverside" in text
            for internal in ("_", "{{", "{%", "evidence", "Level ", "ha-nonxl"):
                assert internal not in text, (kind, channel, internal)
    assert TreatmentSession  # the kinds are those the care app's follow-ups raise


def test_settings_offsets_are_parsed_and_refused_with_the_field_named():
    from mesochart.errors import InvalidInput

    assert services.parse_offsets("24, 48h; 2") == [48, 24, 2]
    with pytest.raises(InvalidInput) as exc:
        services.parse_offsets("24, soon")
    assert exc.value.field == "reminder_offsets_hours" and "soon" in exc.value.message
    with pytest.raises(InvalidInput):
        services.parse_offsets("0")


def test_a_final_failure_notifies_the_staff_who_can_retry(
    patient, staff, settings, django_capture_on_commit_callbacks
):
    from mesochart.accounts.models import Membership
    from mesochart.messaging import notifications
    from mesochart.messaging.models import Notification, NotificationKind

    settings.SMS_BACKEND = "mesochart.messaging.sms.HttpJsonBackend"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/"
    settings.MESSAGING_MAX_ATTEMPTS = 1
    [message] = services.send_messages(
        patient=patient, kind=MessageKind.NEXT_SESSION, context={}, key="n", channels=["sms"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliver(message.pk)
    [note] = Notification.objects.all()
    assert note.kind == NotificationKind.MESSAGE_FAILED and "Elena Moreau" in note.title
    reception = Membership.objects.select_related("user").get(user=staff["reception"])
    auditor = Membership.objects.select_related("user").get(user=staff["auditor"])
    assert notifications.unread_count(reception) == 1
    assert notifications.unread_count(auditor) == 0


def test_a_message_stuck_in_sending_is_left_alone_until_staff_retry_it(patient, staff):
    [message] = services.send_messages(
        patient=patient, kind=MessageKind.NEXT_SESSION, context={}, key="s", channels=["sms"]
    )
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, attempts=1, last_attempt_at=timezone.now()
    )
    assert services.send_due_messages()["sent"] == 0
    message.refresh_from_db()
    assert not message.can_retry  # it may still be on its way
    later = timezone.now() + timedelta(minutes=20)
    with time_machine.travel(later):
        assert message.can_retry
        services.do_retry(staff["reception"], message)
        assert services.deliver(message.pk).status == MessageStatus.SENT
