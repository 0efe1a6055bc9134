"""The only door to the safety engine: what one chart is, as the engine's own records.

:func:`load_chart` reads everything a check needs in a fixed number of queries (whatever
the patient's history): the entries, packs, consents in force, the history of earlier
signed sessions (their day, zones and products were written at signing; adverse events
come from outcomes), stock on hand of the charted lots and the session's prescription.
:func:`engine_session` turns it into a :class:`mesochart.protocols.Session`;
:func:`run_check` runs ``check_session`` with the clinic's tuned library and adds what
only the clinic's records know (lot status from stock, packs already opened from
sterility, consents, the prescription, missing volumes), then attaches overrides.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.patients.screening import engine_patient
from mesochart.protocols import (
    Finding,
    HistoryEntry,
    Library,
    Result,
    Session,
    check_session,
)
from mesochart.protocols.models import (
    Component,
    Energy,
    Injection,
    InstrumentPack,
    Microneedling,
    Topical,
    Vial,
)
from mesochart.stock import services as stock
from mesochart.stock.models import Container, Lot, MixturePreparation, Unit

from ..models import (
    ChartEntry,
    EntryKind,
    Prescription,
    SessionOverride,
    SessionPack,
    SessionStatus,
    SessionVial,
    TreatmentSession,
)
from .consents import ConsentState, consent_state

SEVERITY_RANK = {"ok": 0, "info": 0, "warn": 1, "block": 2}

# Titles of the findings that come from the clinic's own records (the engine's rules have
# theirs in the library, ``Rule.title``).
CLINIC_RULE_TITLES: dict[str, Any] = {
    "lot.quarantined": gettext_lazy("Quarantined lot"),
    "lot.recalled": gettext_lazy("Recalled lot"),
    "stock.insufficient": gettext_lazy("Not enough stock"),
    "sterility.pack_used": gettext_lazy("Instrument pack already opened"),
    "consent.off_label_missing": gettext_lazy("Off-label consent missing"),
    "chart.volume_missing": gettext_lazy("Volume per point not recorded"),
    "chart.product_missing": gettext_lazy("Product lot not chosen"),
    "chart.modality_missing": gettext_lazy("Energy modality not recorded"),
    "chart.vial_missing": gettext_lazy("Opened vial not recorded"),
    "prescription.missing": gettext_lazy("No prescription"),
    "prescription.product": gettext_lazy("Product not prescribed"),
    "prescription.zone": gettext_lazy("Zone not prescribed"),
    "prescription.volume": gettext_lazy("Volume above the prescription"),
    "prescription.points": gettext_lazy("Points above the prescription"),
}


def rule_title(library: Library, code: str) -> str:
    """What clinicians read for a finding's code: the library rule's title, or the title
    of a finding from the clinic's own records; the code itself as a last resort."""
    rule = library.rules.get(code)
    if rule is not None:
        return rule.title
    return str(CLINIC_RULE_TITLES.get(code, code))


# --- history ------------------------------------------------------------------------------


def signed_days(patient: Patient, protocol: str | None = None) -> list[date]:
    """The days of the patient's signed sessions (of ``protocol``), oldest first (one query)."""
    rows = TreatmentSession.objects.filter(patient=patient, status=SessionStatus.SIGNED)
    if protocol is not None:
        rows = rows.filter(protocol=protocol)
    return [
        performed or scheduled
        for performed, scheduled in rows.order_by("performed_on", "signed_at").values_list(
            "performed_on", "scheduled_for"
        )
    ]


def history_for(patient: Patient, *, exclude: uuid.UUID | None = None) -> list[HistoryEntry]:
    """The engine's ``history``: every signed session of the patient, any protocol, with the
    zones, products and energy modalities written at its signing and its adverse events
    (two queries)."""
    # Imported here: outcomes imports the care models, so a module-level import would cycle.
    from mesochart.outcomes.services import adverse_event_codes_by_session

    events = adverse_event_codes_by_session(patient)
    signed = TreatmentSession.objects.filter(patient=patient, status=SessionStatus.SIGNED)
    if exclude is not None:
        signed = signed.exclude(pk=exclude)
    rows = signed.order_by("performed_on", "signed_at").values_list(
        "pk",
        "performed_on",
        "scheduled_for",
        "protocol",
        "charted_zones",
        "charted_products",
        "charted_modalities",
    )
    return [
        HistoryEntry(
            date=performed or scheduled,
            protocol=protocol,
            zones=tuple(zones),
            adverse_events=tuple(events.get(pk, ())),
            products=tuple(products),
            modalities=tuple(modalities),
        )
        for pk, performed, scheduled, protocol, zones, products, modalities in rows
    ]


# --- one chart, loaded once ----------------------------------------------------------------


def session_entries(session: TreatmentSession) -> list[ChartEntry]:
    """The session's entries in charting order, with their lots and mixture (one query)."""
    return list(
        session.entries.select_related("lot", "topical_lot", "preparation").order_by(
            "position", "created_at"
        )
    )


@dataclass
class ChartState:
    """Everything one request needs of a session's chart, read once."""

    session: TreatmentSession
    library: Library
    at: datetime
    entries: list[ChartEntry]
    packs: list[SessionPack]
    consents: ConsentState
    history: list[HistoryEntry]
    on_hand: dict[uuid.UUID, Decimal]
    components: dict[uuid.UUID, tuple[Component, ...]]
    overrides: list[SessionOverride]
    prescription: Prescription | None
    vials: list[SessionVial] = field(default_factory=list)

    @property
    def day(self) -> date:
        """The day the engine checks the session on: the day it started."""
        session = self.session
        return session.clinic.local_day(session.started_at or self.at)


def _components(
    preparations: Iterable[MixturePreparation],
) -> dict[uuid.UUID, tuple[Component, ...]]:
    """The engine's view of each mixture's components (their lots, asked of stock)."""
    return {
        prep_id: tuple(
            Component(product=lot.product, lot=lot.lot_number, expiry=lot.expiry) for lot in lots
        )
        for prep_id, lots in stock.preparation_lots(p.pk for p in preparations).items()
    }


def load_chart(
    session: TreatmentSession,
    library: Library | None = None,
    *,
    at: datetime | None = None,
    entries: list[ChartEntry] | None = None,
) -> ChartState:
    """Read the chart of ``session`` (a fixed number of queries whatever the history)."""
    at = at or timezone.now()
    library = library or library_for(session.clinic)
    entries = session_entries(session) if entries is None else entries
    editable = session.status == SessionStatus.IN_PROGRESS
    measured = {
        e.lot_id for e in entries if e.lot is not None and e.lot.unit == Unit.ML and editable
    }
    return ChartState(
        session=session,
        library=library,
        at=at,
        entries=entries,
        packs=list(session.packs.select_related("pack__cycle")),
        consents=consent_state(session.patient, session.protocol, at),
        history=history_for(session.patient, exclude=session.pk),
        on_hand=stock.on_hand_by_lot(i for i in measured if i is not None) if measured else {},
        components=_components(e.preparation for e in entries if e.preparation is not None),
        overrides=list(session.overrides.select_related("by")),
        prescription=session.prescription,
        vials=list(session.vials.select_related("container__lot").order_by("added_at")),
    )


# --- the engine's input --------------------------------------------------------------------


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


ENERGY_KINDS = frozenset({EntryKind.ENERGY, EntryKind.NEEDLE_FREE})


def entry_modality(library: Library, entry: ChartEntry) -> str | None:
    """The engine's ``energy[].modality`` of an energy-device or needle-free entry: as
    charted, else its technique's (or device's) only or first one. The first of a
    fractional laser is the ablative one: an entry charted before the chart asked is read
    the stricter way (the longer interval after it)."""
    if entry.kind not in ENERGY_KINDS:
        return None
    if entry.modality in library.vocabulary.energy_modalities:
        return entry.modality
    tech = library.techniques.get(entry.technique) or library.device_technique.get(entry.device)
    return tech.modalities[0] if tech is not None and tech.modalities else None


def engine_paths(library: Library, entries: Iterable[ChartEntry]) -> dict[uuid.UUID, str]:
    """Each entry's JSON path in the engine input (``injections[2]``, ``microneedling[0]``,
    ``energy[1]``), so a finding's ``where`` leads back to the entry it concerns. Injections
    without a product (no lot chosen yet) and energy entries without a modality are not
    sent to the engine: they get no path (a clinic finding names them)."""
    paths: dict[uuid.UUID, str] = {}
    injections = needling = energy = 0
    for entry in entries:
        if entry.kind == EntryKind.INJECTION and entry.product:
            paths[entry.pk] = f"injections[{injections}]"
            injections += 1
        elif entry.kind == EntryKind.MICRONEEDLING:
            paths[entry.pk] = f"microneedling[{needling}]"
            needling += 1
        elif entry.kind in ENERGY_KINDS and entry_modality(library, entry) is not None:
            paths[entry.pk] = f"energy[{energy}]"
            energy += 1
    return paths


def concerns(where: str, path: str) -> bool:
    """Whether a finding at ``where`` is about the JSON node ``path`` or inside it."""
    return where == path or where.startswith((path + ".", path + "["))


def preparation_label(prep: MixturePreparation) -> str:
    """The lot the engine sees for a mixture drawn up at the chair."""
    return f"PREP-{str(prep.pk)[:8]}"


def _injection(
    entry: ChartEntry, components: Mapping[uuid.UUID, tuple[Component, ...]]
) -> Injection:
    lot = entry.lot
    prep = entry.preparation
    return Injection(
        zone=entry.zone,
        product=entry.product,
        lot=preparation_label(prep) if prep is not None else (lot.lot_number if lot else None),
        expiry=None if prep is not None or lot is None else lot.expiry,
        technique=entry.technique or None,
        points=entry.points,
        volume_ml=_num(entry.volume_ml),
        depth_mm=_num(entry.depth_mm),
        needle_gauge=entry.needle_gauge,
        needle_length_mm=_num(entry.needle_length_mm),
        components=components.get(prep.pk, ()) if prep is not None else (),
    )


def _needling(library: Library, entry: ChartEntry) -> Microneedling:
    topical = entry.topical_lot
    # The brush form only lets library devices through; a device the library does not know
    # (an entry charted before that check) goes to the engine as "no device": needled, the
    # stricter reading.
    device = entry.device if entry.device in library.device_technique else None
    return Microneedling(
        zone=entry.zone,
        device=device,
        needle_length_mm=_num(entry.needle_length_mm),
        passes=entry.passes,
        device_lot=entry.device_lot or None,
        topicals=(
            (Topical(product=topical.product, lot=topical.lot_number, expiry=topical.expiry),)
            if topical is not None
            else ()
        ),
    )


def _topical(lot: Lot | None) -> tuple[Topical, ...]:
    return (Topical(product=lot.product, lot=lot.lot_number, expiry=lot.expiry),) if lot else ()


def _energy(entry: ChartEntry, modality: str) -> Energy:
    # The product delivered through the pass is charted as the entry's lot (or topical).
    return Energy(
        zone=entry.zone,
        modality=modality,
        device=entry.device or None,
        passes=entry.passes,
        test_spot=entry.test_spot,
        topicals=(*_topical(entry.lot), *_topical(entry.topical_lot)),
    )


def _vial(session: TreatmentSession, container: Container) -> Vial:
    """A container of the session's clinic, opened on the clinic's local day."""
    lot = container.lot
    return Vial(
        product=lot.product,
        lot=lot.lot_number,
        expiry=lot.expiry,
        multi_dose=not container.single_use,
        opened=session.clinic.local_day(container.opened_at),
    )


def engine_session(state: ChartState) -> Session:
    """The check-session contract's input for the chart, as the engine's own records."""
    session = state.session
    injections = [
        _injection(e, state.components)
        for e in state.entries
        if e.kind == EntryKind.INJECTION and e.product
    ]
    needling = [
        _needling(state.library, e) for e in state.entries if e.kind == EntryKind.MICRONEEDLING
    ]
    energy = []
    for e in state.entries:
        modality = entry_modality(state.library, e)
        if modality is not None:
            energy.append(_energy(e, modality))
    packs = [
        InstrumentPack(status=p.pack.contract_status(), id=p.pack.code, expires=p.pack.expires_on)
        for p in state.packs
    ]
    return Session(
        date=state.day,
        protocol=session.protocol,
        patient=engine_patient(session.patient),
        consents=frozenset(state.consents.codes),
        history=tuple(state.history),
        injections=tuple(injections),
        microneedling=tuple(needling),
        instrument_packs=tuple(packs),
        energy=tuple(energy),
        vials=tuple(_vial(session, v.container) for v in state.vials),
    )


# --- the clinic's own findings -------------------------------------------------------------


def _finding(
    code: str, message: str, where: str, source: str, *, severity: str = "block"
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        message=message,
        evidence="S",
        source=source,
        where=where,
        overridable=False,
    )


def entry_where(entry: ChartEntry, paths: Mapping[uuid.UUID, str]) -> str:
    """Where a finding about ``entry`` points: its engine path, else ``entries[<id>]``."""
    return paths.get(entry.pk) or f"entries[{entry.pk}]"


def clinic_findings(state: ChartState, paths: Mapping[uuid.UUID, str]) -> list[Finding]:
    """What the contract's input cannot carry: lot status (stock), stock on hand, packs
    already opened (sterility), the consents the protocol needs, entries charted without a
    product lot or a volume, and the session's prescription."""
    out: list[Finding] = []
    need: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    lots: dict[uuid.UUID, Lot] = {}
    for entry in state.entries:
        where = entry_where(entry, paths)
        for lot, path in (
            (entry.lot, f"{where}.lot"),
            (entry.topical_lot, f"{where}.topicals[0].lot"),
        ):
            if lot is None:
                continue
            refusal = stock.lot_status_refusal(lot)
            if refusal is not None:
                out.append(
                    _finding(
                        refusal.code,
                        _("Lot %(lot)s of %(product)s is %(status)s: it may not be used.")
                        % {"lot": lot.lot_number, "product": lot.product, "status": lot.status},
                        path,
                        _("Clinic stock record (lot status set by a manager or recall)"),
                    )
                )
        if entry.kind == EntryKind.INJECTION:
            if not entry.product:
                out.append(
                    _finding(
                        "chart.product_missing",
                        _("An injection in %(zone)s has no product lot: choose the lot.")
                        % {"zone": entry.zone},
                        where,
                        _(
                            "Treatment record: product, batch/lot and expiry of what was "
                            "given (reference §10)"
                        ),
                    )
                )
            if entry.volume_ml is None:
                out.append(
                    _finding(
                        "chart.volume_missing",
                        _(
                            "An injection in %(zone)s has no volume per point: the label's "
                            "dose limits cannot be checked without it."
                        )
                        % {"zone": entry.zone},
                        f"{where}.volume_ml",
                        _(
                            "Treatment record: quantity (mL) given per site (reference §10); "
                            "the dose rules need it"
                        ),
                    )
                )
        if entry.kind in ENERGY_KINDS and entry_modality(state.library, entry) is None:
            out.append(
                _finding(
                    "chart.modality_missing",
                    _(
                        "An energy-device or needle-free entry in %(zone)s does not say which "
                        "modality it was: the interval and device rules need it."
                    )
                    % {"zone": entry.zone},
                    f"{where}.modality",
                    _("Treatment record: device and settings of every pass (reference §10)"),
                )
            )
        if entry.lot is not None and entry.lot_id in state.on_hand and entry.volume_ml is not None:
            need[entry.lot.pk] += entry.volume_ml * entry.points
            lots[entry.lot.pk] = entry.lot
    for lot_id, ml in need.items():
        on_hand = state.on_hand[lot_id]
        if ml > on_hand:
            lot = lots[lot_id]
            out.append(
                _finding(
                    "stock.insufficient",
                    _("%(ml)s mL of lot %(lot)s charted; %(on_hand)s mL on hand.")
                    % {"ml": ml, "lot": lot.lot_number, "on_hand": on_hand},
                    "injections",
                    _("Clinic stock record"),
                )
            )
    out += vial_findings(state, paths)
    for row in state.packs:
        if row.pack.is_used:
            out.append(
                _finding(
                    "sterility.pack_used",
                    _("Pack %(code)s was already opened for a procedure: reprocess it.")
                    % {"code": row.pack.code},
                    "instrument_packs",
                    _("Clinic sterilisation record (one pack, one procedure)"),
                )
            )
    if "off_label" in state.consents.missing:
        out.append(
            _finding(
                "consent.off_label_missing",
                _("This protocol is off label: an off-label consent must be signed."),
                "consents",
                _(
                    "Consent policy (docs/consent.md): off-label protocols need an off-label "
                    "consent"
                ),
            )
        )
    out += prescription_findings(state, paths)
    return out


def vial_findings(state: ChartState, paths: Mapping[uuid.UUID, str]) -> list[Finding]:
    """A lot of a multi-dose product (library ``container``) charted without the opened vial
    it was drawn from: the engine cannot date the vial's beyond-use limit without it. One
    finding per lot, where the lot is first charted."""
    products = state.library.products
    recorded = {v.container.lot_id for v in state.vials}
    out: list[Finding] = []
    seen: set[uuid.UUID] = set()
    for entry in state.entries:
        where = entry_where(entry, paths)
        for lot, path in ((entry.lot, f"{where}.lot"), (entry.topical_lot, f"{where}.topicals")):
            if lot is None or lot.pk in seen or lot.pk in recorded:
                continue
            product = products.get(lot.product)
            if product is None or product.container != "multi_dose":
                continue
            seen.add(lot.pk)
            out.append(
                _finding(
                    "chart.vial_missing",
                    _(
                        "Lot %(lot)s of %(product)s comes in multi-dose vials: add the opened "
                        "vial it was drawn from, so its beyond-use date is checked."
                    )
                    % {"lot": lot.lot_number, "product": lot.product},
                    path,
                    _(
                        "USP 797: an opened multi-dose vial is discarded 28 days after first "
                        "puncture unless the manufacturer states otherwise (reference §9.5)"
                    ),
                )
            )
    return out


def prescription_products(library: Library, codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` (products or mixtures) are or contain a prescription-only product."""
    out = set()
    for code in codes:
        product = library.products.get(code)
        if product is not None and product.prescription_only:
            out.add(code)
        mixture = library.mixtures.get(code)
        if mixture is not None and any(
            library.products[c].prescription_only
            for c in mixture.components
            if c in library.products
        ):
            out.add(code)
    return out


def prescription_findings(state: ChartState, paths: Mapping[uuid.UUID, str]) -> list[Finding]:
    """A chart that needs a prescriber's prescription (a prescription-only product is
    charted) is checked against the session's prescription: products, zones and the
    per-session volume and points it allows."""
    library = state.library
    charted = [e for e in state.entries if e.product]
    needed = [e for e in charted if e.product in prescription_products(library, [e.product])]
    rx = state.prescription
    if not needed and rx is None:
        return []
    source = _("Prescription-only medicine: given only as a prescriber prescribed it")
    if rx is None:
        return [
            _finding(
                "prescription.missing",
                _(
                    "A prescription-only product is charted and this session has no "
                    "prescription: a prescriber must prescribe it first."
                ),
                "prescription",
                source,
            )
        ]
    source = _("Prescription by %(name)s on %(day)s") % {
        "name": rx.prescribed_by.display_name,
        "day": f"{state.session.clinic.local_day(rx.prescribed_at):%Y-%m-%d}",
    }
    out: list[Finding] = []
    if not rx.is_valid_on(state.day):
        out.append(
            _finding(
                "prescription.missing",
                _(
                    "The session's prescription was revoked or has expired: a prescriber "
                    "must prescribe again."
                ),
                "prescription",
                source,
            )
        )
    for entry in charted:
        where = entry_where(entry, paths)
        if entry.product not in rx.products:
            out.append(
                _finding(
                    "prescription.product",
                    _("%(product)s is not on the prescription.") % {"product": entry.product},
                    f"{where}.product",
                    source,
                )
            )
        if entry.zone not in rx.zones:
            out.append(
                _finding(
                    "prescription.zone",
                    _("%(zone)s is not a prescribed zone.") % {"zone": entry.zone},
                    f"{where}.zone",
                    source,
                )
            )
    prescribed = [e for e in charted if e.product in rx.products]
    total_ml = sum((e.total_ml or Decimal(0) for e in prescribed), Decimal(0))
    total_points = sum(e.points for e in prescribed)
    # A prescribed limit at the label's own limit adds nothing: the label's rule says it.
    label = {p.id.rsplit(".", 1)[-1]: p.number for p in library.dose_limits_for(rx.protocol)}
    max_ml = label.get("max_volume_ml_per_session")
    max_points = label.get("max_points_per_session")
    if (
        rx.max_volume_ml is not None
        and max_ml is not None
        and rx.max_volume_ml >= Decimal(str(max_ml))
    ):
        total_ml = Decimal(0)
    if rx.max_points is not None and max_points is not None and rx.max_points >= max_points:
        total_points = 0
    if rx.max_volume_ml is not None and total_ml > rx.max_volume_ml:
        out.append(
            _finding(
                "prescription.volume",
                _("%(ml)s mL charted; the prescription allows at most %(max)s mL in a session.")
                % {"ml": f"{total_ml.normalize():f}", "max": f"{rx.max_volume_ml.normalize():f}"},
                "prescription",
                source,
            )
        )
    if rx.max_points is not None and total_points > rx.max_points:
        out.append(
            _finding(
                "prescription.points",
                _(
                    "%(points)s points charted; the prescription allows at most %(max)s in a session."
                )
                % {"points": total_points, "max": rx.max_points},
                "prescription",
                source,
            )
        )
    return out


# --- the check -----------------------------------------------------------------------------


@dataclass
class Check:
    """The engine's result plus what the clinic's own records add, and the overrides."""

    result: Result | None
    findings: list[dict[str, Any]]
    verdict: str
    engine_input: dict[str, Any] = field(default_factory=dict)
    paths: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def blocking(self) -> list[dict[str, Any]]:
        """Findings that stop signing: blocks and warnings not overridden."""
        return [
            f for f in self.findings if f["severity"] in ("block", "warn") and not f.get("override")
        ]


def run_check(
    session: TreatmentSession,
    *,
    at: datetime | None = None,
    state: ChartState | None = None,
) -> Check:
    """The live safety check of the session as charted now (engine + clinic records), with
    each finding's override attached when a prescriber made one. ``state``: the chart when
    the caller already loaded it (:func:`load_chart`)."""
    state = state or load_chart(session, at=at)
    paths = engine_paths(state.library, state.entries)
    data = engine_session(state)
    result = check_session(data, library=state.library)
    findings = [f.as_dict() for f in (*result.findings, *clinic_findings(state, paths))]
    overrides = {(o.code, o.where): o for o in state.overrides}
    for f in findings:
        o = overrides.get((f["code"], f["where"]))
        if o is not None and f["overridable"]:
            f["override"] = {"by": o.by.display_name, "reason": o.reason, "at": o.at.isoformat()}
    verdict = "ok"
    for f in findings:
        if SEVERITY_RANK[f["severity"]] > SEVERITY_RANK[verdict]:
            verdict = f["severity"]
    return Check(result, findings, verdict, data.as_dict(), paths)
