"""The JSON-over-HTTPS SMS adapter against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from mesochart.messaging import services
from mesochart.messaging.models import Channel, MessageKind, MessageStatus
from mesochart.messaging.sms import HttpJsonBackend, SmsError


class Gateway:
    """A tiny SMS provider: records each request, answers with ``status`` and ``answer``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 201
        self.answer: bytes = b'{"id": "prov-123"}'


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_sms(settings: Any, gateway: tuple[Gateway, str]) -> Gateway:
    state, url = gateway
    settings.SMS_BACKEND = "mesochart.messaging.sms.HttpJsonBackend"
    settings.SMS_HTTP_URL = url
    settings.SMS_HTTP_TOKEN = "secret-token"
    settings.SMS_FROM = "Riverside"
    return state


def test_the_adapter_posts_json_with_the_token_and_keeps_the_provider_id(http_sms):
    assert HttpJsonBackend().send("+447700900123", "Hello", "ref-1") == "prov-123"
    [request] = http_sms.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    assert request["headers"]["Idempotency-Key"] == "ref-1"
    assert request["json"] == {
        "to": "+447700900123",
        "from": "Riverside",
        "body": "Hello",
        "reference": "ref-1",
    }


def test_a_refusal_names_the_status_and_the_providers_answer(http_sms):
    http_sms.status, http_sms.answer = 422, b'{"error": "invalid number"}'
    with pytest.raises(SmsError) as exc:
        HttpJsonBackend().send("+0", "Hello", "ref-2")
    assert "422" in str(exc.value) and "invalid number" in str(exc.value)


def test_plain_http_is_refused_except_to_loopback(settings):
    settings.SMS_HTTP_URL = "http://sms.example.org/send"
    with pytest.raises(SmsError, match="https"):
        HttpJsonBackend()


@pytest.mark.django_db
def test_a_message_delivered_through_the_gateway_is_sent_once(http_sms, patient):
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": patient.clinic.today()},
        key="gw",
        channels=[Channel.SMS],
    )
    services.send_due_messages()
    services.send_due_messages()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_id == "prov-123"
    assert len(http_sms.requests) == 1
    assert http_sms.requests[0]["json"]["reference"] == str(message.pk)


@pytest.mark.django_db
def test_a_gateway_error_is_kept_on_the_message(http_sms, patient):
    http_sms.status, http_sms.answer = 503, b"busy"
    [message] = services.send_messages(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        context={"due": None},
        key="gw",
        channels=[Channel.SMS],
    )
    message = services.deliver(message.pk)
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.last_error == "SMS provider answered 503: busy"
