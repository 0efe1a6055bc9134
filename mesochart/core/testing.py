"""Helpers for the test suites (imported by tests only)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

_CSRF = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')


def strip_csrf(content: bytes) -> bytes:
    """A page without its per-response CSRF tokens, for comparing two pages."""
    return _CSRF.sub(rb"\1", content)


def race(workers: int, action: Callable[[int], object]) -> list[object]:
    """Run ``action(i)`` in ``workers`` threads released together; each thread has its
    own database connection. Returns each result, or the exception it raised."""
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        except Exception as exc:  # the outcome is what the caller checks
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# --- two-factor sign-in in tests --------------------------------------------------------
# Clinics made by the fixtures keep the real default (prescribers and managers must use a
# second factor). These helpers give such a user a real authenticator and pass the second
# step the way the user would, so tests of everything else sign in as before.


def enrol_two_factor(user: Any) -> Any:
    """A confirmed authenticator (TOTP device) and a recovery-code device for ``user``,
    unless they have them; returns the TOTP device."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from mesochart.accounts import two_factor

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name=two_factor.TOTP_DEVICE_NAME, confirmed=True
        )
    StaticDevice.objects.get_or_create(
        user=user, name=two_factor.RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    return device


def fresh_recovery_code(user: Any) -> str:
    """A new single-use recovery code of ``user`` (enrolled first if needed): unlike a
    TOTP code it can be had any number of times within one 30-second step."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    from mesochart.accounts import two_factor

    enrol_two_factor(user)
    device = StaticDevice.objects.get(user=user, name=two_factor.RECOVERY_DEVICE_NAME)
    token = StaticToken.random_token()
    StaticToken.objects.create(device=device, token=token)
    return token


def needs_two_factor(user: Any) -> bool:
    from mesochart.accounts import two_factor

    return two_factor.user_requires_two_factor(user) or two_factor.is_enrolled(user)


def pass_two_factor(client: Any, user: Any) -> None:
    """After ``client.force_login(user)``: the session has passed the second factor (with
    a real authenticator of the user's) when the user's clinic requires one."""
    from mesochart.accounts import two_factor

    if not needs_two_factor(user):
        return
    device = enrol_two_factor(user)
    session = client.session
    session[two_factor.VERIFIED_KEY] = device.persistent_id
    session.save()


def login_with_two_factor(client: Any, user: Any) -> None:
    """``client.force_login(user)`` plus the second factor where one is required; the idle
    clock starts, as at a real sign-in (``accounts.services``)."""
    import time

    from mesochart.accounts.idle import SESSION_ACTIVITY_KEY

    client.force_login(user)
    pass_two_factor(client, user)
    session = client.session
    session[SESSION_ACTIVITY_KEY] = time.time()
    session.save()


def finish_sign_in(client: Any, response: Any, username: str) -> Any:
    """After the password was posted: when the answer asks for the code, post a fresh
    recovery code of ``username`` and return that answer; else the answer itself."""
    from django.urls import reverse

    from mesochart.accounts.models import User

    if response.status_code != 302 or response["Location"] != reverse("accounts:login_code"):
        return response
    code = fresh_recovery_code(User.objects.get(username=username))
    return client.post(reverse("accounts:login_code"), {"code": code})


def sign_in_with_password(
    client: Any, username: str, password: str, *, path: str = "", **extra: Any
) -> Any:
    """Sign in through the login form, the second step included when the user has (or
    must have) an authenticator. Returns the last answer."""
    from django.urls import reverse

    from mesochart.accounts.models import User

    user = User.objects.filter(username=username).first()
    if user is not None and needs_two_factor(user):
        enrol_two_factor(user)
    response = client.post(
        path or reverse("accounts:login"), {"username": username, "password": password}, **extra
    )
    return finish_sign_in(client, response, username)
