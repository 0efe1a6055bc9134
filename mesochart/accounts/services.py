from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mesochart.audit.services import record
from mesochart.errors import AccountLocked, Conflict, InvalidInput

from . import idle, two_factor
from .idle import SESSION_ACTIVITY_KEY
from .middleware import SESSION_CLINIC_KEY
from .models import Clinic, Membership, Role, User
from .throttle import client_address

logger = logging.getLogger(__name__)

BAD_CREDENTIALS = _("Username or password is not correct.")
THROTTLED = _(
    "Too many failed sign-ins for this username from this computer. "
    "Wait up to %(minutes)d minutes before trying again. A manager can unlock your "
    "sign-in sooner: Staff page, your name, Unlock sign-in."
)


def do_login(request: HttpRequest, username: str, password: str) -> User | None:
    """Sign in with the password. django-axes counts failures per address and username
    together (``mesochart.accounts.throttle``); every refusal is audited, for known and
    unknown usernames alike, and answers the same for both.

    A user with an authenticator is not signed in yet: the password step is remembered in
    the session (``two_factor.PENDING_KEY``) and ``None`` returned; ``do_verify_code``
    finishes the sign-in."""
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
    if two_factor.is_enrolled(authenticated):
        request.session[two_factor.PENDING_KEY] = {
            "user": str(authenticated.pk),
            "at": time.time(),
        }
        record("auth.password_accepted", actor=None, obj=authenticated)
        return None
    _finish_login(request, authenticated, now.timestamp())
    record("auth.login", actor=authenticated, obj=authenticated)
    return authenticated


def _finish_login(request: HttpRequest, user: User, at: float) -> None:
    backend = getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[-1]
    login(request, user, backend=backend)  # keeps the data of a session that had no user
    idle.after_login(request, str(user.pk))
    request.session[SESSION_ACTIVITY_KEY] = at


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password was accepted in this session and who still owes a code
    (expires after ``two_factor.PENDING_SECONDS``)."""
    pending = request.session.get(two_factor.PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > two_factor.PENDING_SECONDS:
        request.session.pop(two_factor.PENDING_KEY, None)
        return None
    return User.objects.filter(pk=str(pending.get("user", "")), is_active=True).first()


CODE_WRONG = _("This code is not correct (or was already used). Try the current code.")
CODE_THROTTLED = _("Too many wrong codes. Wait %(seconds)d seconds before trying again.")
CODE_EXPIRED = _("The sign-in took too long. Enter your username and password again.")


def _check_code(user: User, code: str) -> tuple[Any, str]:
    """The device that accepts ``code`` and the factor's name, or a domain error. Each
    device throttles its own wrong codes (django-otp: 1, 2, 4, 8 ... seconds)."""
    code = two_factor.normalise_code(code)
    if not code:
        raise InvalidInput(gettext("Enter the code from your authenticator app."), field="code")
    device: Any
    if two_factor.looks_like_totp(code):
        device, factor = two_factor.totp_device(user), "totp"
    else:
        device = StaticDevice.objects.filter(
            user=user, name=two_factor.RECOVERY_DEVICE_NAME
        ).first()
        factor = "recovery_code"
    if device is None:
        raise InvalidInput(str(CODE_WRONG), field="code")
    with transaction.atomic():
        device = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, data = device.verify_is_allowed()
        if not allowed:
            wait = (data or {}).get("locked_until")
            seconds = max(1, int((wait - timezone.now()).total_seconds()) + 1) if wait else 1
            raise AccountLocked(str(CODE_THROTTLED) % {"seconds": seconds}, field="code")
        verified = device.verify_token(code)  # a wrong code's throttle count commits
    if not verified:
        raise InvalidInput(str(CODE_WRONG), field="code")
    return device, factor


def do_verify_code(request: HttpRequest, code: str) -> User:
    """The second step of sign-in: a code from the authenticator, or one recovery code
    (used up). Wrong codes are audited and throttled per device by django-otp."""
    user = pending_user(request)
    if user is None:
        raise Conflict(str(CODE_EXPIRED))
    try:
        device, factor = _check_code(user, code)
    except (InvalidInput, AccountLocked) as exc:
        record(
            "auth.code_failed",
            actor=None,
            obj=user,
            details={
                "address": client_address(request),
                "throttled": isinstance(exc, AccountLocked),
            },
        )
        raise
    request.session.pop(two_factor.PENDING_KEY, None)
    _finish_login(request, user, time.time())
    request.session[two_factor.VERIFIED_KEY] = device.persistent_id
    details: dict[str, Any] = {"second_factor": factor}
    if factor == "recovery_code":
        details["recovery_codes_left"] = device.token_set.count()
    record("auth.login", actor=user, obj=user, details=details)
    return user


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


def locked_addresses(user: User) -> list[str]:
    """Addresses currently refused for ``user`` by the sign-in throttle (one query)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return [
        address or "?"
        for address in AccessAttempt.objects.filter(
            username=user.get_username(),
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=since,
        ).values_list("ip_address", flat=True)
    ]


# --- every user: password, sessions, two-factor --------------------------------------


def _rotate_sessions(user: User) -> None:
    """Every session of ``user`` signed in before now stops being valid (the session hash
    includes ``session_salt``)."""
    user.session_salt = secrets.token_hex(16)
    user.save(update_fields=["session_salt"])


def do_change_password(request: HttpRequest, user: User, new_password: str) -> None:
    """The user's own change (the form checked the old password and the rules). Other
    sessions are signed out; this one stays signed in."""
    with transaction.atomic():
        user.set_password(new_password)
        user.session_salt = secrets.token_hex(16)
        user.save(update_fields=["password", "session_salt"])
        update_session_auth_hash(request, user)
        record("auth.password_changed", actor=user, clinic=_clinic(request), obj=user)


def do_sign_out_other_sessions(request: HttpRequest, user: User) -> None:
    """Sign out every other session of ``user`` (other computers, a phone); this one
    stays signed in with the new session hash."""
    with transaction.atomic():
        _rotate_sessions(user)
        update_session_auth_hash(request, user)
        record("auth.sessions_revoked", actor=user, clinic=_clinic(request), obj=user)


def _clinic(request: HttpRequest) -> Clinic | None:
    return getattr(request, "clinic", None)


def do_start_enrolment(user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator secret for ``user`` (or the one already waiting)."""
    device = two_factor.totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name=two_factor.TOTP_DEVICE_NAME, confirmed=False
        )
    return device


def do_confirm_enrolment(request: HttpRequest, user: User, code: str) -> list[str]:
    """Confirm the waiting authenticator with a code it shows; replaces any earlier
    authenticator and recovery codes. Returns the new recovery codes (shown once)."""
    device = two_factor.totp_device(user, confirmed=False)
    if device is None:
        raise Conflict(gettext("Start again: open the set-up page to get a new secret."))
    code = two_factor.normalise_code(code)
    if not two_factor.looks_like_totp(code):
        raise InvalidInput(
            gettext("Enter the 6-digit code your authenticator app shows."), field="code"
        )
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, data = device.verify_is_allowed()
        if not allowed:
            wait = (data or {}).get("locked_until")
            seconds = max(1, int((wait - timezone.now()).total_seconds()) + 1) if wait else 1
            raise AccountLocked(str(CODE_THROTTLED) % {"seconds": seconds}, field="code")
        verified = device.verify_token(code)
    if not verified:
        record("auth.code_failed", actor=user, obj=user, details={"enrolment": True})
        raise InvalidInput(str(CODE_WRONG), field="code")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        request.session[two_factor.VERIFIED_KEY] = device.persistent_id
        record(
            "auth.two_factor_enrolled",
            actor=user,
            clinic=_clinic(request),
            obj=user,
            details={"recovery_codes": len(codes)},
        )
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(
        user=user, name=two_factor.RECOVERY_DEVICE_NAME, confirmed=True
    )
    codes = [StaticToken.random_token() for _ in range(two_factor.RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def do_demo_enrolment(user: User) -> tuple[str, list[str]]:
    """The demo's prescribers and managers: an authenticator whose secret the demo command
    prints, and the recovery codes left (ten new ones when all are used). Running it again
    changes nothing while codes are left. Never for real staff: a secret that has been
    printed is not a second factor."""
    with transaction.atomic():
        device = two_factor.totp_device(user)
        if device is None:
            device = TOTPDevice.objects.create(
                user=user, name=two_factor.TOTP_DEVICE_NAME, confirmed=True
            )
        codes = list(
            StaticToken.objects.filter(
                device__user=user, device__name=two_factor.RECOVERY_DEVICE_NAME
            )
            .order_by("pk")
            .values_list("token", flat=True)
        )
        if not codes:
            codes = _new_recovery_codes(user)
            record("auth.two_factor_enrolled", actor=None, obj=user, details={"by": "demo"})
    return two_factor.secret_base32(device), codes


def do_new_recovery_codes(request: HttpRequest, user: User) -> list[str]:
    """Ten new recovery codes; the earlier ones stop working."""
    if not two_factor.is_enrolled(user):
        raise Conflict(gettext("Set up an authenticator app first."))
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        record("auth.recovery_codes_renewed", actor=user, clinic=_clinic(request), obj=user)
    return codes


# --- managers: staff administration (staff.manage) -----------------------------------


@dataclass(frozen=True)
class NewStaff:
    username: str
    first_name: str
    last_name: str
    email: str
    clinic: Clinic
    role: str


def _check_managed(actor: User, clinic: Clinic, target: Clinic) -> None:
    """``target`` is a clinic of ``clinic``'s organisation where ``actor`` is a manager."""
    from .access import managed_clinics

    if not managed_clinics(actor, clinic).filter(pk=target.pk).exists():
        # The forms offer only these clinics: a forged one is refused on the field.
        raise InvalidInput(
            gettext("Choose a clinic of your organisation where you are a manager."),
            field="clinic",
        )


def do_add_staff(
    actor: User, clinic: Clinic, data: NewStaff, link: Callable[[str, str], str]
) -> tuple[User, bool]:
    """A new staff account with one role, and an emailed link to set its password (no
    password is typed by the manager). Returns the user and whether the email went out;
    an email that could not be sent leaves the account in place (send the link again)."""
    _check_managed(actor, clinic, data.clinic)
    if data.role not in Role.values:
        raise InvalidInput(gettext("Choose a role."), field="role")
    try:
        with transaction.atomic():
            user = User(
                username=data.username,
                first_name=data.first_name,
                last_name=data.last_name,
                email=data.email,
            )
            user.set_unusable_password()
            user.save()
            Membership.objects.create(user=user, clinic=data.clinic, role=data.role)
            record(
                "staff.added",
                actor=actor,
                clinic=clinic,
                obj=user,
                details={
                    "username": user.username,
                    "clinic": str(data.clinic.pk),
                    "role": data.role,
                },
            )
    except IntegrityError:
        raise InvalidInput(
            gettext("This username is taken: choose another."), field="username"
        ) from None
    sent = _send_password_link(actor, clinic, user, link, purpose="welcome")
    return user, sent


def do_send_password_link(
    actor: User, clinic: Clinic, user: User, link: Callable[[str, str], str]
) -> bool:
    """Email ``user`` a link to choose a new password (valid PASSWORD_RESET_TIMEOUT).
    The current password keeps working until the link is used."""
    if not user.email:
        raise InvalidInput(
            gettext("This person has no email address: add one first."), field="email"
        )
    if not user.is_active:
        raise Conflict(gettext("The account is deactivated: reactivate it first."))
    return _send_password_link(actor, clinic, user, link, purpose="reset")


def _send_password_link(
    actor: User, clinic: Clinic, user: User, link: Callable[[str, str], str], *, purpose: str
) -> bool:
    url = link(
        urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    )
    context = {
        "user": user,
        "clinic": clinic,
        "url": url,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "purpose": purpose,
    }
    subject = (
        gettext("Your Mesochart account at %(clinic)s") % {"clinic": clinic.name}
        if purpose == "welcome"
        else gettext("Choose a new Mesochart password")
    )
    sent = True
    try:
        send_mail(
            subject,
            render_to_string("accounts/email/password_link.txt", context),
            None,
            [user.email],
        )
    except Exception as exc:  # SMTP down or refused: the manager is told, the log says why
        logger.error("Password link for %s could not be emailed: %s", user.username, exc)
        sent = False
    record(
        "staff.password_link_sent",
        actor=actor,
        clinic=clinic,
        obj=user,
        details={"purpose": purpose, "emailed": sent},
    )
    return sent


def do_set_password_from_link(user: User, new_password: str) -> None:
    """The link's owner chose a password: every earlier session of theirs ends."""
    with transaction.atomic():
        user.set_password(new_password)
        user.session_salt = secrets.token_hex(16)
        user.save(update_fields=["password", "session_salt"])
        axes_reset(username=user.get_username())
        record("auth.password_set", actor=None, obj=user)


def do_give_role(actor: User, clinic: Clinic, user: User, target: Clinic, role: str) -> Membership:
    """Give ``user`` ``role`` in ``target`` (a clinic of the actor's organisation);
    replaces the role they had there, or restores a removed one."""
    _check_managed(actor, clinic, target)
    if role not in Role.values:
        raise InvalidInput(gettext("Choose a role."), field="role")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(user=user, clinic=target).first()
        before = (membership.role, membership.is_active) if membership else None
        if membership is None:
            membership = Membership.objects.create(user=user, clinic=target, role=role)
        else:
            if user.pk == actor.pk and membership.role == Role.MANAGER and role != Role.MANAGER:
                raise Conflict(gettext("You cannot take away your own manager role."))
            membership.role, membership.is_active = role, True
            membership.save(update_fields=["role", "is_active"])
        record(
            "staff.role_given",
            actor=actor,
            clinic=clinic,
            obj=user,
            details={
                "clinic": str(target.pk),
                "role": role,
                "before": {"role": before[0], "active": before[1]} if before else None,
            },
        )
    return membership


def do_remove_role(actor: User, clinic: Clinic, membership: Membership) -> None:
    """Take away a role (the membership is kept, inactive, for the record)."""
    _check_managed(actor, clinic, membership.clinic)
    if membership.user_id == actor.pk:
        raise Conflict(gettext("You cannot remove your own role: ask another manager."))
    with transaction.atomic():
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        record(
            "staff.role_removed",
            actor=actor,
            clinic=clinic,
            obj=membership.user,
            details={"clinic": str(membership.clinic_id), "role": membership.role},
        )


def do_deactivate_user(actor: User, clinic: Clinic, user: User) -> None:
    """The account can no longer sign in and its sessions end; nothing is deleted (the
    records it signed keep its name) and its roles are kept for a reactivation."""
    if user.pk == actor.pk:
        raise Conflict(gettext("You cannot deactivate your own account."))
    from .access import managed_clinics

    elsewhere = (
        Membership.objects.filter(user=user, is_active=True)
        .exclude(clinic__in=managed_clinics(actor, clinic))
        .select_related("clinic")
        .first()
    )
    if elsewhere is not None:
        raise Conflict(
            gettext(
                "This person also works at %(clinic)s, where you are not a manager: remove "
                "their roles here instead of deactivating the account."
            )
            % {"clinic": elsewhere.clinic.name}
        )
    with transaction.atomic():
        user.is_active = False
        user.session_salt = secrets.token_hex(16)
        user.save(update_fields=["is_active", "session_salt"])
        record("staff.deactivated", actor=actor, clinic=clinic, obj=user)


def do_reactivate_user(actor: User, clinic: Clinic, user: User) -> None:
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        record("staff.reactivated", actor=actor, clinic=clinic, obj=user)


def do_reset_two_factor(actor: User, clinic: Clinic, user: User) -> None:
    """A lost phone: remove the user's authenticator and recovery codes and end their
    sessions; where the clinic requires it, their next sign-in leads to a new set-up."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        StaticDevice.objects.filter(user=user).delete()
        _rotate_sessions(user)
        record(
            "staff.two_factor_reset",
            actor=actor,
            clinic=clinic,
            obj=user,
            details={"authenticators_removed": removed},
        )


def do_set_two_factor_rule(actor: User, clinic: Clinic, required: bool) -> None:
    """The clinic setting: prescribers and managers must use a second factor (default on)."""
    with transaction.atomic():
        before = clinic.require_two_factor
        clinic.require_two_factor = required
        clinic.save(update_fields=["require_two_factor"])
        record(
            "clinic.two_factor_rule",
            actor=actor,
            clinic=clinic,
            obj=clinic,
            details={"required": required, "before": before},
        )


def password_link(request: HttpRequest) -> Callable[[str, str], str]:
    """The absolute set-password URL builder for emails sent while serving ``request``."""

    def build(uid: str, token: str) -> str:
        return request.build_absolute_uri(
            reverse("accounts:set_password", kwargs={"uidb64": uid, "token": token})
        )

    return build
