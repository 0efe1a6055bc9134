from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, datetime

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Paris)")


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    mrn_prefix = models.CharField(
        max_length=8, default="MC", help_text="Prefix of the medical record numbers."
    )
    next_mrn = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Clinic(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    timezone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_timezone]
    )
    require_two_factor = models.BooleanField(
        default=True,
        help_text=_("Prescribers and managers of this clinic must sign in with a second factor."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="clinic_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def local_now(self) -> datetime:
        return timezone.now().astimezone(zoneinfo.ZoneInfo(self.timezone))

    def local_day(self, moment: datetime) -> date:
        """The clinic's calendar day at ``moment`` (an aware datetime)."""
        return moment.astimezone(zoneinfo.ZoneInfo(self.timezone)).date()

    def today(self) -> date:
        """Today in the clinic's own time zone: the day every clinical rule counts in."""
        return self.local_now().date()


class User(AbstractUser):
    """A member of staff. Patients never sign in with this model."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Changed by "sign out everywhere" (and a manager's 2FA reset or deactivation): it is part
    # of the session hash, so every session signed in before the change stops being valid.
    session_salt = models.CharField(max_length=32, blank=True, default="")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        if not self.session_salt:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]
        return salted_hmac(
            "mesochart.accounts.User.session_auth_hash",
            f"{self.password}:{self.session_salt}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Role(models.TextChoices):
    PRESCRIBER = "prescriber", "Prescriber"
    PRACTITIONER = "practitioner", "Practitioner"
    ASSISTANT = "assistant", "Assistant"
    RECEPTION = "reception", "Reception"
    MANAGER = "manager", "Manager"
    AUDITOR = "auditor", "Auditor"


class Membership(models.Model):
    """A staff member's role in one clinic."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="membership_unique_user_clinic")
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.role} at {self.clinic}"
