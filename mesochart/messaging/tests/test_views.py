"""Staff pages of messaging: the clinic's messages with failures, a patient's messages and
opt-outs, the settings, the recall notice from the recall page; another clinic gets 404."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.messaging import services
from mesochart.messaging.models import (
    Channel,
    ContactPreference,
    Message,
    MessageKind,
    MessageStatus,
    MessagingSettings,
)
from mesochart.messaging.tests.conftest import sms_sent
from mesochart.stock import services as stock

pytestmark = pytest.mark.django_db


def failed_message(patient) -> Message:
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": patient.clinic.today()},
        key="v",
        channels=[Channel.SMS],
    )
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, attempts=3, last_error="SMS provider answered 500: down"
    )
    return Message.objects.get(pk=message.pk)


def test_the_clinics_messages_show_failures_highlighted(client_as, patient):
    message = failed_message(patient)
    response = client_as("reception").get(reverse("messaging:list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="message-{message.pk}" class="failed"' in body
    assert "1 message was not delivered" in body and "answered 500" in body
    assert "Retry" in body
    assert AuditEvent.objects.filter(action="read.messages").exists()


def test_the_list_and_a_message_run_in_few_queries(
    client_as, patient, django_assert_max_num_queries
):
    message = failed_message(patient)
    client = client_as("reception")
    with django_assert_max_num_queries(16):
        assert client.get(reverse("messaging:list")).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(reverse("messaging:message", args=[message.pk])).status_code == 200


def test_staff_retry_a_failed_message_and_it_is_sent(
    client_as, patient, settings, django_capture_on_commit_callbacks
):
    message = failed_message(patient)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as("reception").post(reverse("messaging:retry", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 4
    assert len(sms_sent(settings)) == 1
    assert AuditEvent.objects.filter(action="message.retry", actor__username="reception").exists()


def test_retrying_a_message_that_did_not_fail_is_refused(client_as, patient):
    [message] = services.send_messages(
        patient=patient, kind=MessageKind.NEXT_SESSION, context={}, key="x", channels=["sms"]
    )
    response = client_as("reception").post(reverse("messaging:retry", args=[message.pk]))
    assert response.status_code == 409
    assert "Only a failed message can be retried" in response.content.decode()


def test_an_auditor_sees_messages_but_may_not_retry(client_as, patient):
    message = failed_message(patient)
    client = client_as("auditor")
    assert client.get(reverse("messaging:message", args=[message.pk])).status_code == 200
    assert client.post(reverse("messaging:retry", args=[message.pk])).status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_another_clinics_messages_answer_404(client_as, patient, who):
    message = failed_message(patient)
    client = client_as(who)
    assert client.get(reverse("messaging:message", args=[message.pk])).status_code == 404
    assert client.post(reverse("messaging:retry", args=[message.pk])).status_code == 404
    assert client.get(reverse("messaging:patient", args=[patient.pk])).status_code == 404
    assert (
        client.post(reverse("messaging:patient", args=[patient.pk]), {"sms_opt_out": "on"})
    ).status_code == 404
    assert str(message.pk) not in client.get(reverse("messaging:list")).content.decode()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert not ContactPreference.objects.exists()


def test_reception_records_an_opt_out_on_the_patients_messages_page(client_as, patient):
    client = client_as("reception")
    url = reverse("messaging:patient", args=[patient.pk])
    response = client.post(url, {"sms_opt_out": "on"})
    assert response.status_code == 302
    pref = ContactPreference.objects.get(patient=patient)
    assert pref.sms_opt_out and not pref.email_opt_out
    body = client.get(url).content.decode()
    assert 'name="sms_opt_out" checked' in body or "checked" in body
    assert client_as("auditor").post(url, {"email_opt_out": "on"}).status_code == 403


def test_the_chart_loads_the_patients_recent_messages(client_as, patient):
    failed_message(patient)
    client = client_as("reception")
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert 'id="patient-messages"' in chart
    fragment = client.get(
        reverse("messaging:patient", args=[patient.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in fragment and "Next session due" in fragment and "Retry" in fragment


def test_the_manager_tunes_the_messaging_settings(client_as, clinic):
    client = client_as("manager")
    url = reverse("messaging:settings")
    assert "48, 24" in client.get(url).content.decode()
    data = {
        "reminder_offsets_hours": "72, 3",
        "channels": ["sms"],
        "send_hour": "10",
        "early_check_messages": "on",
        "next_session_notice_days": "5",
    }
    assert client.post(url, data).status_code == 302
    row = MessagingSettings.objects.get(clinic=clinic)
    assert row.reminder_offsets_hours == [72, 3] and row.channels == ["sms"]
    assert not row.next_session_messages and row.next_session_notice_days == 5
    assert AuditEvent.objects.filter(action="messaging.settings").exists()


def test_bad_settings_name_the_field_and_save_nothing(client_as, clinic):
    client = client_as("manager")
    response = client.post(
        reverse("messaging:settings"),
        {
            "reminder_offsets_hours": "48, tomorrow",
            "channels": ["sms"],
            "send_hour": "25",
            "next_session_notice_days": "5",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "tomorrow is not a whole number of hours" in body
    assert 'value="48, tomorrow"' in body  # nothing typed is lost
    assert not MessagingSettings.objects.exists()
    assert client_as("reception").get(reverse("messaging:settings")).status_code == 403


@pytest.fixture
def recalled(clinic, staff, patient):
    manager = staff["manager"]
    lot = stock.do_receive_lot(
        manager,
        clinic,
        product="ha-nonxl-vitamins",
        lot_number="V-77",
        expiry=clinic.today() + timedelta(days=200),
        quantity=Decimal("10"),
        unit="mL",
        storage="room",
    )
    hugo = create_patient(clinic, manager, given_name="Hugo", family_name="Brooks", sex="male")
    mute = create_patient(
        clinic, manager, given_name="Ana", family_name="Silva", email="", phone=""
    )
    for who in (patient, hugo, mute):
        stock.do_administer(staff["practitioner"], clinic, lot, who, Decimal("1.0"), "cheek_left")
    return {"patient": patient, "hugo": hugo, "mute": mute}


def test_the_manager_sends_the_recall_notice_once_to_every_patient_reached(
    client_as, recalled, settings, django_capture_on_commit_callbacks
):
    client = client_as("manager")
    page = client.get(reverse("recall:index"), {"kind": "lot", "identifier": "V-77"})
    assert "Send the recall notice to 3 patients" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("messaging:recall_notice"), {"kind": "lot", "identifier": "V-77"}
        )
    assert response.status_code == 302 and response["Location"].endswith("#results")
    body = client.get(response["Location"]).content.decode()
    assert "Recall notice sent to 2 patients." in body
    assert "No email or phone number for: Ana Silva." in body
    assert len(mail.outbox) == 2 and len(sms_sent(settings)) == 2
    assert all("V-77" not in m.body and "vitamins" not in m.body for m in mail.outbox)
    assert body.count('data-status="sent"') == 4
    events = AuditEvent.objects.filter(action="recall.notice")
    assert {e.object_id for e in events} == {
        str(recalled["patient"].pk),
        str(recalled["hugo"].pk),
    }
    # Sending again reaches nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            reverse("messaging:recall_notice"), {"kind": "lot", "identifier": "V-77"}, follow=True
        ).content.decode()
    assert "Recall notice sent to 0 patients." in again
    assert "2 patients already had this notice: not sent again." in again
    assert len(mail.outbox) == 2 and AuditEvent.objects.filter(action="recall.notice").count() == 2


def test_only_a_manager_sends_recall_notices(client_as, recalled):
    response = client_as("auditor").post(
        reverse("messaging:recall_notice"), {"kind": "lot", "identifier": "V-77"}
    )
    assert response.status_code == 403
    assert not Message.objects.exists()
    page = client_as("auditor").get(reverse("recall:index"), {"kind": "lot", "identifier": "V-77"})
    assert "Send the recall notice" not in page.content.decode()


def test_a_recall_of_another_clinic_sends_nothing_to_its_patients(client_as, recalled):
    response = client_as("neighbour").post(
        reverse("messaging:recall_notice"), {"kind": "lot", "identifier": "V-77"}
    )
    assert response.status_code == 302
    assert not Message.objects.exists()


def test_the_practitioner_has_a_revocable_calendar_feed(client, client_as, clinic, staff, patient):
    from mesochart.care.services import lifecycle

    lifecycle.do_create_session(
        staff["practitioner"],
        clinic,
        patient,
        protocol="skin-booster",
        scheduled_for=clinic.today() + timedelta(days=3),
    )
    practitioner = client_as("practitioner")
    url = reverse("messaging:feed_settings")
    assert practitioner.post(url, {"action": "create"}).status_code == 302
    page = practitioner.get(url).content.decode()
    feed_url = page.split('id="feed-url" type="text" readonly value="')[1].split('"')[0]
    ics = client.get(feed_url)
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    text = ics.content.decode()
    assert "BEGIN:VEVENT" in text and f"({patient.mrn})" in text and "E.M." in text
    assert "Moreau" not in text and "skin-booster" not in text
    # Another practitioner's feed does not list it.
    assert client_as("prescriber").post(url, {"action": "create"}).status_code == 302
    assert AuditEvent.objects.filter(action="calendar_feed.create").count() == 2
    assert practitioner.post(url, {"action": "revoke"}).status_code == 302
    assert client.get(feed_url).status_code == 404
    assert client.get(reverse("messaging:feed", args=["nonsense"])).status_code == 404
    assert client_as("reception").get(url).status_code == 403


def test_a_feed_stops_when_its_owner_leaves_the_clinic(client, client_as, staff, clinic):
    from mesochart.accounts.models import Membership
    from mesochart.messaging import calendar

    feed = calendar.do_create_feed(staff["practitioner"], clinic)
    assert client.get(reverse("messaging:feed", args=[feed.token])).status_code == 200
    Membership.objects.filter(user=staff["practitioner"]).update(is_active=False)
    assert client.get(reverse("messaging:feed", args=[feed.token])).status_code == 404


def test_the_patients_own_calendar_carries_no_protocol_code(client_as, clinic, staff, patient):
    from mesochart.care.calendar import patient_ics
    from mesochart.care.services import lifecycle

    lifecycle.do_create_session(
        staff["practitioner"],
        clinic,
        patient,
        protocol="skin-booster",
        scheduled_for=clinic.today() + timedelta(days=3),
    )
    text = patient_ics(patient, "clinic.example")
    assert "Planned treatment session." in text and "skin-booster" not in text
    assert timezone.now()
