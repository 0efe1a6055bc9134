"""Sterilisers, cycles (loads), Bowie-Dick tests, packs and single-use sterile items.

Every row carries its organisation and clinic (sharding key, access gate).
Writes go through ``services.py``.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from mesochart.accounts.models import Clinic, Organisation
from mesochart.patients.models import Patient

from . import programs


class StClass(models.TextChoices):
    B = "B", "EN 13060 class B (all loads, pre-vacuum)"
    N = "N", "EN 13060 class N (unwrapped solid only)"
    S = "S", "EN 13060 class S (loads specified by the manufacturer)"


class SterilityPolicy(models.Model):
    """Per-clinic settings: pack shelf life and the pack number sequence."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    pack_shelf_life_days = models.PositiveIntegerField(
        "pack shelf life (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Empty: event-related shelf life (no expiry date on the label).",
    )
    next_pack_number = models.PositiveIntegerField(default=1)


class Steriliser(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="sterilisers")
    name = models.CharField(max_length=100)
    steriliser_class = models.CharField("class", max_length=1, choices=StClass.choices)
    pre_vacuum = models.BooleanField(
        default=True, help_text="Dynamic air removal: needs a daily Bowie-Dick test. Class B is."
    )
    serial = models.CharField("serial number", max_length=100, blank=True)
    bi_release_required = models.BooleanField(
        "BI release required",
        default=False,
        help_text="Every load waits in quarantine for a negative biological indicator.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="steriliser_unique_name"),
            models.CheckConstraint(
                condition=~models.Q(steriliser_class="B") | models.Q(pre_vacuum=True),
                name="steriliser_class_b_is_pre_vacuum",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CycleStatus(models.TextChoices):
    RECORDED = "recorded", "Recorded, awaiting release"
    QUARANTINED = "quarantined", "Quarantined until the BI is negative"
    RELEASED = "released", "Released"
    FAILED = "failed", "Failed"


# Allowed status changes (``services.set_status`` is the one place that applies them).
TRANSITIONS: dict[str, frozenset[str]] = {
    CycleStatus.RECORDED: frozenset(
        {CycleStatus.QUARANTINED, CycleStatus.RELEASED, CycleStatus.FAILED}
    ),
    CycleStatus.QUARANTINED: frozenset({CycleStatus.RELEASED, CycleStatus.FAILED}),
    # A late failed BI on a load released without BI release.
    CycleStatus.RELEASED: frozenset({CycleStatus.FAILED}),
    CycleStatus.FAILED: frozenset(),
}


class IndicatorResult(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"


class BiResult(models.TextChoices):
    NONE = "", "No BI in this load"
    PENDING = "pending", "Pending (incubating)"
    PASS = "pass", "Pass (negative)"
    FAIL = "fail", "Fail (positive)"


CI_TYPES = [
    (1, "Type 1 - process indicator"),
    (2, "Type 2 - specific test"),
    (3, "Type 3 - single variable"),
    (4, "Type 4 - multi variable"),
    (5, "Type 5 - integrating"),
    (6, "Type 6 - emulating"),
]


class Cycle(models.Model):
    """One sterilisation load: the record of reference §9.4."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    steriliser = models.ForeignKey(Steriliser, on_delete=models.PROTECT, related_name="cycles")
    number = models.PositiveIntegerField("cycle number")
    started_at = models.DateTimeField()
    day = models.DateField(help_text="Local date of started_at in the clinic's time zone.")
    program = models.CharField(max_length=40, choices=programs.CHOICES)
    temperature_c = models.DecimalField("temperature (C)", max_digits=5, decimal_places=1)
    hold_min = models.DecimalField("hold time (min)", max_digits=5, decimal_places=1)
    pressure_bar = models.DecimalField("pressure (bar)", max_digits=4, decimal_places=2)
    physical_met = models.BooleanField("physical parameters met")
    physical_notes = models.TextField(blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    load_contents = models.TextField()
    instrument_sets = models.JSONField(default=list, blank=True)
    ci_type = models.PositiveSmallIntegerField(
        "chemical indicator type", null=True, blank=True, choices=CI_TYPES
    )
    ci_result = models.CharField(
        "chemical indicator result", max_length=4, blank=True, choices=IndicatorResult.choices
    )
    bi_lot = models.CharField("BI lot", max_length=60, blank=True)
    bi_result = models.CharField(
        "biological indicator", max_length=8, blank=True, choices=BiResult.choices
    )
    bi_recorded_at = models.DateTimeField(null=True, blank=True)
    bi_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contains_implants = models.BooleanField(default=False)
    bi_required = models.BooleanField(
        "BI release required",
        default=False,
        help_text="Implants in the load or the steriliser requires BI release.",
    )
    status = models.CharField(
        max_length=12, choices=CycleStatus.choices, default=CycleStatus.RECORDED
    )
    status_reason = models.TextField(blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["steriliser", "number"], name="cycle_unique_number"),
            models.CheckConstraint(
                condition=models.Q(ci_type__isnull=True) | models.Q(ci_type__gte=1, ci_type__lte=6),
                name="cycle_ci_type_1_to_6",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "status", "started_at"], name="cycle_clinic_status_idx"),
            models.Index(fields=["steriliser", "started_at"], name="cycle_steriliser_time_idx"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        return f"C-{self.number}"

    @property
    def program_info(self) -> programs.Program:
        return programs.program(self.program)

    @property
    def awaiting_bi(self) -> bool:
        return self.bi_result == BiResult.PENDING or (self.bi_required and not self.bi_result)


class BowieDickTest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    steriliser = models.ForeignKey(
        Steriliser, on_delete=models.PROTECT, related_name="bowie_dick_tests"
    )
    performed_at = models.DateTimeField()
    day = models.DateField(help_text="Local date of performed_at in the clinic's time zone.")
    result = models.CharField(max_length=4, choices=IndicatorResult.choices)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    test_pack_lot = models.CharField(max_length=60, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-performed_at"]
        indexes = [models.Index(fields=["steriliser", "day"], name="bowiedick_steriliser_day_idx")]


class PackStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    USED = "used", "Used"
    SUSPECT = "suspect", "Suspect (failed BI)"


class Pack(models.Model):
    """One wrapped instrument set with its lot-control label."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="packs")
    code = models.CharField("pack id", max_length=20)
    set_name = models.CharField("instrument set", max_length=120)
    contents = models.TextField(blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    packed_at = models.DateTimeField()
    expires_on = models.DateField(null=True, blank=True, help_text="Empty: event-related.")
    status = models.CharField(
        max_length=10, choices=PackStatus.choices, default=PackStatus.AVAILABLE
    )
    suspect_cycle = models.ForeignKey(
        Cycle, null=True, blank=True, on_delete=models.PROTECT, related_name="suspect_packs"
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="pack_unique_code"),
        ]
        indexes = [
            models.Index(fields=["organisation", "code"], name="pack_org_code_idx"),
        ]

    def __str__(self) -> str:
        return self.code

    def is_expired(self, on: date) -> bool:
        return self.expires_on is not None and self.expires_on < on

    @property
    def is_used(self) -> bool:
        """Opened for a procedure already (one pack, one procedure)."""
        return self.used_at is not None or self.status == PackStatus.USED

    def contract_status(self) -> str:
        """The check-session contract's pack status (reads ``self.cycle``): ``failed`` for a
        suspect pack or a failed load, ``quarantined`` while the load is not released,
        else ``released``."""
        if self.status == PackStatus.SUSPECT or self.cycle.status == CycleStatus.FAILED:
            return "failed"
        if self.cycle.status != CycleStatus.RELEASED:
            return "quarantined"
        return "released"

    def state(self, on: date) -> str:
        """One word for lists and labels. Reads ``self.cycle`` (a query unless selected)."""
        if self.status == PackStatus.SUSPECT:
            return "suspect"
        if self.used_at is not None:
            return "used"
        if self.cycle.status == CycleStatus.FAILED:
            return "failed"
        if self.cycle.status != CycleStatus.RELEASED:
            return "not released"
        if self.is_expired(on):
            return "expired"
        return "usable"


class PackUse(models.Model):
    """A pack opened for a patient: the link from a load to the patient (reference §9.4)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    pack = models.OneToOneField(Pack, on_delete=models.PROTECT, related_name="use")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    used_at = models.DateTimeField()
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    session_ref = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-used_at"]
        indexes = [models.Index(fields=["patient", "used_at"], name="packuse_patient_idx")]


class ItemKind(models.TextChoices):
    CARTRIDGE = "cartridge", "Microneedling cartridge"
    ROLLER = "roller", "Derma-roller"
    NEEDLE = "needle", "Needle / cannula"
    OTHER = "other", "Other sterile single-use item"


class SterileItemLot(models.Model):
    """A lot of pre-sterilised single-use items (reference §2.1, §9.5)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    product = models.CharField(max_length=160)
    lot = models.CharField(max_length=60)
    udi_di = models.CharField("UDI-DI", max_length=60, blank=True)
    expiry = models.DateField()
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    next_sequence = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["expiry", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "product", "lot"], name="sterileitemlot_unique_lot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot}"

    def is_expired(self, on: date) -> bool:
        return self.expiry < on


class SingleUseItemUse(models.Model):
    """One single-use item used on a patient: lot + serial (or UDI PI) is used once, ever."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    item_lot = models.ForeignKey(SterileItemLot, on_delete=models.PROTECT, related_name="uses")
    # A serial, or the whole GS1 UDI as scanned (AIs 01, 17, 10, 21 and more run past 80).
    item_serial = models.CharField("serial / UDI-PI", max_length=200)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    used_at = models.DateTimeField()
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    session_ref = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-used_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_lot", "item_serial"], name="singleuse_item_used_once"
            ),
        ]
