from __future__ import annotations

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesochart.audit.services import record
from mesochart.errors import AccountLocked, InvalidInput

from . import idle
from .idle import SESSION_ACTIVITY_KEY
from .middleware import SESSION_CLINIC_KEY
from .models import Clinic, Membership, User
from .throttle import client_address

BAD_CREDENTIALS = _("Username or password is not correct.")
THROTTLED = _(
    "Too many failed sign-ins for this username from this computer. "
    "Wait up to %(minutes)d minutes before trying again."
)


def do_login(request: HttpRequest, username: str, password: str) -> User:
    """Sign in. django-axes counts failures per address and username together
    (``mesochart.accounts.throttle``); every refusal is audited, for known and unknown
    usernames alike, and answers the same for both."""
    now = timezone.now()
    authenticated = authenticate(request, username=username, password=password)
    if (
        authenticated is not None
        and not Membership.objects.filter(user=authenticated, is_active=True).exists()
    ):
        # Right password, no active membership: a failure like any other, for axes too.
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        authenticated = None
    if authenticated is None:
        locked = bool(getattr(request, "axes_locked_out", False))
        known = User.objects.filter(username=username).values_list("pk", flat=True).first()
        record(
            "auth.login_failed",
            actor=None,
            object_type="accounts.user",
            object_id=str(known or ""),
            details={
                "username": username[:150],
                "address": client_address(request),
                "throttled": locked,
            },
        )
        if locked:
            minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
            raise AccountLocked(THROTTLED % {"minutes": minutes})
        raise InvalidInput(str(BAD_CREDENTIALS), field="password")
    assert isinstance(authenticated, User)
    login(request, authenticated)  # keeps the data of a session that had no user
    idle.after_login(request, str(authenticated.pk))
    request.session[SESSION_ACTIVITY_KEY] = now.timestamp()
    record("auth.login", actor=authenticated, obj=authenticated)
    return authenticated


def do_logout(request: HttpRequest, reason: str = "signed out") -> None:
    user = request.user
    if user.is_authenticated:
        record("auth.logout", actor=user, obj=user, details={"reason": reason})  # type: ignore[arg-type]
    logout(request)


def do_switch_clinic(request: HttpRequest, clinic: Clinic) -> None:
    request.session[SESSION_CLINIC_KEY] = str(clinic.pk)
    record("auth.switch_clinic", actor=request.user, clinic=clinic, obj=clinic)  # type: ignore[arg-type]


def do_unlock_user(actor: User, clinic: Clinic, user: User) -> None:
    """Forget every throttled sign-in of ``user`` (from every address)."""
    with transaction.atomic():
        cleared = axes_reset(username=user.get_username())
        record("auth.unlock", actor=actor, clinic=clinic, obj=user, details={"cleared": cleared})
