from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from mesochart.audit.services import record
from mesochart.errors import AccountLocked, InvalidInput

from . import idle
from .idle import SESSION_ACTIVITY_KEY
from .middleware import SESSION_CLINIC_KEY
from .models import Clinic, Membership, User

BAD_CREDENTIALS = "Username or password is not correct."


def do_login(request: HttpRequest, username: str, password: str) -> User:
    """Sign in, counting failures and locking the account after too many.

    Failures are committed before the error is raised, so a lockout survives.
    """
    now = timezone.now()
    error: Exception | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        authenticated = None
        if user is not None and user.is_locked(now):
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)  # type: ignore[operator]
            record("auth.login_refused_locked", actor=None, obj=user)
            error = AccountLocked(
                "This account is locked after repeated failed sign-ins. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or ask a manager."
            )
        else:
            authenticated = authenticate(request, username=username, password=password)
            if (
                authenticated is not None
                and not Membership.objects.filter(user=authenticated, is_active=True).exists()
            ):
                authenticated = None
            if authenticated is None:
                error = InvalidInput(BAD_CREDENTIALS, field="password")
                if user is not None:
                    _count_failure(user, now)
            elif user is not None and (user.failed_logins or user.locked_until):
                user.failed_logins = 0
                user.locked_until = None
                user.save(update_fields=["failed_logins", "locked_until"])
    if error is not None:
        raise error
    assert isinstance(authenticated, User)
    login(request, authenticated)  # keeps the data of a session that had no user
    idle.after_login(request, str(authenticated.pk))
    request.session[SESSION_ACTIVITY_KEY] = now.timestamp()
    record("auth.login", actor=authenticated, obj=authenticated)
    return authenticated


def _count_failure(user: User, now: datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.locked_until = now + timedelta(minutes=settings.LOCKOUT_MINUTES)
        user.failed_logins = 0
        record("auth.lockout", actor=None, obj=user, details={"minutes": settings.LOCKOUT_MINUTES})
    else:
        record("auth.login_failed", actor=None, obj=user, details={"count": user.failed_logins})
    user.save(update_fields=["failed_logins", "locked_until"])


def do_logout(request: HttpRequest, reason: str = "signed out") -> None:
    user = request.user
    if user.is_authenticated:
        record("auth.logout", actor=user, obj=user, details={"reason": reason})  # type: ignore[arg-type]
    logout(request)


def do_switch_clinic(request: HttpRequest, clinic: Clinic) -> None:
    request.session[SESSION_CLINIC_KEY] = str(clinic.pk)
    record("auth.switch_clinic", actor=request.user, clinic=clinic, obj=clinic)  # type: ignore[arg-type]


def do_unlock_user(actor: User, clinic: Clinic, user: User) -> None:
    with transaction.atomic():
        user.failed_logins = 0
        user.locked_until = None
        user.save(update_fields=["failed_logins", "locked_until"])
        record("auth.unlock", actor=actor, clinic=clinic, obj=user)
