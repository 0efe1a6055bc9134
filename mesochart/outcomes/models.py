"""Clinical photos: the untouched original (with its SHA-256), an EXIF-free derived
JPEG for display, and the analysis of ``mesochart.imaging``. See docs/photos.md.

Whether a photo is shown is never stored: it follows the patient's photo consent
at read time (``Photo.hidden``), so a revocation hides every photo at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from mesochart.accounts.models import Clinic, Organisation
from mesochart.patients.models import Patient


class PhotoView(models.TextChoices):
    FRONT = "front", "Front"
    LEFT_45 = "left_45", "Left 45°"
    RIGHT_45 = "right_45", "Right 45°"
    LEFT_90 = "left_90", "Left 90° (profile)"
    RIGHT_90 = "right_90", "Right 90° (profile)"
    SUBMENTAL = "submental", "Submental"


def _photo_file_path(instance: Photo, filename: str) -> str:
    return f"outcomes/photos/{instance.clinic_id}/{instance.pk}/{filename}"


class Photo(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photos")
    view = models.CharField(max_length=20, choices=PhotoView.choices)
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    original = models.FileField(upload_to=_photo_file_path, max_length=255)
    original_sha256 = models.CharField(max_length=64)
    original_filename = models.CharField(max_length=255, blank=True)
    original_format = models.CharField(max_length=10)
    derived = models.FileField(upload_to=_photo_file_path, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    analysis = models.JSONField(default=dict)
    quality_ok = models.BooleanField(default=False)
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["taken_at"]
        indexes = [
            models.Index(fields=["patient", "view", "taken_at"], name="photo_patient_view_idx"),
            models.Index(fields=["clinic", "taken_at"], name="photo_clinic_taken_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_view_display()} ({self.taken_at:%Y-%m-%d})"

    @property
    def hidden(self) -> bool:
        """True while the patient has no valid photo consent (asked now, never stored)."""
        cached: Any = getattr(self, "_hidden", None)
        if cached is None:
            from .services import photos_visible

            cached = self._hidden = not photos_visible(self.patient)
        return bool(cached)

    @property
    def content_type(self) -> str:
        return ORIGINAL_TYPES.get(self.original_format, ("application/octet-stream", "bin"))[0]


ORIGINAL_TYPES = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIC": ("image/heic", "heic"),
}
