"""Charting a session in progress: the brush, points on the map, whole-zone entries, edits
of many entries at once, supplies, mixtures drawn up at the chair, instrument packs,
single-use items and overrides.

Every write runs inside :func:`charting`: one transaction that locks the session row,
refuses unless the session is in progress (a signed record never changes) and writes one
audit event when the change is done. Services take typed, validated values; the forms in
``care/forms.py`` build them from what the browser sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.core.templatetags.clinical import modality as modality_name
from mesochart.errors import DomainError, InvalidInput, NotAllowed
from mesochart.library.services import library_for
from mesochart.protocols import Library, load_library
from mesochart.sterility.models import Pack, SterileItemLot
from mesochart.stock import gs1
from mesochart.stock import services as stock
from mesochart.stock.models import Container, Lot, MixturePreparation, Unit

from .. import maps
from ..models import (
    ChartEntry,
    EntryKind,
    SessionItem,
    SessionOverride,
    SessionPack,
    SessionSupply,
    SessionVial,
    TreatmentSession,
)
from .check import run_check
from .lifecycle import editable_or_conflict, locked_session


@dataclass
class Change:
    """The locked session a charting service changes, and what its audit event says."""

    session: TreatmentSession
    details: dict[str, Any] = field(default_factory=dict)


@contextmanager
def charting(actor: User, session: TreatmentSession, action: str) -> Iterator[Change]:
    """Lock ``session``, refuse unless it is in progress, let the caller change it, then
    write the audit event ``session.<action>`` with ``change.details``; all in one
    transaction, so a refusal part-way leaves nothing behind."""
    with transaction.atomic():
        locked = locked_session(session)
        editable_or_conflict(locked)
        change = Change(locked)
        yield change
        record(
            f"session.{action}",
            actor=actor,
            clinic=locked.clinic,
            obj=locked,
            details=change.details,
        )


# --- the brush: what the next point gets ------------------------------------------------


ENDPOINTS = ("erythema", "pinpoint_bleeding")


def modality_label(code: str) -> str:
    """What clinicians read for an energy modality code (contract 1.1)."""
    return modality_name(code)


@dataclass(frozen=True)
class Brush:
    """The settings the next point takes (validated by ``BrushForm``)."""

    kind: str
    technique: str = ""
    lot: Lot | None = None
    preparation: MixturePreparation | None = None
    topical_lot: Lot | None = None
    volume_ml: Decimal | None = None
    depth_mm: Decimal | None = None
    needle_gauge: int | None = None
    needle_length_mm: Decimal | None = None
    angle_deg: int | None = None
    device: str = ""
    passes: int | None = None
    endpoint: str = ""
    device_lot: str = ""
    energy: str = ""
    test_spot: bool = False
    modality: str = ""

    def as_json(self) -> dict[str, Any]:
        """The brush as stored on the session: lots by id with their product code."""
        data: dict[str, Any] = {"kind": self.kind}
        if self.preparation is not None:
            data["preparation"] = str(self.preparation.pk)
            data["product"] = self.preparation.mixture
        elif self.lot is not None:
            data["lot"] = str(self.lot.pk)
            data["product"] = self.lot.product
            data["unit"] = self.lot.unit
        if self.topical_lot is not None:
            data["topical_lot"] = str(self.topical_lot.pk)
        for name in ("volume_ml", "depth_mm", "needle_length_mm"):
            value = getattr(self, name)
            if value is not None:
                data[name] = str(value)
        for name in ("needle_gauge", "angle_deg", "passes"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        for name in ("technique", "device", "endpoint", "device_lot", "energy", "modality"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.test_spot:
            data["test_spot"] = True
        return data


def entry_kind_for(library: Library, protocol: str) -> str:
    """The main kind of entry a protocol charts (from its techniques' kinds)."""
    kinds = [library.techniques[t].kind for t in library.protocols[protocol].techniques]
    for kind in (EntryKind.INJECTION, EntryKind.MICRONEEDLING, EntryKind.ENERGY):
        if kind in kinds:
            return str(kind)
    return str(EntryKind.NEEDLE_FREE) if kinds else str(EntryKind.INJECTION)


def default_brush(library: Library, session: TreatmentSession) -> dict[str, Any]:
    """The first technique of the protocol and the first-expiry-first-out lot of its first
    product in stock; volumes and needles are left for the clinician to set (never
    invented)."""
    proto = library.protocols[session.protocol]
    kind = entry_kind_for(library, session.protocol)
    techniques = [t for t in proto.techniques if library.techniques[t].kind == kind]
    lots = stock.fefo_lots_by_product(session.clinic, proto.products)
    lot = next((lots[p][0] for p in proto.products if lots.get(p)), None)
    return Brush(kind=kind, technique=techniques[0] if techniques else "", lot=lot).as_json()


def lot_from_scan(clinic: Clinic, scanned: str) -> Lot:
    """The clinic's lot a scanned GS1 code (GTIN + lot, AIs 01 and 10) or a typed lot
    number names; errors name the ``scan`` field."""
    try:
        parsed = gs1.parse(scanned)
    except gs1.GS1Error:
        parsed = None
    lots = Lot.objects.filter(clinic_id=clinic.pk)
    if parsed is not None and parsed.lot:
        lots = lots.filter(lot_number=parsed.lot)
        product = stock.product_for_gtin(clinic, parsed.gtin) if parsed.gtin else None
        if product:
            lots = lots.filter(product=product)
    else:
        lots = lots.filter(lot_number__iexact=scanned)
    found = list(lots[:2])
    if len(found) != 1:
        raise InvalidInput(
            _("No lot in this clinic matches “%(scan)s”: receive it in stock first.")
            % {"scan": scanned}
            if not found
            else _("Several products share lot number “%(scan)s”: pick the lot from the list.")
            % {"scan": scanned},
            field="scan",
        )
    return found[0]


# The brush's texts are copied onto every point: each must fit its chart entry column.
BRUSH_TEXTS = ("kind", "technique", "device", "endpoint", "device_lot", "energy")


def fits_column(model: type[Any], name: str, value: str, field: str | None = None) -> str:
    """``value`` if ``model``'s column ``name`` can store it whole, else ``InvalidInput``
    naming ``field`` (default ``name``): nothing a clinician typed is ever cut."""
    column = model._meta.get_field(name)
    limit = column.max_length
    if limit is not None and len(value) > limit:
        raise InvalidInput(
            _("%(field)s: at most %(limit)d characters (this has %(length)d).")
            % {"field": capfirst(column.verbose_name), "limit": limit, "length": len(value)},
            field=field or name,
        )
    return value


def _brush_fits_the_chart(brush: Mapping[str, Any]) -> None:
    for name in BRUSH_TEXTS:
        fits_column(ChartEntry, name, str(brush.get(name) or ""))


def _same_clinic(session: TreatmentSession, obj: Any, name: str) -> None:
    if obj is not None and obj.clinic_id != session.clinic_id:
        raise InvalidInput(_("No such lot in this clinic."), field=name)


def do_set_brush(actor: User, session: TreatmentSession, brush: Brush) -> TreatmentSession:
    with charting(actor, session, "brush") as change:
        s = change.session
        for obj, name in ((brush.lot, "lot"), (brush.topical_lot, "topical_lot")):
            _same_clinic(s, obj, name)
        _same_clinic(s, brush.preparation, "lot")
        _brush_fits_the_chart(brush.as_json())
        s.brush = brush.as_json()
        s.save(update_fields=["brush"])
        change.details = {"brush": s.brush}
    return s


# --- chart entries ----------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _entry_from_brush(
    session: TreatmentSession, brush: Mapping[str, Any], actor: User
) -> ChartEntry:
    """A new entry with the brush's settings (the brush was validated when it was set; a
    brush stored before its texts were checked is refused, naming the field to change)."""
    _brush_fits_the_chart(brush)
    entry = ChartEntry(
        organisation_id=session.organisation_id,
        clinic_id=session.clinic_id,
        session=session,
        kind=brush.get("kind") or EntryKind.INJECTION,
        technique=brush.get("technique", ""),
        created_by=actor,
    )
    prep_id, lot_id = _uuid(brush.get("preparation")), _uuid(brush.get("lot"))
    if prep_id is not None:
        entry.preparation_id = prep_id
        entry.product = brush.get("product") or MixturePreparation.objects.get(pk=prep_id).mixture
    elif lot_id is not None:
        entry.lot_id = lot_id
        entry.product = brush.get("product") or Lot.objects.get(pk=lot_id).product
    for name in ("volume_ml", "depth_mm", "needle_length_mm"):
        if brush.get(name) not in (None, ""):
            setattr(entry, name, Decimal(str(brush[name])))
    for name in ("needle_gauge", "angle_deg", "passes"):
        if brush.get(name) not in (None, ""):
            setattr(entry, name, int(brush[name]))
    for name in ("device", "device_lot", "endpoint", "energy", "modality"):
        setattr(entry, name, str(brush.get(name) or ""))
    entry.test_spot = bool(brush.get("test_spot"))
    if entry.kind in (EntryKind.ENERGY, EntryKind.NEEDLE_FREE) and not entry.modality:
        technique = load_library().techniques.get(entry.technique)
        modalities = technique.modalities if technique is not None else ()
        if len(modalities) == 1:
            entry.modality = modalities[0]
        elif modalities:
            # The interval after a fractional laser depends on it (12 weeks or 3): asked,
            # never guessed, before the first pass is charted. Refused on the map, where
            # the click was made; the brush card holds the choice.
            raise InvalidInput(
                _("Choose the modality (%(choices)s) under Next point before charting a pass.")
                % {"choices": ", ".join(str(modality_label(m)) for m in modalities)},
                field="map",
            )
    entry.topical_lot_id = _uuid(brush.get("topical_lot"))
    return entry


def _next_position(session: TreatmentSession) -> int:
    last = session.entries.aggregate(last=Max("position"))["last"]
    return (last or 0) + 1


@dataclass(frozen=True)
class MapPoint:
    """A click on a map view, in normalised coordinates (0..1 of the view's box)."""

    view: str
    x: float
    y: float


def zone_of(point: MapPoint) -> str | None:
    """The zone under the point, from the map data (the browser's zone is never trusted)."""
    if point.view not in maps.VIEWS:
        raise InvalidInput(_("Unknown map view %(view)r.") % {"view": point.view}, field="view")
    return maps.zone_at(point.view, point.x, point.y)


@dataclass
class AddedPoints:
    entries: list[ChartEntry]
    refused: list[MapPoint]

    @property
    def message(self) -> str:
        """What to tell the clinician about the points that were not charted."""
        n = len(self.refused)
        return ngettext(
            "%(n)d point is outside every treatment zone of the map: it was not charted.",
            "%(n)d points are outside every treatment zone of the map: they were not charted.",
            n,
        ) % {"n": n}


def do_add_points(
    actor: User, session: TreatmentSession, points: Sequence[MapPoint]
) -> AddedPoints:
    """Points where the clinician clicked (one or a queued batch), each with the brush's
    lot, volume, depth and needle. A point outside every zone is refused on its own; the
    others are charted. Nothing inside any zone: nothing is saved (``InvalidInput``)."""
    zoned = [(p, zone_of(p)) for p in points]
    inside = [(p, z) for p, z in zoned if z is not None]
    refused = [p for p, z in zoned if z is None]
    if not inside:
        raise InvalidInput(
            _("That point is outside every treatment zone of the map: it was not charted."),
            field="map",
        )
    with charting(actor, session, "point_add") as change:
        s = change.session
        position = _next_position(s)
        entries = []
        for n, (point, zone) in enumerate(inside):
            entry = _entry_from_brush(s, s.brush, actor)
            entry.view, entry.x, entry.y, entry.zone, entry.points = (
                point.view,
                round(point.x, 4),
                round(point.y, 4),
                zone,
                1,
            )
            entry.position = position + n
            entries.append(entry)
        ChartEntry.objects.bulk_create(entries)
        unit = s.brush.get("unit") if s.brush.get("lot") else None
        if any(_needs_supply(e, unit) for e in entries):
            sync_supplies(s)
        change.details = {
            "points": [{"entry": str(e.pk), "zone": e.zone, "x": e.x, "y": e.y} for e in entries],
            "lot": str(entries[0].lot_id or entries[0].preparation_id or ""),
            "volume_ml": str(entries[0].volume_ml or ""),
            "refused": [[p.view, p.x, p.y] for p in refused],
        }
    return AddedPoints(entries, refused)


def do_add_zone_entry(
    actor: User, session: TreatmentSession, *, zone: str, points: int, note: str = ""
) -> ChartEntry:
    """A whole-zone entry (nappage over the forehead, a roller over a cheek): the brush's
    settings with the zone and the number of points given."""
    if zone not in library_for(session.clinic).zones:
        raise InvalidInput(_("Choose a zone."), field="zone")
    if not 1 <= points <= 10000:
        raise InvalidInput(_("The number of points must be between 1 and 10000."), field="points")
    with charting(actor, session, "entry_add") as change:
        s = change.session
        entry = _entry_from_brush(s, s.brush, actor)
        entry.zone, entry.points = zone, points
        entry.note = fits_column(ChartEntry, "note", (note or "").strip())
        entry.position = _next_position(s)
        entry.save(force_insert=True)
        sync_supplies(s)
        change.details = {"entry": str(entry.pk), "zone": zone, "points": points}
    return entry


def do_move_point(actor: User, entry: ChartEntry, point: MapPoint) -> ChartEntry:
    zone = zone_of(point)
    if zone is None:
        raise InvalidInput(
            _("That place is outside every treatment zone: the point stays where it was."),
            field="map",
        )
    with charting(actor, entry.session, "point_move") as change:
        entry = ChartEntry.objects.get(pk=entry.pk)
        if entry.x is None:
            raise InvalidInput(_("A zone entry has no point to move."), field="entry")
        before = [entry.zone, entry.x, entry.y]
        entry.view, entry.x, entry.y, entry.zone = (
            point.view,
            round(point.x, 4),
            round(point.y, 4),
            zone,
        )
        entry.save(update_fields=["view", "x", "y", "zone"])
        change.details = {"entry": str(entry.pk), "from": before, "to": [zone, entry.x, entry.y]}
    return entry


def do_delete_entry(actor: User, entry: ChartEntry) -> None:
    with charting(actor, entry.session, "entry_delete") as change:
        change.details = {"entry": str(entry.pk), "zone": entry.zone, "points": entry.points}
        ChartEntry.objects.filter(pk=entry.pk, session=change.session).delete()
        if _needs_supply(entry):
            sync_supplies(change.session)


@dataclass(frozen=True)
class EntryChanges:
    """New settings for charted injection entries; ``None`` leaves a setting as it is."""

    volume_ml: Decimal | None = None
    depth_mm: Decimal | None = None
    needle_gauge: int | None = None
    needle_length_mm: Decimal | None = None
    angle_deg: int | None = None
    technique: str = ""
    lot: Lot | None = None
    preparation: MixturePreparation | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("volume_ml", "depth_mm", "needle_gauge", "needle_length_mm", "angle_deg")
            if getattr(self, name) is not None
        }
        if self.technique:
            out["technique"] = self.technique
        if self.preparation is not None:
            out.update(preparation=self.preparation, lot=None, product=self.preparation.mixture)
        elif self.lot is not None:
            out.update(lot=self.lot, preparation=None, product=self.lot.product)
        return out


def _audit_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Lot | MixturePreparation):
        return str(value.pk)
    return value


def do_update_entries(
    actor: User,
    session: TreatmentSession,
    changes: EntryChanges,
    *,
    entry_ids: Sequence[uuid.UUID] = (),
    zone: str = "",
) -> list[ChartEntry]:
    """Change the volume, depth, needle, technique or lot of the selected injection entries
    (``entry_ids``) or of every injection entry in ``zone``, in one change."""
    new = changes.fields()
    if not new:
        raise InvalidInput(_("Enter the new value of at least one setting."), field="edit")
    if not entry_ids and not zone:
        raise InvalidInput(_("Select points on the map or a zone first."), field="entries")
    with charting(actor, session, "entries_edit") as change:
        s = change.session
        for obj, name in ((changes.lot, "lot"), (changes.preparation, "lot")):
            _same_clinic(s, obj, name)
        rows = s.entries.all()
        rows = rows.filter(pk__in=list(entry_ids)) if entry_ids else rows.filter(zone=zone)
        entries = list(rows.select_related("lot", "topical_lot"))
        if entry_ids and len(entries) != len(set(entry_ids)):
            raise InvalidInput(
                _("Some selected points are no longer on this chart."), field="entries"
            )
        if not entries:
            raise InvalidInput(_("No charted point in that zone."), field="entries")
        if any(e.kind != EntryKind.INJECTION for e in entries):
            raise InvalidInput(
                _(
                    "Only injection entries take a volume, depth, needle or lot: unselect the others."
                ),
                field="entries",
            )
        before = {
            str(e.pk): {name: _audit_value(getattr(e, name)) for name in new} for e in entries
        }
        for e in entries:
            for name, value in new.items():
                setattr(e, name, value)
        ChartEntry.objects.bulk_update(entries, list(new))
        sync_supplies(s)
        change.details = {
            "entries": before,
            "new": {name: _audit_value(value) for name, value in new.items()},
            "zone": zone,
        }
    return entries


# --- supplies: vials, syringes and topicals counted by hand ------------------------------


def _counted(lot: Lot | None) -> bool:
    return lot is not None and lot.unit != Unit.ML


def _needs_supply(entry: ChartEntry, unit: str | None = None) -> bool:
    """Whether the entry's lots are counted as supplies (see ``sync_supplies``); ``unit``
    is the lot's unit when the caller knows it (the brush keeps it), else it is read."""
    if entry.topical_lot_id is not None:
        return True
    if entry.lot_id is None:
        return False
    return (unit or entry.lot.unit) != Unit.ML  # type: ignore[union-attr]


def sync_supplies(session: TreatmentSession) -> None:
    """Lots whose use is not a charted volume (injection lots counted in vials or
    syringes, microneedling topicals) get one supply row while charted: 1 in the lot's
    unit by default, which the clinician corrects before signing."""
    lots: set[uuid.UUID] = set()
    for e in session.entries.select_related("lot"):
        if e.lot is not None and _counted(e.lot):
            lots.add(e.lot.pk)
        if e.topical_lot_id is not None:
            lots.add(e.topical_lot_id)
    session.supplies.exclude(lot_id__in=lots).delete()
    have = set(session.supplies.values_list("lot_id", flat=True))
    SessionSupply.objects.bulk_create(
        SessionSupply(session=session, lot_id=lot_id, quantity=Decimal(1)) for lot_id in lots - have
    )


def do_set_supply(
    actor: User, session: TreatmentSession, lot_id: uuid.UUID, quantity: Decimal
) -> SessionSupply:
    if not quantity.is_finite() or quantity <= 0 or quantity > 1000:
        raise InvalidInput(
            _("The quantity must be more than 0 and at most 1000."), field="quantity"
        )
    with charting(actor, session, "supply") as change:
        supply = change.session.supplies.filter(lot_id=lot_id).first()
        if supply is None:
            raise InvalidInput(_("That lot is not charted in this session."), field="quantity")
        supply.quantity = quantity.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        supply.save(update_fields=["quantity"])
        change.details = {"lot": str(lot_id), "quantity": str(supply.quantity)}
    return supply


# --- mixtures drawn up at the chair ------------------------------------------------------


def do_prepare_mixture(
    actor: User,
    session: TreatmentSession,
    mixture: str,
    components: Sequence[tuple[Lot, Decimal]],
) -> MixturePreparation:
    """Draw up a library mixture for this session: each component lot with the quantity
    taken (in the lot's unit). The lots are consumed now (stock's ``do_prepare_mixture``);
    the next points use the mixture."""
    library = library_for(session.clinic)
    if mixture not in library.protocols[session.protocol].mixtures:
        raise InvalidInput(_("This protocol has no such mixture."), field="mixture")
    with charting(actor, session, "mixture") as change:
        s = change.session
        for lot, _qty in components:
            if lot.clinic_id != s.clinic_id:
                raise InvalidInput(_("No such lot in this clinic."), field="components")
        prep = stock.do_prepare_mixture(actor, s.clinic, mixture, list(components))
        s.preparations.add(prep)
        brush = {**s.brush, "preparation": str(prep.pk), "product": prep.mixture}
        brush.pop("lot", None)
        s.brush = brush
        s.save(update_fields=["brush"])
        change.details = {"preparation": str(prep.pk), "mixture": mixture}
    return prep


# --- packs and single-use items ---------------------------------------------------------


def do_add_pack(actor: User, session: TreatmentSession, code: str) -> SessionPack:
    """Add a pack by its label code (scanned or typed). Its state is checked by the engine
    on every change and by sterility when the session is signed."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput(_("Scan or type the pack id."), field="pack")
    pack = Pack.objects.filter(clinic_id=session.clinic_id, code__iexact=code).first()
    if pack is None:
        raise InvalidInput(
            _("No pack “%(code)s” in this clinic: check the label.") % {"code": code},
            field="pack",
        )
    with charting(actor, session, "pack_add") as change:
        if change.session.packs.filter(pack=pack).exists():
            raise InvalidInput(
                _("Pack %(code)s is already on this session.") % {"code": pack.code},
                field="pack",
            )
        row = SessionPack.objects.create(session=change.session, pack=pack, added_by=actor)
        change.details = {"pack": pack.code}
    return row


def do_remove_pack(actor: User, row: SessionPack) -> None:
    with charting(actor, row.session, "pack_remove") as change:
        change.details = {"pack": row.pack.code}
        row.delete()


def do_add_item(
    actor: User, session: TreatmentSession, item_lot: SterileItemLot, serial: str = ""
) -> SessionItem:
    if item_lot.clinic_id != session.clinic_id:
        raise InvalidInput(_("Choose a single-use item lot."), field="item_lot")
    with charting(actor, session, "item_add") as change:
        row = SessionItem.objects.create(
            session=change.session,
            item_lot=item_lot,
            serial=fits_column(SessionItem, "serial", (serial or "").strip()),
            added_by=actor,
        )
        change.details = {"item_lot": str(item_lot.pk), "serial": row.serial}
    return row


def do_remove_item(actor: User, row: SessionItem) -> None:
    with charting(actor, row.session, "item_remove") as change:
        change.details = {"item": str(row.pk)}
        row.delete()


# --- opened vials ---------------------------------------------------------------------------


def multi_dose_products(library: Library, protocol: str) -> set[str]:
    """The protocol's products (and mixture components) that come in multi-dose vials."""
    proto = library.protocols[protocol]
    codes = {*proto.products, *(c for m in proto.mixtures for c in library.mixtures[m].components)}
    return {
        c for c in codes if c in library.products and library.products[c].container == "multi_dose"
    }


def vial_choices(session: TreatmentSession, library: Library) -> tuple[list[Container], list[Lot]]:
    """What the vial picker offers: the clinic's opened multi-dose vials of the protocol's
    products still within their beyond-use date, and the lots a new vial can be opened
    from (first to expire first)."""
    clinic = session.clinic
    products = multi_dose_products(library, session.protocol)
    if not products:
        return [], []
    on = clinic.today()
    taken = set(session.vials.values_list("container_id", flat=True))
    containers = [
        c
        for c in Container.objects.filter(
            clinic=clinic, single_use=False, lot__product__in=products, beyond_use_date__gte=on
        )
        .select_related("lot")
        .order_by("beyond_use_date", "opened_at")
        if c.pk not in taken
    ]
    fefo = stock.fefo_lots_by_product(clinic, products)
    lots = [lot for code in sorted(products) for lot in fefo.get(code, [])]
    return containers, lots


def do_add_vial(actor: User, session: TreatmentSession, choice: str) -> SessionVial:
    """Record the opened vial the session draws from: ``container:<id>`` (already opened)
    or ``open:<lot id>`` (opened now, its beyond-use date fixed by stock)."""
    kind, _sep, raw = (choice or "").strip().partition(":")
    ident = _uuid(raw)
    if kind not in ("container", "open") or ident is None:
        raise InvalidInput(_("Choose an opened vial or a lot to open one from."), field="vial")
    with charting(actor, session, "vial_add") as change:
        if kind == "open":
            lot = Lot.objects.filter(pk=ident, clinic_id=session.clinic_id).first()
            if lot is None:
                raise InvalidInput(_("Choose a lot of this clinic."), field="vial")
            try:
                container = stock.do_open_container(actor, session.clinic, lot)
            except DomainError as exc:  # an expired, recalled or quarantined lot
                raise InvalidInput(exc.message, field="vial") from exc
        else:
            found = Container.objects.filter(pk=ident, clinic_id=session.clinic_id).first()
            if found is None:
                raise InvalidInput(_("Choose an opened vial of this clinic."), field="vial")
            container = found
        if container.single_use:
            raise InvalidInput(
                _("Lot %(lot)s is single-use: there is no opened vial to record.")
                % {"lot": container.lot.lot_number},
                field="vial",
            )
        if change.session.vials.filter(container=container).exists():
            raise InvalidInput(_("This vial is already on the session."), field="vial")
        row = SessionVial.objects.create(
            session=change.session, container=container, added_by=actor
        )
        change.details = {
            "container": str(container.pk),
            "lot": container.lot.lot_number,
            "opened": container.opened_at.isoformat(),
        }
    return row


def do_remove_vial(actor: User, row: SessionVial) -> None:
    with charting(actor, row.session, "vial_remove") as change:
        change.details = {"container": str(row.container_id)}
        row.delete()


# --- overrides ------------------------------------------------------------------------------


def do_override(
    actor: User, session: TreatmentSession, *, code: str, wheres: Sequence[str], reason: str
) -> list[SessionOverride]:
    """A prescriber's reasoned decision to proceed despite an overridable finding: at one
    place (``where``) or at every place a grouped finding stands."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput(_("Give the clinical reason for the override."), field="reason")
    if not wheres:
        raise InvalidInput(_("Choose the finding to override."), field="code")
    with charting(actor, session, "override") as change:
        check = run_check(change.session)
        rows, audited = [], []
        for where in wheres:
            finding = next(
                (f for f in check.findings if f["code"] == code and f["where"] == where), None
            )
            if finding is None:
                raise InvalidInput(_("That finding is no longer raised."), field="code")
            if not finding["overridable"]:
                raise NotAllowed(
                    _(
                        "%(code)s is a %(evidence)s-level %(severity)s: label and standard "
                        "limits cannot be overridden."
                    )
                    % {
                        "code": code,
                        "evidence": finding["evidence"],
                        "severity": finding["severity"],
                    },
                    field="code",
                )
            row, _created = SessionOverride.objects.update_or_create(
                session=change.session,
                code=code,
                where=where,
                defaults={
                    "severity": finding["severity"],
                    "message": finding["message"],
                    "reason": reason,
                    "by": actor,
                    "at": timezone.now(),
                },
            )
            rows.append(row)
            audited.append(
                {"where": where, "severity": finding["severity"], "message": finding["message"]}
            )
        change.details = {"code": code, "reason": reason, "findings": audited}
    return rows
