"""In real Chromium: the manager sends a recall notice from the recall page, sees which
deliveries went out and which failed (the SMS provider is down), and retries the failure
once the provider is back."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mesochart.conftest import browser_sign_in
from mesochart.messaging.models import Message, MessageStatus
from mesochart.messaging.tests.conftest import sms_sent
from mesochart.stock import services as stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_recall_notice_is_sent_a_failed_sms_is_shown_and_retried(
    live_server: Any,
    page: Any,
    clinic: Any,
    staff: Any,
    patient: Any,
    settings: Any,
    artifacts: Any,
) -> None:
    lot = stock.do_receive_lot(
        staff["manager"],
        clinic,
        product="ha-nonxl-vitamins",
        lot_number="BRW-77",
        expiry=clinic.today() + timedelta(days=200),
        quantity=Decimal("10"),
        unit="mL",
        storage="room",
    )
    stock.do_administer(staff["practitioner"], clinic, lot, patient, Decimal("1.0"), "cheek_left")
    # The SMS provider cannot be reached; one attempt, then the message shows as failed.
    settings.SMS_BACKEND = "mesochart.messaging.sms.HttpJsonBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{closed_port()}/sms"
    settings.MESSAGING_MAX_ATTEMPTS = 1

    browser_sign_in(page, live_server, "manager")
    page.click("nav.mainnav >> text=Recall")
    page.fill("#id_identifier", "BRW-77")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#results")
    page.click("#recall-notice button[type=submit]")
    page.wait_for_selector("ul.messages")
    assert "Recall notice sent to 1 patient." in page.inner_text("ul.messages")
    row = page.locator(f"#patient-{patient.pk} td.notices")
    text = row.inner_text()
    assert "Email: Sent" in text
    assert "SMS: Failed" in text and "SMS provider unreachable" in text
    page.screenshot(path=str(artifacts / "messaging-recall-notice-failed.png"), full_page=True)

    # The failure is on the clinic's messages page too, highlighted, and in the header.
    page.wait_for_function(
        "() => document.querySelector('#notifications-link .count').textContent.trim() === '1'"
    )
    page.click("nav.mainnav >> text=Messages")
    assert "1 message was not delivered" in page.inner_text("#failed-count")
    failed = Message.objects.get(status=MessageStatus.FAILED)
    assert page.locator(f"#message-{failed.pk}.failed").count() == 1

    # The provider is back: retrying from the recall page delivers it.
    settings.SMS_BACKEND = "mesochart.messaging.sms.FileBackend"
    page.go_back()
    page.wait_for_selector("#results")
    page.click(f"#patient-{patient.pk} td.notices button:has-text('Retry')")
    page.wait_for_url(re.compile(r".*/recall/\?.*"))
    page.wait_for_selector(f"#patient-{patient.pk} td.notices")
    assert "SMS: Sent" in page.locator(f"#patient-{patient.pk} td.notices").inner_text()
    assert "Retry" not in page.locator(f"#patient-{patient.pk} td.notices").inner_text()
    assert len(sms_sent(settings)) == 1
    failed.refresh_from_db()
    assert failed.status == MessageStatus.SENT and failed.attempts == 2


def test_a_retry_the_server_refuses_is_shown_where_the_user_looks(
    live_server: Any, page: Any, clinic: Any, staff: Any, patient: Any, settings: Any
) -> None:
    from mesochart.messaging import services
    from mesochart.messaging.models import Channel, MessageKind

    settings.SMS_BACKEND = "mesochart.messaging.sms.HttpJsonBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{closed_port()}/sms"
    settings.MESSAGING_MAX_ATTEMPTS = 1
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": clinic.today()},
        key="browser",
        channels=[Channel.SMS],
    )
    services.deliver(message.pk)
    browser_sign_in(page, live_server, "reception")
    page.goto(f"{live_server.url}/messages/{message.pk}/")
    assert "Failed" in page.inner_text("main")
    # Someone else retried it meanwhile (it is queued again): this retry is refused.
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.QUEUED)
    page.click("main button:has-text('Retry')")
    page.wait_for_selector("text=Only a failed message can be retried")
