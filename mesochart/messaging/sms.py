"""SMS backends: small and pluggable, chosen by the SMS_BACKEND setting (docs/messaging.md).

A backend has one method, ``send(to, body, reference) -> provider id``, and raises
``SmsError`` with a message staff can read when the provider refuses or cannot be reached.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class SmsError(Exception):
    """The message was not accepted; ``str()`` says why (kept as the message's error)."""


class SmsBackend(Protocol):
    def send(self, to: str, body: str, reference: str) -> str: ...


class ConsoleBackend:
    """Writes each SMS to standard output (the default: nothing leaves the machine)."""

    def send(self, to: str, body: str, reference: str) -> str:
        sys.stdout.write(f"SMS to {to} ({reference}):\n{body}\n{'-' * 40}\n")
        sys.stdout.flush()
        return f"console-{reference}"


class FileBackend:
    """Appends each SMS as one JSON line to ``SMS_FILE_PATH`` (tests, demos)."""

    def send(self, to: str, body: str, reference: str) -> str:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "to": to,
            "body": body,
            "reference": reference,
            "at": datetime.now(UTC).isoformat(),
        }
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        return f"file-{reference}"


class HttpJsonBackend:
    """A generic SMS gateway speaking JSON over HTTPS.

    POST ``SMS_HTTP_URL`` with ``{"to", "from", "body", "reference"}`` and
    ``Authorization: Bearer SMS_HTTP_TOKEN``; a 2xx answer is accepted and its JSON
    ``id`` (if any) kept as the provider's id; anything else is a failure with the
    provider's status and the start of its answer. Plain http:// only to loopback."""

    def __init__(self) -> None:
        self.url = settings.SMS_HTTP_URL
        parsed = urlparse(self.url)
        if parsed.scheme != "https" and not (
            parsed.scheme == "http" and parsed.hostname in LOOPBACK
        ):
            raise SmsError("SMS_HTTP_URL must be an https:// address")
        self.token = settings.SMS_HTTP_TOKEN
        self.sender = settings.SMS_FROM
        self.timeout = settings.SMS_HTTP_TIMEOUT

    def send(self, to: str, body: str, reference: str) -> str:
        payload = json.dumps(
            {"to": to, "from": self.sender, "body": body, "reference": reference}
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": reference,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer: Any = _json_or_empty(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace")
            raise SmsError(f"SMS provider answered {exc.code}: {detail}".strip()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsError(f"SMS provider unreachable: {reason}") from None
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""


def _json_or_empty(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}


@lru_cache(maxsize=8)
def _backend_class(path: str) -> type:
    return import_string(path)  # type: ignore[no-any-return]


def get_backend() -> SmsBackend:
    return _backend_class(settings.SMS_BACKEND)()  # type: ignore[no-any-return]
