"""Every write to stock; each is atomic and audited. Reads used by several pages too.

Quantities are in the lot's unit. A movement's ``quantity`` is its signed effect on the
lot's stock; on hand is their sum, computed under a lock on the lot row so that two
people taking the last units at once can never both succeed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import InvalidInput
from mesochart.patients.models import Patient
from mesochart.protocols import load_library
from mesochart.protocols.library import Mixture, Product

from . import conf, tasks
from .errors import StockRuleError
from .gs1 import valid_gtin
from .models import (
    LOT_TRANSITIONS,
    ZERO,
    Container,
    ContainerKind,
    Fridge,
    FridgeImport,
    FridgeReading,
    Lot,
    LotStatus,
    MixturePreparation,
    MovementKind,
    ProductGtin,
    StockMovement,
    StockThreshold,
    Storage,
    Unit,
)


def product_or_error(code: str, field: str = "product") -> Product:
    product = load_library().products.get(code)
    if product is None:
        raise InvalidInput(
            f"Unknown product code {code!r} (not in the protocol library).", field=field
        )
    return product


def mixture_or_error(code: str, field: str = "mixture") -> Mixture:
    mixture = load_library().mixtures.get(code)
    if mixture is None:
        raise InvalidInput(
            f"Unknown mixture code {code!r} (not in the protocol library).", field=field
        )
    return mixture


def _positive(quantity: Decimal, field: str = "quantity") -> Decimal:
    if quantity is None or quantity <= 0:
        raise InvalidInput("Enter a quantity greater than zero.", field=field)
    return quantity


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Give a reason (it is kept in the stock ledger and audit log).", field="reason"
        )
    return reason


def _same_clinic(clinic: Clinic, obj: Lot | Fridge | Patient | Container, field: str) -> None:
    if obj.clinic_id != clinic.pk:
        raise InvalidInput(f"This {field} belongs to another clinic.", field=field)


def _on_hand(lot_id: uuid.UUID) -> Decimal:
    total = StockMovement.objects.filter(lot_id=lot_id).aggregate(total=Sum("quantity"))["total"]
    return total if total is not None else ZERO


def _lock(lot: Lot) -> Lot:
    """Re-read the lot with its row locked until the transaction ends (PostgreSQL)."""
    return Lot.objects.select_for_update().get(pk=lot.pk)


def _movement(
    actor: User | None,
    lot: Lot,
    kind: str,
    quantity: Decimal,
    *,
    occurred_at: datetime | None = None,
    **fields: Any,
) -> StockMovement:
    return StockMovement.objects.create(
        organisation_id=lot.organisation_id,
        clinic_id=lot.clinic_id,
        lot=lot,
        kind=kind,
        quantity=quantity,
        unit=lot.unit,
        occurred_at=occurred_at or timezone.now(),
        recorded_by=actor,
        **fields,
    )


def _take(lot: Lot, quantity: Decimal) -> None:
    """Refuse to drive the (locked) lot below zero."""
    on_hand = _on_hand(lot.pk)
    if quantity > on_hand:
        raise StockRuleError(
            "stock.insufficient",
            f"Only {on_hand} {lot.unit} of lot {lot.lot_number} left; cannot take {quantity}.",
            field="quantity",
        )


def lot_status_refusal(lot: Lot) -> StockRuleError | None:
    """Why ``lot``'s status forbids using it (recalled, quarantined), or None."""
    if lot.status == LotStatus.RECALLED:
        return StockRuleError(
            "lot.recalled", f"Lot {lot.lot_number} is recalled: do not use.", field="lot"
        )
    if lot.status == LotStatus.QUARANTINED:
        return StockRuleError(
            "lot.quarantined",
            f"Lot {lot.lot_number} is quarantined until a manager releases it.",
            field="lot",
        )
    return None


def lot_refusal(lot: Lot, day: date) -> StockRuleError | None:
    """Why ``lot`` may not be used on ``day`` (status, then expiry), or None."""
    refusal = lot_status_refusal(lot)
    if refusal is None and lot.is_expired_on(day):
        refusal = StockRuleError(
            "lot.expired", f"Lot {lot.lot_number} expired on {lot.expiry:%Y-%m-%d}.", field="lot"
        )
    return refusal


def check_lot_usable(lot: Lot, day: date) -> None:
    """Raise the rule that forbids using ``lot`` on ``day``, if any."""
    refusal = lot_refusal(lot, day)
    if refusal is not None:
        raise refusal


def on_hand_by_lot(lot_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Stock on hand of each lot (one aggregate query); lots without movements count 0."""
    ids = list(lot_ids)
    totals = dict(
        StockMovement.objects.filter(lot_id__in=ids)
        .values_list("lot_id")
        .annotate(total=Sum("quantity"))
        .values_list("lot_id", "total")
    )
    return {i: totals.get(i) or ZERO for i in ids}


def _check_unit(lot: Lot, unit: str | None) -> None:
    if unit and unit != lot.unit:
        raise InvalidInput(
            f"Lot {lot.lot_number} is counted in {lot.unit}, not {unit}.", field="unit"
        )


# --- fridges, GTINs, thresholds -------------------------------------------


def do_create_fridge(actor: User, clinic: Clinic, name: str, location: str = "") -> Fridge:
    name = name.strip()
    if not name:
        raise InvalidInput("Name the fridge.", field="name")
    with transaction.atomic():
        if Fridge.objects.filter(clinic=clinic, name=name).exists():
            raise InvalidInput(f"There is already a fridge called {name!r}.", field="name")
        fridge = Fridge.objects.create(
            organisation_id=clinic.organisation_id, clinic=clinic, name=name, location=location
        )
        record(
            "stock.fridge_create", actor=actor, clinic=clinic, obj=fridge, details={"name": name}
        )
    return fridge


def do_map_gtin(actor: User | None, clinic: Clinic | None, gtin: str, product: str) -> ProductGtin:
    """Say which product a GTIN is, for ``clinic`` (or for every clinic when ``None``)."""
    gtin = gtin.strip().zfill(14)
    if not valid_gtin(gtin):
        raise InvalidInput(f"{gtin} is not a valid GTIN (check digit).", field="gtin")
    product_or_error(product)
    with transaction.atomic():
        row, _ = ProductGtin.objects.update_or_create(
            clinic=clinic, gtin=gtin, defaults={"product": product}
        )
        record(
            "stock.gtin_map",
            actor=actor,
            clinic=clinic,
            obj=row,
            details={"gtin": gtin, "product": product},
        )
    return row


def product_for_gtin(clinic: Clinic, gtin: str) -> str | None:
    """The product code for a GTIN: the clinic's own mapping wins over the global one."""
    rows = ProductGtin.objects.filter(
        Q(clinic=clinic) | Q(clinic__isnull=True), gtin=gtin.zfill(14)
    )
    mapping = {row.clinic_id: row.product for row in rows}
    return mapping.get(clinic.pk) or mapping.get(None)


def do_set_threshold(actor: User, clinic: Clinic, product: str, minimum: Decimal) -> StockThreshold:
    product_or_error(product)
    if minimum is None or minimum < 0:
        raise InvalidInput("The low-stock level cannot be negative.", field="minimum")
    with transaction.atomic():
        row, _ = StockThreshold.objects.update_or_create(
            clinic=clinic,
            product=product,
            defaults={"minimum": minimum, "organisation_id": clinic.organisation_id},
        )
        record(
            "stock.threshold",
            actor=actor,
            clinic=clinic,
            obj=row,
            details={"product": product, "minimum": str(minimum)},
        )
    return row


# --- receiving ---------------------------------------------------------------


def do_receive_lot(
    actor: User,
    clinic: Clinic,
    *,
    product: str,
    lot_number: str,
    expiry: date,
    quantity: Decimal,
    unit: str,
    storage: str = Storage.FRIDGE,
    fridge: Fridge | None = None,
    gtin: str = "",
    udi_di: str = "",
    udi_pi: str = "",
    serial: str = "",
    supplier: str = "",
) -> Lot:
    product_or_error(product)
    lot_number = lot_number.strip()
    if not lot_number:
        raise InvalidInput("Enter the lot (batch) number.", field="lot_number")
    _positive(quantity)
    if unit not in Unit.values:
        raise InvalidInput(f"Unknown unit {unit!r}.", field="unit")
    if storage not in Storage.values:
        raise InvalidInput(f"Unknown storage {storage!r}.", field="storage")
    if storage == Storage.FRIDGE and fridge is None:
        raise InvalidInput("Choose the fridge the lot is stored in.", field="fridge")
    if fridge is not None:
        _same_clinic(clinic, fridge, "fridge")
    if expiry < clinic.today():
        raise InvalidInput(
            f"This lot expired on {expiry:%Y-%m-%d}: do not receive it.", field="expiry"
        )
    if gtin and not valid_gtin(gtin):
        raise InvalidInput(f"{gtin} is not a valid GTIN (check digit).", field="gtin")
    known = product_for_gtin(clinic, gtin) if gtin else None
    if known is not None and known != product:
        raise InvalidInput(
            f"GTIN {gtin} is {known} at this clinic, not {product}: check the pack.",
            field="product",
        )
    try:
        with transaction.atomic():
            if gtin and known is None:
                # Learn the pack: the next scan of this GTIN fills the product.
                do_map_gtin(actor, clinic, gtin, product)
            lot = Lot.objects.create(
                organisation_id=clinic.organisation_id,
                clinic=clinic,
                product=product,
                lot_number=lot_number,
                expiry=expiry,
                gtin=gtin,
                udi_di=udi_di or gtin,
                udi_pi=udi_pi,
                serial=serial,
                supplier=supplier,
                quantity_received=quantity,
                unit=unit,
                storage=storage,
                fridge=fridge if storage == Storage.FRIDGE else None,
                received_by=actor,
            )
            _movement(actor, lot, MovementKind.RECEIVED, quantity)
            record(
                "stock.receive",
                actor=actor,
                clinic=clinic,
                obj=lot,
                details={
                    "product": product,
                    "lot": lot_number,
                    "quantity": str(quantity),
                    "unit": unit,
                },
            )
    except IntegrityError:
        raise InvalidInput(
            f"Lot {lot_number} of {product} is already in stock here.", field="lot_number"
        ) from None
    return lot


# --- containers --------------------------------------------------------------


def beyond_use_date(lot: Lot, product: Product, opened_on: date) -> date:
    """The earlier of the lot's expiry and opening + the product's beyond-use days.

    Multi-dose without a product value: 28 days (§9.5). Single-use: the day it is opened.
    """
    param = product.beyond_use_days_after_opening
    if param is not None:
        days = int(param.number)
    elif product.container == "multi_dose":
        days = conf.multi_dose_beyond_use_days()
    else:
        days = 0
    return min(lot.expiry, opened_on + timedelta(days=days))


def do_open_container(
    actor: User,
    clinic: Clinic,
    lot: Lot,
    *,
    kind: str | None = None,
    opened_at: datetime | None = None,
) -> Container:
    _same_clinic(clinic, lot, "lot")
    product = product_or_error(lot.product)
    opened_at = opened_at or timezone.now()
    opened_on = opened_at.astimezone(ZoneInfo(clinic.timezone)).date()
    kind = kind or (ContainerKind.SYRINGE if lot.unit == Unit.SYRINGE else ContainerKind.VIAL)
    if kind not in ContainerKind.values:
        raise InvalidInput(f"Unknown container kind {kind!r}.", field="kind")
    with transaction.atomic():
        lot = _lock(lot)
        check_lot_usable(lot, opened_on)
        container = Container.objects.create(
            organisation_id=lot.organisation_id,
            clinic=clinic,
            lot=lot,
            kind=kind,
            single_use=product.container != "multi_dose",
            opened_at=opened_at,
            opened_by=actor,
            beyond_use_date=beyond_use_date(lot, product, opened_on),
        )
        record(
            "stock.open_container",
            actor=actor,
            clinic=clinic,
            obj=container,
            details={
                "lot": lot.lot_number,
                "beyond_use_date": container.beyond_use_date.isoformat(),
            },
        )
    return container


def _check_container(container: Container, lot: Lot, patient: Patient, day: date) -> None:
    if container.lot_id != lot.pk:
        raise InvalidInput("This container was opened from another lot.", field="container")
    if container.is_past_beyond_use_on(day):
        raise StockRuleError(
            "container.beyond_use",
            f"This {container.kind} was opened on {container.opened_at:%Y-%m-%d} and is past its "
            f"beyond-use date ({container.beyond_use_date:%Y-%m-%d}): discard it.",
            field="container",
        )
    if container.single_use and container.patient_id not in (None, patient.pk):
        raise StockRuleError(
            "container.single_use",
            "Single-use container: one patient, one procedure; it was already used for another "
            "patient (never pool or reuse leftovers).",
            field="container",
        )


# --- administration ------------------------------------------------------------


def do_administer(
    actor: User,
    clinic: Clinic,
    lot: Lot,
    patient: Patient,
    quantity: Decimal,
    zone: str,
    *,
    unit: str | None = None,
    occurred_at: datetime | None = None,
    container: Container | None = None,
    session_ref: uuid.UUID | None = None,
    entry_ref: uuid.UUID | None = None,
) -> StockMovement:
    """Record product given to a patient from ``lot`` (optionally from an opened container).

    Refuses (``StockRuleError``) a recalled, quarantined or expired lot
    (``lot.recalled``/``lot.quarantined``/``lot.expired``), a container past its beyond-use
    date (``container.beyond_use``), a single-use container already used for another patient
    (``container.single_use``), and more than is on hand (``stock.insufficient``).
    """
    _same_clinic(clinic, lot, "lot")
    _same_clinic(clinic, patient, "patient")
    _positive(quantity)
    _check_unit(lot, unit)
    if zone and zone not in load_library().zones:
        raise InvalidInput(f"Unknown zone code {zone!r}.", field="zone")
    occurred_at = occurred_at or timezone.now()
    day = occurred_at.astimezone(ZoneInfo(clinic.timezone)).date()
    with transaction.atomic():
        lot = _lock(lot)
        check_lot_usable(lot, day)
        if container is not None:
            container = Container.objects.select_for_update().get(pk=container.pk)
            _check_container(container, lot, patient, day)
        _take(lot, quantity)
        movement = _movement(
            actor,
            lot,
            MovementKind.ADMINISTERED,
            -quantity,
            patient=patient,
            zone=zone,
            container=container,
            occurred_at=occurred_at,
            session_ref=session_ref,
            entry_ref=entry_ref,
        )
        if container is not None and container.single_use and container.patient_id is None:
            container.patient = patient
            container.save(update_fields=["patient"])
        record(
            "stock.administer",
            actor=actor,
            clinic=clinic,
            obj=lot,
            details={
                "patient": str(patient.pk),
                "quantity": str(quantity),
                "unit": lot.unit,
                "zone": zone,
            },
        )
    return movement


# --- mixtures ------------------------------------------------------------------


def do_prepare_mixture(
    actor: User,
    clinic: Clinic,
    mixture: str,
    components: Iterable[tuple[Lot, Decimal]],
    *,
    prepared_at: datetime | None = None,
) -> MixturePreparation:
    """Prepare a library mixture at the chair; each component consumes its lot's stock."""
    recipe = mixture_or_error(mixture)
    parts = list(components)
    if not parts:
        raise InvalidInput("Choose the lots the mixture is made from.", field="components")
    for lot, quantity in parts:
        _same_clinic(clinic, lot, "components")
        _positive(quantity, "components")
    given = sorted(lot.product for lot, _ in parts)
    if given != sorted(recipe.components):
        raise InvalidInput(
            f"{recipe.name} is made of {', '.join(sorted(recipe.components))}; "
            f"the lots given are {', '.join(given)}.",
            field="components",
        )
    prepared_at = prepared_at or timezone.now()
    day = prepared_at.astimezone(ZoneInfo(clinic.timezone)).date()
    with transaction.atomic():
        preparation = MixturePreparation.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            mixture=mixture,
            prepared_at=prepared_at,
            prepared_by=actor,
        )
        # Lock in a fixed order so two preparations never deadlock.
        for lot, quantity in sorted(parts, key=lambda part: str(part[0].pk)):
            locked = _lock(lot)
            check_lot_usable(locked, day)
            _take(locked, quantity)
            _movement(
                actor,
                locked,
                MovementKind.MIXED,
                -quantity,
                preparation=preparation,
                occurred_at=prepared_at,
            )
        record(
            "stock.prepare_mixture",
            actor=actor,
            clinic=clinic,
            obj=preparation,
            details={
                "mixture": mixture,
                "components": [
                    {"lot": lot.lot_number, "quantity": str(quantity)} for lot, quantity in parts
                ],
            },
        )
    return preparation


def do_administer_preparation(
    actor: User,
    clinic: Clinic,
    preparation: MixturePreparation,
    patient: Patient,
    quantity: Decimal,
    zone: str,
    *,
    unit: str = Unit.ML,
    occurred_at: datetime | None = None,
    session_ref: uuid.UUID | None = None,
    entry_ref: uuid.UUID | None = None,
) -> StockMovement:
    """Record a mixture given to a patient: the movement points at the preparation, so a
    recall of any component lot reaches the patient."""
    if preparation.clinic_id != clinic.pk:
        raise InvalidInput("This preparation belongs to another clinic.", field="preparation")
    _same_clinic(clinic, patient, "patient")
    _positive(quantity)
    if zone and zone not in load_library().zones:
        raise InvalidInput(f"Unknown zone code {zone!r}.", field="zone")
    with transaction.atomic():
        preparation = MixturePreparation.objects.select_for_update().get(pk=preparation.pk)
        movement = StockMovement.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            kind=MovementKind.ADMINISTERED,
            preparation=preparation,
            patient=patient,
            zone=zone,
            quantity=-quantity,
            unit=unit,
            occurred_at=occurred_at or timezone.now(),
            session_ref=session_ref,
            entry_ref=entry_ref,
            recorded_by=actor,
        )
        record(
            "stock.administer_mixture",
            actor=actor,
            clinic=clinic,
            obj=preparation,
            details={"patient": str(patient.pk), "quantity": str(quantity), "zone": zone},
        )
    return movement


# --- waste, adjust, return -------------------------------------------------------


def do_waste(
    actor: User,
    clinic: Clinic,
    lot: Lot,
    quantity: Decimal,
    reason: str,
    *,
    container: Container | None = None,
) -> StockMovement:
    _same_clinic(clinic, lot, "lot")
    _positive(quantity)
    reason = _reason(reason)
    with transaction.atomic():
        lot = _lock(lot)
        _take(lot, quantity)
        movement = _movement(
            actor, lot, MovementKind.WASTED, -quantity, reason=reason, container=container
        )
        record(
            "stock.waste",
            actor=actor,
            clinic=clinic,
            obj=lot,
            details={"quantity": str(quantity), "reason": reason},
        )
    return movement


def do_adjust(
    actor: User, clinic: Clinic, lot: Lot, quantity: Decimal, reason: str
) -> StockMovement:
    """A signed correction after a count; never below zero."""
    _same_clinic(clinic, lot, "lot")
    if quantity is None or quantity == 0:
        raise InvalidInput("Enter a non-zero change (negative to remove).", field="quantity")
    reason = _reason(reason)
    with transaction.atomic():
        lot = _lock(lot)
        if quantity < 0:
            _take(lot, -quantity)
        movement = _movement(actor, lot, MovementKind.ADJUSTED, quantity, reason=reason)
        record(
            "stock.adjust",
            actor=actor,
            clinic=clinic,
            obj=lot,
            details={"quantity": str(quantity), "reason": reason},
        )
    return movement


def do_return(
    actor: User, clinic: Clinic, lot: Lot, quantity: Decimal, reason: str = ""
) -> StockMovement:
    _same_clinic(clinic, lot, "lot")
    _positive(quantity)
    with transaction.atomic():
        lot = _lock(lot)
        _take(lot, quantity)
        movement = _movement(actor, lot, MovementKind.RETURNED, -quantity, reason=reason.strip())
        record(
            "stock.return",
            actor=actor,
            clinic=clinic,
            obj=lot,
            details={"quantity": str(quantity), "reason": reason},
        )
    return movement


# --- status ------------------------------------------------------------------------

STATUS_MOVEMENT = {
    LotStatus.QUARANTINED: MovementKind.QUARANTINED,
    LotStatus.AVAILABLE: MovementKind.RELEASED,
    LotStatus.RECALLED: MovementKind.RECALLED,
}


def set_lot_status(actor: User | None, clinic: Clinic, lot: Lot, status: str, reason: str) -> Lot:
    """Move a lot to ``status`` if the transition is allowed; ledger line + audit event."""
    _same_clinic(clinic, lot, "lot")
    reason = _reason(reason)
    with transaction.atomic():
        lot = _lock(lot)
        if status not in LOT_TRANSITIONS[lot.status]:
            raise StockRuleError(
                f"lot.{lot.status}",
                f"Lot {lot.lot_number} is {lot.get_status_display().lower()}; it cannot become "
                f"{LotStatus(status).label.lower()}.",
                field="status",
            )
        previous = lot.status
        lot.status = status
        lot.save(update_fields=["status"])
        _movement(actor, lot, STATUS_MOVEMENT[LotStatus(status)], ZERO, reason=reason)
        record(
            f"stock.lot_{status}",
            actor=actor,
            clinic=clinic,
            obj=lot,
            details={"from": previous, "to": status, "reason": reason},
        )
    return lot


def do_quarantine_lot(actor: User | None, clinic: Clinic, lot: Lot, reason: str) -> Lot:
    return set_lot_status(actor, clinic, lot, LotStatus.QUARANTINED, reason)


def do_release_lot(actor: User, clinic: Clinic, lot: Lot, reason: str) -> Lot:
    return set_lot_status(actor, clinic, lot, LotStatus.AVAILABLE, reason)


def do_recall_lot(actor: User, clinic: Clinic, lot: Lot, reason: str) -> Lot:
    return set_lot_status(actor, clinic, lot, LotStatus.RECALLED, reason)


# --- fridge temperatures -----------------------------------------------------------


def is_excursion(temperature_c: Decimal) -> bool:
    low, high = conf.fridge_bounds()
    return not low <= temperature_c <= high


def do_record_reading(
    actor: User,
    clinic: Clinic,
    fridge: Fridge,
    recorded_at: datetime,
    temperature_c: Decimal,
    *,
    source: str = FridgeReading.Source.MANUAL,
) -> FridgeReading:
    """Log one reading; outside the cold chain it quarantines every available lot stored in
    the fridge (each with a ledger line and audit event) until a manager releases it."""
    _same_clinic(clinic, fridge, "fridge")
    if timezone.is_naive(recorded_at):
        recorded_at = timezone.make_aware(recorded_at, ZoneInfo(clinic.timezone))
    if recorded_at > timezone.now() + timedelta(minutes=5):
        raise InvalidInput("The reading time is in the future.", field="recorded_at")
    if not Decimal("-50") <= temperature_c <= Decimal("60"):
        raise InvalidInput(f"{temperature_c} °C is not a plausible reading.", field="temperature_c")
    with transaction.atomic():
        reading = FridgeReading.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            fridge=fridge,
            recorded_at=recorded_at,
            temperature_c=temperature_c,
            excursion=is_excursion(temperature_c),
            source=source,
            recorded_by=actor,
        )
        record(
            "stock.fridge_reading",
            actor=actor,
            clinic=clinic,
            obj=fridge,
            details={"temperature_c": str(temperature_c), "excursion": reading.excursion},
        )
        if reading.excursion:
            _quarantine_fridge(actor, clinic, fridge, recorded_at, temperature_c)
    return reading


def _quarantine_fridge(
    actor: User | None, clinic: Clinic, fridge: Fridge, at: datetime, temperature_c: Decimal
) -> None:
    low, high = conf.fridge_bounds()
    reason = (
        f"Temperature excursion in {fridge.name}: {temperature_c} °C at "
        f"{at.astimezone(ZoneInfo(clinic.timezone)):%Y-%m-%d %H:%M} "
        f"(allowed {low}-{high} °C)"
    )
    for lot in Lot.objects.filter(
        fridge=fridge, storage=Storage.FRIDGE, status=LotStatus.AVAILABLE
    ).order_by("pk"):
        do_quarantine_lot(actor, clinic, lot, reason)


@dataclass(frozen=True)
class ParsedReading:
    line: int
    recorded_at: datetime
    temperature_c: Decimal


def parse_readings_csv(text: str, tz: ZoneInfo) -> list[ParsedReading]:
    """Rows ``recorded_at,temperature_c`` (header required); every bad line is reported as
    ``line N, column C: ...`` in one ``InvalidInput`` (field ``file``)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        rows = list(reader)
    except csv.Error as exc:  # e.g. a field over the csv module's 131,072-character limit
        raise InvalidInput(
            f"line {reader.line_num}: not a readable CSV line ({exc})", field="file"
        ) from exc
    if not rows:
        raise InvalidInput("The file is empty.", field="file")
    header = [h.strip().lower() for h in rows[0]]
    if header[:2] != ["recorded_at", "temperature_c"]:
        raise InvalidInput("line 1: the header must be recorded_at,temperature_c", field="file")
    problems: list[str] = []
    parsed: list[ParsedReading] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            problems.append(f"line {number}: expected 2 columns, found {len(row)}")
            continue
        raw_at, raw_temp = row[0].strip(), row[1].strip()
        when: datetime | None = None
        try:
            when = datetime.fromisoformat(raw_at)
        except ValueError:
            problems.append(
                f"line {number}, column recorded_at: {raw_at!r} is not a date-time "
                "(YYYY-MM-DD HH:MM)"
            )
        try:
            temperature = Decimal(raw_temp.replace(",", "."))
            if not temperature.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(f"line {number}, column temperature_c: {raw_temp!r} is not a number")
            continue
        if when is not None:
            if timezone.is_naive(when):
                when = when.replace(tzinfo=tz)
            if when > timezone.now() + timedelta(minutes=5):
                problems.append(f"line {number}, column recorded_at: {raw_at} is in the future")
            elif not Decimal("-50") <= temperature <= Decimal("60"):
                problems.append(
                    f"line {number}, column temperature_c: {temperature} °C is not plausible"
                )
            else:
                parsed.append(ParsedReading(number, when, temperature))
    if problems:
        raise InvalidInput(
            "; ".join(problems[:20]) + (" ..." if len(problems) > 20 else ""), field="file"
        )
    if not parsed:
        raise InvalidInput("The file has no readings.", field="file")
    return parsed


IMPORT_BATCH_ROWS = 2000


def do_import_readings(
    actor: User, clinic: Clinic, fridge: Fridge, text: str
) -> list[FridgeReading]:
    """Import a CSV log: nothing is saved if any line is bad.

    Rows are inserted in batches and audited by ONE summary event (row count, the
    file's SHA-256), appended as the transaction's last step: the audit chain's head
    is locked only for the commit, not for the length of the import. An excursion
    quarantines the fridge's lots once, from its first excursion reading.
    """
    _same_clinic(clinic, fridge, "fridge")
    parsed = sorted(
        parse_readings_csv(text, ZoneInfo(clinic.timezone)), key=lambda r: r.recorded_at
    )
    readings = [
        FridgeReading(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            fridge=fridge,
            recorded_at=row.recorded_at,
            temperature_c=row.temperature_c,
            excursion=is_excursion(row.temperature_c),
            source=FridgeReading.Source.CSV,
            recorded_by=actor,
        )
        for row in parsed
    ]
    excursions = [r for r in readings if r.excursion]
    with transaction.atomic():
        for start in range(0, len(readings), IMPORT_BATCH_ROWS):
            FridgeReading.objects.bulk_create(readings[start : start + IMPORT_BATCH_ROWS])
        # Audit last: everything below is short (a few lots, one event).
        if excursions:
            first = excursions[0]
            _quarantine_fridge(actor, clinic, fridge, first.recorded_at, first.temperature_c)
        record(
            "stock.fridge_import",
            actor=actor,
            clinic=clinic,
            obj=fridge,
            details={
                "rows": len(readings),
                "excursions": len(excursions),
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "from": readings[0].recorded_at.isoformat(),
                "to": readings[-1].recorded_at.isoformat(),
            },
        )
    return readings


def data_lines(text: str) -> int:
    """Lines after the header (a quick count; the parser decides what is a reading)."""
    return max(text.count("\n") - 1, 0) + (0 if text.endswith("\n") else 1)


def do_queue_import(actor: User, clinic: Clinic, fridge: Fridge, text: str) -> FridgeImport:
    """Queue a large CSV log as a background task; its FridgeImport tells how it went."""
    _same_clinic(clinic, fridge, "fridge")
    with transaction.atomic():
        job = FridgeImport.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            fridge=fridge,
            created_by=actor,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            lines=data_lines(text),
            text=text,
        )
        record(
            "stock.fridge_import_queued",
            actor=actor,
            clinic=clinic,
            obj=fridge,
            details={"import": str(job.pk), "sha256": job.sha256, "lines": job.lines},
        )
        transaction.on_commit(lambda: tasks.run_fridge_import.enqueue(str(job.pk)))
    return job


def run_fridge_import(import_id: str) -> FridgeImport:
    """The task's body: import the queued file; a refusal is kept as the import's error."""
    job = FridgeImport.objects.select_related("clinic", "fridge", "created_by").get(pk=import_id)
    if job.status != FridgeImport.Status.QUEUED:
        return job
    job.status = FridgeImport.Status.RUNNING
    job.save(update_fields=["status"])
    try:
        readings = do_import_readings(job.created_by, job.clinic, job.fridge, job.text)
    except InvalidInput as exc:
        job.status, job.error = FridgeImport.Status.FAILED, exc.message
    except Exception as exc:
        job.status, job.error = FridgeImport.Status.FAILED, f"internal error: {type(exc).__name__}"
        raise
    else:
        job.status, job.rows = FridgeImport.Status.DONE, len(readings)
    finally:
        job.finished_at = timezone.now()
        job.text = ""
        job.save(update_fields=["status", "rows", "error", "finished_at", "text"])
    return job


# --- reads used by the forms, the dashboard and (later) charting ----------------------


def preparation_lots(preparation_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Lot]]:
    """The component lots drawn up into each mixture preparation, in the order they were
    mixed (one query); a preparation without components maps to an empty list."""
    ids = set(preparation_ids)
    out: dict[uuid.UUID, list[Lot]] = {i: [] for i in ids}
    if ids:
        moves = (
            StockMovement.objects.filter(preparation_id__in=ids, kind=MovementKind.MIXED)
            .select_related("lot")
            .order_by("occurred_at", "pk")
        )
        for move in moves:
            if move.lot is not None and move.preparation_id is not None:
                out[move.preparation_id].append(move.lot)
    return out


def fefo_lots(clinic: Clinic, product: str, day: date | None = None) -> list[Lot]:
    """Usable lots of ``product`` with stock, first expiry first out (one query).

    Each lot carries ``on_hand``; the first is the one to use.
    """
    return fefo_lots_by_product(clinic, [product], day).get(product, [])


def fefo_lots_by_product(
    clinic: Clinic, products: Iterable[str], day: date | None = None
) -> dict[str, list[Lot]]:
    """``fefo_lots`` of several products at once (one query), keyed by product code."""
    day = day or clinic.today()
    out: dict[str, list[Lot]] = {}
    lots = (
        Lot.objects.filter(clinic=clinic, product__in=list(products))
        .usable(day)
        .with_on_hand()
        .filter(Q(on_hand__gt=0))
        .order_by("expiry", "received_at", "lot_number")
    )
    for lot in lots:
        out.setdefault(lot.product, []).append(lot)
    return out


@dataclass(frozen=True)
class LowStock:
    product: str
    name: str
    on_hand: Decimal
    minimum: Decimal


@dataclass(frozen=True)
class Dashboard:
    expiring: list[Lot]
    expired_with_stock: list[Lot]
    quarantined: list[Lot]
    low_stock: list[LowStock]
    warning_days: int


def _alert_filters(day: date, warning_days: int) -> dict[str, Q]:
    """What puts a lot on the stock page and the Today card; ``on_hand`` must be annotated
    (``with_on_hand``)."""
    return {
        "expiring": Q(
            status=LotStatus.AVAILABLE,
            expiry__gte=day,
            expiry__lte=day + timedelta(days=warning_days),
            on_hand__gt=0,
        ),
        "expired_with_stock": Q(expiry__lt=day, on_hand__gt=0),
        "quarantined": Q(status=LotStatus.QUARANTINED),
    }


def _low_stock(clinic: Clinic, day: date) -> list[LowStock]:
    """Products whose usable stock is below the clinic's level (two queries)."""
    totals: dict[str, Decimal] = dict(
        StockMovement.objects.filter(
            lot__clinic=clinic, lot__status=LotStatus.AVAILABLE, lot__expiry__gte=day
        )
        .values_list("lot__product")
        .annotate(total=Sum("quantity"))
        .values_list("lot__product", "total")
    )
    products = load_library().products
    return [
        LowStock(
            t.product,
            products[t.product].name if t.product in products else t.product,
            totals.get(t.product) or ZERO,
            t.minimum,
        )
        for t in StockThreshold.objects.filter(clinic=clinic).order_by("product")
        if (totals.get(t.product) or ZERO) < t.minimum
    ]


def dashboard(clinic: Clinic, day: date | None = None) -> Dashboard:
    """What the stock page shows first (five queries whatever the stock size)."""
    day = day or clinic.today()
    warning_days = conf.expiry_warning_days()
    lots = Lot.objects.filter(clinic=clinic).with_on_hand().select_related("fridge")
    kinds = {
        kind: list(lots.filter(q).order_by("expiry", "lot_number"))
        for kind, q in _alert_filters(day, warning_days).items()
    }
    return Dashboard(
        kinds["expiring"],
        kinds["expired_with_stock"],
        kinds["quarantined"],
        _low_stock(clinic, day),
        warning_days,
    )


@dataclass(frozen=True)
class LotAlerts:
    count: int
    lots: list[Lot]  # the first few, soonest expiry first, each with ``on_hand``

    @property
    def more(self) -> int:
        return self.count - len(self.lots)


@dataclass(frozen=True)
class StockAlerts:
    expired_with_stock: LotAlerts
    expiring: LotAlerts
    quarantined: LotAlerts
    low_stock: list[LowStock]
    warning_days: int

    @property
    def all_clear(self) -> bool:
        return not (
            self.expired_with_stock.count
            or self.expiring.count
            or self.quarantined.count
            or self.low_stock
        )


def alerts(clinic: Clinic, day: date | None = None, first: int = 3) -> StockAlerts:
    """The Today page's stock card: the stock page's alerts counted, with the ``first`` lots
    of each kind (six queries whatever the stock size)."""
    day = day or clinic.today()
    warning_days = conf.expiry_warning_days()
    filters = _alert_filters(day, warning_days)
    lots = Lot.objects.filter(clinic=clinic).with_on_hand()
    counts = lots.aggregate(**{kind: Count("pk", filter=q) for kind, q in filters.items()})
    kinds = {
        kind: LotAlerts(counts[kind], list(lots.filter(q).order_by("expiry", "lot_number")[:first]))
        for kind, q in filters.items()
    }
    return StockAlerts(
        kinds["expired_with_stock"],
        kinds["expiring"],
        kinds["quarantined"],
        _low_stock(clinic, day),
        warning_days,
    )
