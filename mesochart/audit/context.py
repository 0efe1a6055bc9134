"""The id of the request (or command) being served, for audit events."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("mesochart_request_id", default="")


def current_request_id() -> str:
    rid = _request_id.get()
    if not rid:
        rid = "cli-" + uuid.uuid4().hex[:16]
        _request_id.set(rid)
    return rid


def set_request_id(value: str) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
