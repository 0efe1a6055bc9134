"""Consent: versioned templates and the signed records made from them.

A template version is immutable once saved; a signed consent copies the exact
text it was signed against (with its SHA-256), so a later version never changes
what was signed. See docs/consent.md.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
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


# --- treatment plans and sessions ---------------------------------------------------


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class TreatmentPlan(models.Model):
    """A course of one protocol for one patient; its schedule comes from ``plan_course``
    over the patient's signed sessions (computed, never stored)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    protocol = models.CharField(max_length=60)
    goals = models.TextField(blank=True)
    start = models.DateField()
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-start"]
        indexes = [models.Index(fields=["patient", "status"], name="plan_patient_status_idx")]

    def __str__(self) -> str:
        return f"{self.protocol} from {self.start:%Y-%m-%d}"


class Prescription(models.Model):
    """A prescriber's written prescription for a prescription-only protocol: which
    products, in which zones, within which per-session limits, for how many sessions and
    until when. A session of such a protocol starts only against one, and signing checks
    the chart against it (docs/sessions.md, "Prescription before administration")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    protocol = models.CharField(max_length=60)
    plan = models.ForeignKey(
        TreatmentPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prescriptions",
    )
    products = models.JSONField(default=list, help_text="Library product and mixture codes.")
    zones = models.JSONField(default=list, help_text="Library zone codes.")
    max_volume_ml = models.DecimalField(
        max_digits=6, decimal_places=3, null=True, blank=True, help_text="Per session."
    )
    max_points = models.PositiveIntegerField(null=True, blank=True, help_text="Per session.")
    sessions = models.PositiveSmallIntegerField(default=1)
    valid_until = models.DateField()
    notes = models.TextField(blank=True)
    prescribed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    prescribed_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-prescribed_at"]
        indexes = [
            models.Index(fields=["patient", "protocol", "valid_until"], name="rx_patient_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(sessions__gte=1), name="rx_sessions_min")
        ]

    def __str__(self) -> str:
        return f"{self.protocol} until {self.valid_until:%Y-%m-%d}"

    def is_valid_on(self, day: date) -> bool:
        return self.revoked_at is None and day <= self.valid_until


class SessionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    SIGNED = "signed", "Signed"
    CANCELLED = "cancelled", "Cancelled"


# Allowed transitions (data; ``services.set_session_status`` checks them).
SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.PLANNED: frozenset({SessionStatus.IN_PROGRESS, SessionStatus.CANCELLED}),
    SessionStatus.IN_PROGRESS: frozenset({SessionStatus.SIGNED, SessionStatus.CANCELLED}),
    SessionStatus.SIGNED: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}


class TreatmentSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    plan = models.ForeignKey(
        TreatmentPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    protocol = models.CharField(max_length=60)
    scheduled_for = models.DateField()
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    notes = models.TextField(blank=True)
    # The charting "brush": defaults each new point takes (product lot, volume, depth...).
    brush = models.JSONField(default=dict, blank=True)
    # Screening of the medical profile at the start (engine ``screen`` result + versions).
    screening = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set at signing: the engine input and result the signature was given against.
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    check_input = models.JSONField(default=dict, blank=True)
    check_result = models.JSONField(default=dict, blank=True)
    cosign_required = models.BooleanField(default=False)
    cosigned_at = models.DateTimeField(null=True, blank=True)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_reason = models.TextField(blank=True)
    # The day the session took place (the clinic's local day), set when it starts.
    performed_on = models.DateField(null=True, blank=True)
    # What the engine's history needs of a signed session, written once at signing (a
    # signed session never changes), so later sessions never reload its entries.
    charted_zones = models.JSONField(default=list, blank=True)
    charted_products = models.JSONField(default=list, blank=True)
    # The energy-device and needle-free modalities charted (engine history, contract 1.1).
    charted_modalities = models.JSONField(default=list, blank=True)
    prescription = models.ForeignKey(
        Prescription, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Mixtures drawn up at the chair for this session (components consumed when prepared).
    preparations = models.ManyToManyField("stock.MixturePreparation", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-scheduled_for", "-created_at"]
        indexes = [
            models.Index(fields=["patient", "status", "scheduled_for"], name="session_patient_idx"),
            models.Index(fields=["clinic", "scheduled_for"], name="session_clinic_day_idx"),
            models.Index(fields=["patient", "status", "performed_on"], name="session_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} on {self.scheduled_for:%Y-%m-%d}"

    @property
    def day(self) -> date:
        """The day the session took place (or is planned for)."""
        return self.performed_on or self.scheduled_for

    @property
    def is_editable(self) -> bool:
        return self.status in (SessionStatus.PLANNED, SessionStatus.IN_PROGRESS)

    @property
    def awaiting_cosign(self) -> bool:
        return self.status == SessionStatus.SIGNED and self.cosign_required and not self.cosigned_at


class EntryKind(models.TextChoices):
    INJECTION = "injection", "Injection"
    MICRONEEDLING = "microneedling", "Microneedling"
    ENERGY = "energy", "Energy device"
    NEEDLE_FREE = "needle_free", "Needle-free delivery"


class Endpoint(models.TextChoices):
    ERYTHEMA = "erythema", "Erythema"
    PINPOINT_BLEEDING = "pinpoint_bleeding", "Pinpoint bleeding"


class ChartEntry(models.Model):
    """One charted point (``x``/``y`` set, ``points`` = 1) or one zone entry (no coordinates,
    ``points`` >= 1). Volumes are per point, as in the check-session contract."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=14, choices=EntryKind.choices, default=EntryKind.INJECTION)
    zone = models.CharField(max_length=40)
    view = models.CharField(max_length=20, blank=True)
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    technique = models.CharField(max_length=40, blank=True)
    product = models.CharField(max_length=64, blank=True)
    lot = models.ForeignKey(
        "stock.Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    preparation = models.ForeignKey(
        "stock.MixturePreparation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    points = models.PositiveIntegerField(default=1)
    volume_ml = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    depth_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    needle_gauge = models.PositiveSmallIntegerField(null=True, blank=True)
    needle_length_mm = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    angle_deg = models.PositiveSmallIntegerField(null=True, blank=True)
    # Microneedling.
    device = models.CharField(max_length=40, blank=True)
    passes = models.PositiveSmallIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=20, choices=Endpoint.choices, blank=True)
    device_lot = models.CharField(max_length=40, blank=True)
    topical_lot = models.ForeignKey(
        "stock.Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Energy devices (fractional laser, RF).
    energy = models.CharField(max_length=60, blank=True, help_text="e.g. 20 mJ, 40 W")
    # What an energy-device or needle-free pass was (the engine's energy[].modality, e.g.
    # fractional-laser-ablative); empty for injections and microneedling.
    modality = models.CharField(max_length=40, blank=True)
    test_spot = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["session", "position"], name="entry_session_idx")]

    def __str__(self) -> str:
        return f"{self.zone} {self.product}"

    @property
    def total_ml(self) -> Any:
        return None if self.volume_ml is None else self.volume_ml * self.points


class SessionSupply(models.Model):
    """Vials or syringes of a lot used in a session (lots counted in containers, not mL)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="supplies")
    lot = models.ForeignKey("stock.Lot", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=8, decimal_places=2, default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "lot"], name="supply_unique_lot")]


class SessionPack(models.Model):
    """An instrument pack opened for the session (consumed through sterility at signing)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="packs")
    pack = models.ForeignKey("sterility.Pack", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "pack"], name="session_pack_unique")
        ]


class SessionItem(models.Model):
    """A sterile single-use item (needle, roller, cannula) used in the session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="items")
    item_lot = models.ForeignKey(
        "sterility.SterileItemLot", on_delete=models.PROTECT, related_name="+"
    )
    # A serial, or the whole GS1 UDI as scanned (AIs 01, 17, 10, 21 and more run past 80).
    serial = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


class SessionVial(models.Model):
    """An opened multi-dose container (stock) the session draws from: the engine checks its
    beyond-use date from the day it was opened (contract 1.1 ``vials``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="vials")
    container = models.ForeignKey("stock.Container", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "container"], name="vial_unique_container")
        ]


class SessionOverride(models.Model):
    """A prescriber's decision to proceed despite a finding (``code`` at ``where``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.CASCADE, related_name="overrides"
    )
    code = models.CharField(max_length=60)
    where = models.CharField(max_length=120)
    severity = models.CharField(max_length=8)
    message = models.TextField()
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "code", "where"], name="session_override_unique"
            )
        ]


class SessionAddendum(models.Model):
    """Text added to a signed session; the signed record itself never changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("An addendum never changes: add another one")
        super().save(*args, **kwargs)


class FollowUpKind(models.TextChoices):
    EARLY_CHECK = "early_check", "Early result check"
    NEXT_SESSION = "next_session", "Next session due"
    FIRST_ASSESSMENT = "first_assessment", "First result assessment"
    FINAL_ASSESSMENT = "final_assessment", "Final result assessment"
    INFECTION_SURVEILLANCE = "infection_surveillance", "Infection surveillance window"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class FollowUp(models.Model):
    """Something to do for a patient by ``due`` (``window_end`` for surveillance windows)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_ups")
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(max_length=30, choices=FollowUpKind.choices)
    due = models.DateField()
    window_end = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    evidence = models.CharField(max_length=2, blank=True)
    source = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = models.TextField(blank=True)

    class Meta:
        ordering = ["due", "kind"]
        indexes = [
            models.Index(fields=["clinic", "status", "due"], name="followup_clinic_due_idx"),
            models.Index(fields=["patient", "due"], name="followup_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.due:%Y-%m-%d}"
