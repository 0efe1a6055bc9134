"""Signed links a patient gets by email: confirm an appointment, cancel it.

A link carries the appointment's id and its start time, signed with the site's secret
(``django.core.signing``): a tampered link is refused, a moved appointment's old links stop
working (its new time is in the new message). A confirm link expires after
``BOOKING_CONFIRM_LINK_HOURS``; a cancel link works while the appointment is still open.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "mesochart.scheduling.links"
PURPOSES = ("confirm", "cancel", "email")


class BadLink(Exception):
    """The link is tampered with, expired or no longer matches the appointment."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "bad link")
        self.expired = expired


def make_token(purpose: str, obj_id: Any, stamp: str) -> str:
    return signing.dumps({"p": purpose, "id": str(obj_id), "s": stamp}, salt=SALT, compress=True)


def read_token(token: str, purpose: str, max_age_hours: int | None = None) -> tuple[str, str]:
    """``(id, stamp)`` of a valid token for ``purpose``; ``BadLink`` otherwise."""
    try:
        data = signing.loads(
            token,
            salt=SALT,
            max_age=None if max_age_hours is None else max_age_hours * 3600,
        )
    except signing.SignatureExpired:
        raise BadLink(expired=True) from None
    except signing.BadSignature:
        raise BadLink() from None
    if not isinstance(data, dict) or data.get("p") != purpose:
        raise BadLink()
    return str(data.get("id", "")), str(data.get("s", ""))


def appointment_stamp(appointment: Any) -> str:
    return appointment.starts_at.isoformat()


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def confirm_url(appointment: Any) -> str:
    token = make_token("confirm", appointment.pk, appointment_stamp(appointment))
    return absolute(reverse("booking:confirm", kwargs={"token": token}))


def cancel_url(appointment: Any) -> str:
    token = make_token("cancel", appointment.pk, appointment_stamp(appointment))
    return absolute(reverse("booking:cancel", kwargs={"token": token}))
