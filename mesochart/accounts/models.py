from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, datetime

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


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

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


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
