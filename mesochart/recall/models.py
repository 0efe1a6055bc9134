from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from mesochart.accounts.models import Clinic
from mesochart.patients.models import Patient


class RecallKind(models.TextChoices):
    LOT = "lot", "Product lot"
    PACK = "pack", "Instrument pack"
    CYCLE = "cycle", "Sterilisation cycle"


class ContactMark(models.Model):
    """A patient reached about one recall (lot, pack or cycle), with what was said."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation_id = models.UUIDField()
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recall_contacts")
    kind = models.CharField(max_length=8, choices=RecallKind.choices)
    identifier = models.CharField(max_length=100)
    note = models.TextField()
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    contacted_at = models.DateTimeField()

    class Meta:
        ordering = ["-contacted_at"]
        indexes = [models.Index(fields=["clinic", "kind", "identifier"], name="recall_contact_idx")]

    def __str__(self) -> str:
        return f"{self.patient} contacted about {self.kind} {self.identifier}"
