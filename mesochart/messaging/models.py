"""Messages to patients (email, SMS), their opt-outs, the clinic's messaging policy,
staff notifications and practitioners' calendar feeds."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesochart.accounts.models import Clinic
from mesochart.patients.models import Patient

# A message still "sending" this long after its attempt began is stuck (see is_stuck).
STUCK_AFTER = timedelta(minutes=15)


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class MessageKind(models.TextChoices):
    EARLY_CHECK = "early_check", _("Result check (day 2-3)")
    NEXT_SESSION = "next_session", _("Next session due")
    RECALL_NOTICE = "recall_notice", _("Recall notice")
    APPOINTMENT_CONFIRMATION = "appointment_confirmation", _("Appointment confirmation")
    APPOINTMENT_REMINDER = "appointment_reminder", _("Appointment reminder")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED_OPTED_OUT = "skipped_opted_out", _("Not sent: patient opted out")
    CANCELLED = "cancelled", _("Cancelled")


class Message(models.Model):
    """One message to one patient on one channel, logged on the patient.

    ``key`` is unique: queueing the same message again (a task re-run, a second click)
    finds the existing row instead of sending twice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation_id = models.UUIDField()
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(max_length=40, choices=MessageKind.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    to_address = models.CharField(max_length=254)
    status = models.CharField(
        max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    key = models.CharField(max_length=200, unique=True)
    due_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at", "-created_at"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="message_due_idx"),
            models.Index(fields=["clinic", "-due_at"], name="message_clinic_idx"),
            models.Index(fields=["patient", "-due_at"], name="message_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} to {self.to_address}"

    @property
    def is_stuck(self) -> bool:
        """Claimed for sending long ago and never finished (the worker died mid-send): it
        may or may not have gone out, so only staff decide to send it again."""
        return (
            self.status == MessageStatus.SENDING
            and self.last_attempt_at is not None
            and self.last_attempt_at < timezone.now() - STUCK_AFTER
        )

    @property
    def can_retry(self) -> bool:
        return self.status == MessageStatus.FAILED or self.is_stuck


class ContactPreference(models.Model):
    """A patient's opt-outs, per channel (recorded by staff; the portal later)."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, primary_key=True, related_name="contact_preference"
    )
    email_opt_out = models.BooleanField(_("no messages by email"), default=False)
    sms_opt_out = models.BooleanField(_("no messages by SMS"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Contact preferences of {self.patient_id}"

    def opted_out(self, channel: str) -> bool:
        return bool(getattr(self, f"{channel}_opt_out"))


def default_offsets() -> list[int]:
    return [48, 24]


def default_channels() -> list[str]:
    return [Channel.EMAIL, Channel.SMS]


class MessagingSettings(models.Model):
    """The clinic's messaging policy (practice policy, every value tunable by a manager)."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, primary_key=True, related_name="messaging_settings"
    )
    reminder_offsets_hours = models.JSONField(
        _("reminder offsets (hours before)"), default=default_offsets
    )
    channels = models.JSONField(_("channels"), default=default_channels)
    send_hour = models.PositiveSmallIntegerField(
        _("hour of day for follow-up messages (clinic time)"), default=9
    )
    early_check_messages = models.BooleanField(_("send the result check message"), default=True)
    next_session_messages = models.BooleanField(
        _("send the next session due message"), default=True
    )
    next_session_notice_days = models.PositiveSmallIntegerField(
        _("days before the next session is due to send its message"), default=7
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Messaging settings of {self.clinic_id}"


class NotificationKind(models.TextChoices):
    FRIDGE_EXCURSION = "fridge_excursion", _("Fridge temperature excursion")
    AWAITING_COSIGN = "awaiting_cosign", _("Session awaiting co-signature")
    AWAITING_PRESCRIPTION = "awaiting_prescription", _("Session awaiting a prescription")
    CLUSTER_ALERT = "cluster_alert", _("Cluster alert")
    MESSAGE_FAILED = "message_failed", _("Message not delivered")


class Notification(models.Model):
    """Something staff of some roles of one clinic should look at (in-app)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    # The roles that see it, as ",manager,prescriber," (a plain text match on every database).
    roles = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    link = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="notification_clinic_idx")]

    def __str__(self) -> str:
        return self.title


class NotificationRead(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "user"], name="notification_read_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.notification_id}"


class CalendarFeed(models.Model):
    """A private .ics subscription of one practitioner in one clinic; the token in its URL
    is the only key, so it is revoked (never reused) when it may have leaked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id}"
