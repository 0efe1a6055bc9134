"""Consent: versioned templates and the signed records made from them.

A template version is immutable once saved; a signed consent copies the exact
text it was signed against (with its SHA-256), so a later version never changes
what was signed. See docs/consent.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models

from mesochart.accounts.models import Clinic, Organisation
from mesochart.patients.models import Patient


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    OFF_LABEL = "off_label", "Off-label use"
    PHOTO = "photo", "Photography"


class SignerRole(models.TextChoices):
    PATIENT = "patient", "Patient"
    GUARDIAN = "guardian", "Parent or legal guardian"


class SignMethod(models.TextChoices):
    ON_SCREEN = "on_screen", "Signed on screen"
    PAPER_SCAN = "paper_scan", "Signed on paper, scanned"


class PhotoUse(models.TextChoices):
    RECORD_ONLY = "record_only", "Clinical record only"
    TEACHING = "teaching", "Teaching (anonymised where possible)"
    MARKETING = "marketing", "Marketing and publication"


class ConsentTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    protocol = models.CharField(
        max_length=60, blank=True, help_text="Protocol code; blank for every protocol."
    )
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["kind", "protocol", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "title"], name="consent_template_unique_title"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def current_version(self) -> ConsentTemplateVersion | None:
        """The newest version (runs a query unless versions were prefetched)."""
        return self.versions.order_by("-number").first()


class ImmutableError(Exception):
    pass


class ConsentTemplateVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="consent_template_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template.title} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("A consent template version never changes: create a new one")
        super().save(*args, **kwargs)


def _consent_file_path(instance: SignedConsent, filename: str) -> str:
    return f"care/consents/{instance.clinic_id}/{instance.pk}/{filename}"


class SignedConsent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    template_version = models.ForeignKey(
        ConsentTemplateVersion, on_delete=models.PROTECT, related_name="signed"
    )
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    protocol = models.CharField(max_length=60, blank=True)
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="The exact text signed, copied at signing.")
    text_sha256 = models.CharField(max_length=64)
    signer_name = models.CharField(max_length=200)
    signer_role = models.CharField(max_length=20, choices=SignerRole.choices)
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()
    method = models.CharField(max_length=20, choices=SignMethod.choices)
    signature = models.FileField(upload_to=_consent_file_path, blank=True, max_length=255)
    scan = models.FileField(upload_to=_consent_file_path, blank=True, max_length=255)
    scan_content_type = models.CharField(max_length=40, blank=True)
    photo_uses = models.JSONField(default=list, blank=True)
    pdf = models.FileField(upload_to=_consent_file_path, blank=True, max_length=255)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revocation_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-signed_at"]
        indexes = [
            models.Index(fields=["patient", "kind", "signed_at"], name="consent_patient_kind_idx"),
            models.Index(fields=["clinic", "signed_at"], name="consent_clinic_signed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.signed_at:%Y-%m-%d})"

    def is_valid_at(self, at: datetime) -> bool:
        return self.signed_at <= at and (self.revoked_at is None or self.revoked_at > at)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
