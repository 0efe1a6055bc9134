"""Two-factor sign-in: who needs it, what the session remembers, the enrolment QR code.

A user with a confirmed authenticator (a django-otp TOTP device) is asked for a code after
the password, every time, whatever the clinic's rule. A clinic with ``require_two_factor``
(the default) also obliges its prescribers and managers to set one up: signed in with the
password only, they can reach nothing but the enrolment page until they have.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Iterable

import segno
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Membership, Role, User

# Roles a clinic with ``require_two_factor`` obliges to use a second factor.
REQUIRED_ROLES = frozenset({Role.PRESCRIBER, Role.MANAGER})
# The session passed the second factor: the device's persistent id (or "enrolled").
VERIFIED_KEY = "two_factor_verified"
# Password accepted, code still to come: {"user": id, "at": timestamp, "next": url}.
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60
RECOVERY_CODES = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def requires_two_factor(memberships: Iterable[Membership]) -> bool:
    """Whether any active membership obliges its user to use a second factor (no query
    when the memberships come with their clinic, as the middleware loads them)."""
    return any(
        m.is_active and m.role in REQUIRED_ROLES and m.clinic.require_two_factor
        for m in memberships
    )


def user_requires_two_factor(user: User) -> bool:
    return requires_two_factor(
        Membership.objects.filter(user=user, is_active=True).select_related("clinic")
    )


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def is_enrolled(user: User) -> bool:
    """Runs a query: the user has a confirmed authenticator."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    device = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).first()
    return device.token_set.count() if device is not None else 0


def is_verified(request: HttpRequest) -> bool:
    return bool(request.session.get(VERIFIED_KEY))


def secret_base32(device: TOTPDevice) -> str:
    """The shared secret as authenticator apps type it (base32, in groups of four)."""
    raw = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (no script, no external image)."""
    return segno.make_qr(device.config_url, error="m").svg_inline(scale=4)


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def looks_like_totp(code: str) -> bool:
    return len(code) == 6 and code.isdigit()
