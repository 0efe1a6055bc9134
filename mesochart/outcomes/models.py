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
    # Earlier results, oldest first, each as stored before an explicit re-analysis.
    previous_analyses = models.JSONField(default=list, blank=True)
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


# --- outcome scores ---------------------------------------------------------------


class TimePoint(models.TextChoices):
    BASELINE = "baseline", "Baseline (before the course)"
    EARLY_CHECK = "early_check", "Early check"
    FIRST_ASSESSMENT = "first_assessment", "First result assessment"
    END_OF_COURSE = "end_of_course", "After the course (end of course)"
    OTHER = "other", "Other"


# The timepoint a follow-up of the session schedule asks for (care.FollowUp.kind).
FOLLOWUP_TIMEPOINTS = {
    "early_check": TimePoint.EARLY_CHECK,
    "first_assessment": TimePoint.FIRST_ASSESSMENT,
    "final_assessment": TimePoint.END_OF_COURSE,
}


class OutcomeScore(models.Model):
    """One rating on one scale (``scales.SCALES``), with the scale's id, version and
    direction copied in, so a later change of convention never changes old scores."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcome_scores")
    scale = models.CharField(max_length=40)
    scale_version = models.CharField(max_length=20)
    direction = models.CharField(max_length=20)
    rater = models.CharField(max_length=12)
    value = models.SmallIntegerField()
    timepoint = models.CharField(max_length=20, choices=TimePoint.choices)
    protocol = models.CharField(max_length=60, blank=True)
    assessed_on = models.DateField()
    session = models.ForeignKey(
        "care.TreatmentSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    follow_up = models.ForeignKey(
        "care.FollowUp", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["assessed_on", "recorded_at"]
        indexes = [
            models.Index(
                fields=["patient", "scale", "assessed_on"], name="score_patient_scale_idx"
            ),
            models.Index(fields=["clinic", "scale"], name="score_clinic_scale_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.scale} {self.value} ({self.assessed_on:%Y-%m-%d})"


# --- adverse events ---------------------------------------------------------------


class Severity(models.TextChoices):
    # FHIR adverse-event-severity (reference §11.1); wording of the ATX-101 trials (§6.3).
    MILD = "mild", "Mild: aware but easily tolerated"
    MODERATE = "moderate", "Moderate: discomfort, interferes with usual activity"
    SEVERE = "severe", "Severe: incapacitating, unable to do usual activity"


class Causality(models.TextChoices):
    # WHO-UMC system for standardised case causality assessment (Uppsala Monitoring Centre).
    CERTAIN = "certain", "Certain"
    PROBABLE = "probable", "Probable / likely"
    POSSIBLE = "possible", "Possible"
    UNLIKELY = "unlikely", "Unlikely"
    CONDITIONAL = "conditional", "Conditional / unclassified"
    UNASSESSABLE = "unassessable", "Unassessable / unclassifiable"


class AEOutcome(models.TextChoices):
    # Maps to FHIR adverse-event-outcome (reference §11.1): see docs/outcomes.md.
    RECOVERING = "recovering", "Recovering"
    RECOVERED = "recovered", "Recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", "Recovered with sequelae"
    NOT_RECOVERED = "not_recovered", "Not recovered"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class SeriousCriterion(models.TextChoices):
    # "Serious" as defined in the ATX-101 trials (reference §6.3).
    DEATH = "death", "Results in death"
    LIFE_THREATENING = "life_threatening", "Life-threatening"
    HOSPITALISATION = "hospitalisation", "Hospitalisation or prolonged hospitalisation"
    DISABILITY = "disability", "Persistent or significant disability"
    CONGENITAL_ANOMALY = "congenital_anomaly", "Congenital anomaly"
    MEDICAL_HAZARD = "medical_hazard", "Significant medical hazard"


class AdverseEvent(models.Model):
    """A complication, linked to what may have caused it. Never deleted: updates are
    kept as ``AdverseEventUpdate`` rows and audited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    event_type = models.CharField(
        "type", max_length=40, help_text="Adverse-event vocabulary of the protocol library."
    )
    detail = models.TextField(blank=True)
    onset = models.DateField("onset date")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    ctcae_term = models.CharField("CTCAE term", max_length=120, blank=True)
    ctcae_grade = models.PositiveSmallIntegerField("CTCAE grade", null=True, blank=True)
    serious = models.BooleanField(default=False)
    serious_criteria = models.JSONField(default=list, blank=True)
    causality = models.CharField(max_length=14, choices=Causality.choices)
    outcome = models.CharField(max_length=24, choices=AEOutcome.choices)
    actions_taken = models.TextField(blank=True)
    antibiotics_given = models.BooleanField(default=False)
    culture_requested_on = models.DateField(null=True, blank=True)
    session = models.ForeignKey(
        "care.TreatmentSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lots = models.ManyToManyField("stock.Lot", blank=True, related_name="+")
    preparations = models.ManyToManyField("stock.MixturePreparation", blank=True, related_name="+")
    packs = models.ManyToManyField("sterility.Pack", blank=True, related_name="+")
    photos = models.ManyToManyField(Photo, blank=True, related_name="adverse_events")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-onset", "-recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ctcae_grade__isnull=True)
                | models.Q(ctcae_grade__gte=1, ctcae_grade__lte=5),
                name="ae_ctcae_grade_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "onset"], name="ae_patient_onset_idx"),
            models.Index(fields=["clinic", "event_type", "onset"], name="ae_clinic_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type_label} ({self.onset:%Y-%m-%d})"

    @property
    def type_label(self) -> str:
        return self.event_type.replace("_", " ").capitalize()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise NotDeletable("An adverse event is never deleted: record its outcome instead")


class NotDeletable(Exception):
    pass


class AdverseEventUpdate(models.Model):
    """One follow-up of an adverse event: which fields changed (old -> new) and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="updates")
    changes = models.JSONField(default=dict)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at"]


# --- cluster alerts ---------------------------------------------------------------


class ClusterKind(models.TextChoices):
    LOT = "lot", "Product lot"
    PREPARATION = "preparation", "Mixture preparation"
    PACK = "pack", "Instrument pack"
    CYCLE = "cycle", "Sterilisation cycle"


class ClusterAlert(models.Model):
    """Infections or nodules linked to one lot, preparation, pack or cycle, close in time
    (rule in ``services.refresh_cluster_alerts``). One open alert per object."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=ClusterKind.choices)
    object_id = models.UUIDField()
    label = models.CharField(max_length=200)
    events = models.ManyToManyField(AdverseEvent, related_name="cluster_alerts")
    first_onset = models.DateField()
    last_onset = models.DateField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "kind", "object_id"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="cluster_alert_one_open_per_object",
            )
        ]
        indexes = [
            models.Index(fields=["clinic", "acknowledged_at"], name="cluster_clinic_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
