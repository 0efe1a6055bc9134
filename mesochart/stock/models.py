"""Lots, containers, mixtures, the append-only movement ledger and fridge logs.

Quantity on hand is never stored: it is the sum of a lot's movements
(``Lot.objects.with_on_hand()``). ``expired`` is derived from the expiry date.
Every row carries ``organisation`` (the sharding key) and ``clinic``.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesochart.accounts.models import Clinic, Organisation
from mesochart.patients.models import Patient

ZERO = Decimal("0")


class Unit(models.TextChoices):
    ML = "mL", "mL"
    VIAL = "vial", "vial"
    SYRINGE = "syringe", "syringe"
    ITEM = "item", "item"


class Storage(models.TextChoices):
    FRIDGE = "fridge", "Fridge (2-8 °C)"
    ROOM = "room", "Room temperature"


class LotStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    QUARANTINED = "quarantined", "Quarantined"
    RECALLED = "recalled", "Recalled"


# Allowed status transitions (data, checked by ``services.set_lot_status``).
LOT_TRANSITIONS: dict[str, frozenset[str]] = {
    LotStatus.AVAILABLE: frozenset({LotStatus.QUARANTINED, LotStatus.RECALLED}),
    LotStatus.QUARANTINED: frozenset({LotStatus.AVAILABLE, LotStatus.RECALLED}),
    LotStatus.RECALLED: frozenset(),
}


class MovementKind(models.TextChoices):
    RECEIVED = "received", "Received"
    ADMINISTERED = "administered", "Administered"
    MIXED = "mixed", "Used in a mixture"
    WASTED = "wasted", "Wasted"
    ADJUSTED = "adjusted", "Adjusted"
    QUARANTINED = "quarantined", "Quarantined"
    RELEASED = "released", "Released"
    RECALLED = "recalled", "Recalled"
    RETURNED = "returned", "Returned to supplier"


class ContainerKind(models.TextChoices):
    VIAL = "vial", "Vial"
    SYRINGE = "syringe", "Syringe"


class Fridge(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="fridges")
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="fridge_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductGtin(models.Model):
    """Which library product a GTIN (from a scanned pack) is: per clinic, or global."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    gtin = models.CharField("GTIN", max_length=14)
    product = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "gtin"],
                condition=Q(clinic__isnull=False),
                name="productgtin_unique_clinic",
            ),
            models.UniqueConstraint(
                fields=["gtin"], condition=Q(clinic__isnull=True), name="productgtin_unique_global"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gtin} -> {self.product}"


class StockThreshold(models.Model):
    """Low-stock level of one product in one clinic (in the product's lots' unit)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    product = models.CharField(max_length=64)
    minimum = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "product"], name="threshold_unique_product"),
        ]


class LotQuerySet(models.QuerySet["Lot"]):
    def expired(self, day: date) -> LotQuerySet:
        return self.filter(expiry__lt=day)

    def in_date(self, day: date) -> LotQuerySet:
        return self.filter(expiry__gte=day)

    def usable(self, day: date) -> LotQuerySet:
        return self.in_date(day).filter(status=LotStatus.AVAILABLE)

    def with_on_hand(self) -> LotQuerySet:
        """Annotate ``on_hand``: the sum of the lot's movements (one aggregate, no N+1)."""
        return self.annotate(
            on_hand=Coalesce(
                Sum("movements__quantity"),
                ZERO,
                output_field=models.DecimalField(max_digits=12, decimal_places=2),
            )
        )


class Lot(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="lots")
    product = models.CharField(max_length=64, help_text="Product code from the protocol library.")
    lot_number = models.CharField("lot number", max_length=40)
    expiry = models.DateField("expiry date")
    gtin = models.CharField("GTIN", max_length=14, blank=True)
    udi_di = models.CharField("UDI-DI", max_length=64, blank=True)
    udi_pi = models.CharField("UDI-PI", max_length=128, blank=True)
    serial = models.CharField(max_length=40, blank=True)
    supplier = models.CharField(max_length=200, blank=True)
    quantity_received = models.DecimalField(max_digits=10, decimal_places=2)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    storage = models.CharField(max_length=10, choices=Storage.choices, default=Storage.FRIDGE)
    fridge = models.ForeignKey(
        Fridge, null=True, blank=True, on_delete=models.PROTECT, related_name="lots"
    )
    status = models.CharField(max_length=12, choices=LotStatus.choices, default=LotStatus.AVAILABLE)
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = LotQuerySet.as_manager()

    class Meta:
        ordering = ["expiry", "product", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "product", "lot_number"], name="lot_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__gt=0), name="lot_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(storage="room") | Q(fridge__isnull=False), name="lot_fridge_named"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "lot_number"], name="lot_org_number_idx"),
            models.Index(fields=["clinic", "product", "expiry"], name="lot_clinic_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot_number}"

    def is_expired_on(self, day: date) -> bool:
        return self.expiry < day

    @property
    def expired(self) -> bool:
        """Past its expiry date today (the server's local date; services use the clinic's)."""
        return self.is_expired_on(timezone.localdate())

    def on_hand_now(self) -> Decimal:
        """Runs a query: the sum of this lot's movements."""
        total = self.movements.aggregate(total=Sum("quantity"))["total"]
        return total if total is not None else ZERO


class Container(models.Model):
    """An opened vial or syringe of a lot, with its beyond-use date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="containers")
    kind = models.CharField(max_length=10, choices=ContainerKind.choices)
    single_use = models.BooleanField()
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    beyond_use_date = models.DateField(help_text="Fixed when opened: see services.beyond_use_date")
    patient = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Single-use containers: the one patient it was used for.",
    )

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.lot} opened {self.opened_at:%Y-%m-%d}"

    def is_past_beyond_use_on(self, day: date) -> bool:
        return self.beyond_use_date < day


class MixturePreparation(models.Model):
    """A library mixture prepared at the chair; its components are ``mixed`` movements."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    mixture = models.CharField(max_length=64, help_text="Mixture code from the protocol library.")
    prepared_at = models.DateTimeField()
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-prepared_at"]

    def __str__(self) -> str:
        return f"{self.mixture} {self.label}"

    @property
    def label(self) -> str:
        return f"MIX-{str(self.pk)[:8]}"


class StockMovement(models.Model):
    """One append-only line of the stock ledger; ``quantity`` is the signed effect on hand.

    Administrations point at a ``lot`` (direct) or at a ``preparation`` (a mixture,
    whose components are the ``mixed`` movements of the same preparation).
    ``session_ref``/``entry_ref`` are set by the charting app; stock never imports it.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    # lot, preparation, patient: indexed by the composite indexes below (db_index=False
    # avoids a second, redundant index on 10M-row tables).
    lot = models.ForeignKey(
        Lot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )
    preparation = models.ForeignKey(
        MixturePreparation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )
    container = models.ForeignKey(
        Container, null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    zone = models.CharField(max_length=40, blank=True)
    occurred_at = models.DateTimeField()
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    reason = models.TextField(blank=True)
    session_ref = models.UUIDField(null=True, blank=True)
    entry_ref = models.UUIDField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lot__isnull=False) | Q(preparation__isnull=False),
                name="movement_lot_or_preparation",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["wasted", "adjusted"]) | ~Q(reason=""),
                name="movement_reason_required",
            ),
            models.CheckConstraint(
                condition=~Q(kind="administered") | Q(patient__isnull=False),
                name="movement_administered_patient",
            ),
        ]
        indexes = [
            models.Index(fields=["lot", "kind"], name="movement_lot_kind_idx"),
            models.Index(fields=["preparation", "kind"], name="movement_prep_kind_idx"),
            models.Index(fields=["patient", "occurred_at"], name="movement_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.unit}"


class FridgeReading(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", "Manual entry"
        CSV = "csv", "CSV import"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    fridge = models.ForeignKey(Fridge, on_delete=models.PROTECT, related_name="readings")
    recorded_at = models.DateTimeField()
    temperature_c = models.DecimalField("temperature (°C)", max_digits=4, decimal_places=1)
    excursion = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["fridge", "recorded_at"], name="reading_fridge_idx")]


class FridgeImport(models.Model):
    """A fridge CSV log imported in the background; the fridge page shows its state."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    fridge = models.ForeignKey(Fridge, on_delete=models.PROTECT, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    sha256 = models.CharField(max_length=64)
    lines = models.PositiveIntegerField(default=0)  # data lines in the file
    rows = models.PositiveIntegerField(default=0)  # readings saved
    error = models.TextField(blank=True)
    # The file until the task has run; emptied afterwards.
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["fridge", "created_at"], name="fridge_import_idx")]
