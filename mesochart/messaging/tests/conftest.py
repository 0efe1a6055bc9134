from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _sms_to_file(settings: Any, tmp_path: Any) -> None:
    """SMS of a test go to its own file; email to Django's in-memory outbox."""
    settings.SMS_BACKEND = "mesochart.messaging.sms.FileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms.jsonl"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def sms_sent(settings: Any) -> list[dict[str, Any]]:
    import json
    from pathlib import Path

    path = Path(settings.SMS_FILE_PATH)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
