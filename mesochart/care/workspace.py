"""The chair screen's read model: everything the session workspace shows, read once.

:func:`workspace` builds it from the session (and, while it is in progress, the live
check): the maps with numbered points, the brush and its choices, grouped findings (one
line for the same finding at many points, with the points listed), totals against the
label's limits, entries, supplies, packs and items, consents and the prescription, and
the errors of the last change beside the fields they name. The number of queries does
not grow with the patient's history or the chart's size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mesochart.accounts.models import Membership
from mesochart.accounts.permissions import has_perm
from mesochart.core.templatetags.clinical import clinical
from mesochart.library.services import library_for
from mesochart.protocols import Library
from mesochart.sterility import services as sterility
from mesochart.sterility.models import SterileItemLot
from mesochart.stock import services as stock

from . import maps
from .models import ChartEntry, EntryKind, SessionStatus, TreatmentSession
from .services.charting import modality_label, vial_choices
from .services.check import (
    ChartState,
    Check,
    concerns,
    engine_paths,
    load_chart,
    rule_title,
    run_check,
    session_entries,
)
from .services.plans import active_prescription, label_limits, needs_prescription

EN_DASH = "\u2013"

# What each per-session dose limit of the library is called on screen.
LIMIT_LABELS = {
    "max_volume_per_point_ml": _("Volume per injection point"),
    "max_points_per_session": _("Injection points per session"),
    "max_volume_ml_per_session": _("Volume per session"),
}

# Which card of the workspace shows the error of a field (where the clinician looked).
ERROR_AREAS = {
    "general": "general",
    "map": "map",
    "view": "map",
    "x": "map",
    "y": "map",
    "zone": "zone-entry",
    "points": "zone-entry",
    "note": "zone-entry",
    "entries": "edit",
    "edit": "edit",
    "components": "mixture",
    "mixture": "mixture",
    "pack": "packs",
    "item_lot": "packs",
    "vial": "packs",
    "serial": "packs",
    "quantity": "supplies",
    "code": "findings",
    "reason": "findings",
    "session": "signoff",
    "status": "signoff",
    "prescription": "signoff",
}


# Brush fields whose error is shown beside the field; the brush card's alert lists the rest.
BRUSH_SLOTTED = (
    "lot",
    "scan",
    "topical_lot",
    "volume_ml",
    "depth_mm",
    "needle_gauge",
    "needle_length_mm",
    "angle_deg",
    "passes",
)


def error_area(field: str | None) -> str:
    """The card that shows an error about ``field`` (brush fields: the brush card)."""
    if not field:
        return "general"
    if field.startswith("edit-"):
        return "edit"
    if field.startswith("ze-"):
        return "zone-entry"
    return ERROR_AREAS.get(field, "brush")


@dataclass
class FindingGroup:
    """The same finding (code, severity, message) at one or more places of the chart."""

    code: str
    title: str
    severity: str
    evidence: str
    source: str
    message: str
    overridable: bool
    override: dict[str, Any] | None
    wheres: list[str] = field(default_factory=list)
    entries: list[tuple[int, ChartEntry]] = field(default_factory=list)

    @property
    def numbers(self) -> str:
        """The points concerned, as clinicians read them ("1-6, 9")."""
        return number_ranges(n for n, _e in self.entries)

    @property
    def zones(self) -> list[str]:
        seen: list[str] = []
        for _n, e in self.entries:
            name = clinical(e.zone)
            if name not in seen:
                seen.append(name)
        return seen

    @property
    def count_label(self) -> str:
        points = sum(e.points for _n, e in self.entries)
        if not self.entries:
            return ""
        return ngettext("%(n)d point", "%(n)d points", points) % {"n": points}

    @property
    def entry_ids(self) -> list[str]:
        return [str(e.pk) for _n, e in self.entries]


def number_ranges(numbers: Iterable[int]) -> str:
    """``[1, 2, 3, 4, 6]`` -> ``"1-4, 6"`` (with an en dash)."""
    ordered = sorted(set(numbers))
    runs: list[list[int]] = []
    for n in ordered:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}{EN_DASH}{r[-1]}" for r in runs)


def group_findings(
    library: Library,
    findings: Iterable[Mapping[str, Any]],
    entries: list[ChartEntry],
    paths: Mapping[uuid.UUID, str],
) -> list[FindingGroup]:
    """One group per (code, severity, message, override state), most severe first; each
    with the numbered entries its findings point at."""
    numbered = list(enumerate(entries, 1))
    groups: dict[tuple[Any, ...], FindingGroup] = {}
    for f in findings:
        override = f.get("override")
        key = (f["code"], f["severity"], f["message"], bool(override))
        group = groups.get(key)
        if group is None:
            group = groups[key] = FindingGroup(
                code=f["code"],
                title=rule_title(library, f["code"]),
                severity=f["severity"],
                evidence=f["evidence"],
                source=f["source"],
                message=clinical(f["message"]),
                overridable=bool(f["overridable"]),
                override=override,
            )
        group.wheres.append(f["where"])
        where = f["where"]
        for n, e in numbered:
            path = paths.get(e.pk) or f"entries[{e.pk}]"
            if concerns(where, path) and all(x is not e for _m, x in group.entries):
                group.entries.append((n, e))
    rank = {"block": 0, "warn": 1, "info": 2}
    return sorted(groups.values(), key=lambda g: (bool(g.override), rank.get(g.severity, 3)))


@dataclass
class Totals:
    by_product: list[dict[str, Any]]
    by_zone: list[dict[str, Any]]
    points: int
    limits: list[dict[str, Any]]


def totals(library: Library, protocol: str, entries: list[ChartEntry]) -> Totals:
    """Volume and points per product and per zone, with the protocol's per-session limits."""
    by_product: dict[str, dict[str, Any]] = {}
    by_zone: dict[str, dict[str, Any]] = {}
    count = 0
    for e in entries:
        ml = e.total_ml or Decimal(0)
        key = e.product or e.kind
        p = by_product.setdefault(
            key,
            {"product": key, "name": clinical(key), "ml": Decimal(0), "points": 0, "lots": set()},
        )
        p["ml"] += ml
        p["points"] += e.points
        if e.lot is not None:
            p["lots"].add(e.lot.lot_number)
        z = by_zone.setdefault(
            e.zone, {"zone": e.zone, "name": clinical(e.zone), "ml": Decimal(0), "points": 0}
        )
        z["ml"] += ml
        z["points"] += e.points
        count += e.points
    for p in by_product.values():
        p["lots"] = sorted(p["lots"])
    limits = []
    for param in library.dose_limits_for(protocol):
        key = param.id.rsplit(".", 1)[-1]
        limits.append(
            {
                "id": param.id,
                "label": LIMIT_LABELS.get(key, key.replace("_", " ")),
                "value": param.value,
                "unit": param.unit,
                "evidence": param.evidence,
                "source": param.source,
            }
        )
    return Totals(
        sorted(by_product.values(), key=lambda r: r["name"]),
        sorted(by_zone.values(), key=lambda r: r["name"]),
        count,
        limits,
    )


def _supplies(session: TreatmentSession, entries: list[ChartEntry]) -> list[dict[str, Any]]:
    """Supply rows with the volume charted from each lot, so the clinician can count the
    vials or syringes it took."""
    charted: dict[Any, Decimal] = {}
    for e in entries:
        if e.lot_id and e.total_ml is not None:
            charted[e.lot_id] = charted.get(e.lot_id, Decimal(0)) + e.total_ml
    return [
        {"row": s, "lot": s.lot, "quantity": s.quantity, "ml": charted.get(s.lot_id)}
        for s in session.supplies.select_related("lot")
    ]


def _map_points(entries: list[ChartEntry], groups: list[FindingGroup]) -> list[dict[str, Any]]:
    """The numbered points of the maps; a point turns red while a dose or zone block stands
    on it (e.g. the 51st deoxycholic acid point)."""
    blocked: set[uuid.UUID] = set()
    for g in groups:
        if (
            g.severity == "block"
            and not g.override
            and g.code.startswith(("dose.", "zone.", "prescription."))
        ):
            if g.entries:
                blocked |= {e.pk for _n, e in g.entries}
            elif g.code.startswith("dose."):
                blocked |= {e.pk for e in entries if e.kind == EntryKind.INJECTION}
    return [
        {
            "id": str(e.pk),
            "x": e.x,
            "y": e.y,
            "zone": e.zone,
            "label": str(n),
            "view": e.view,
            "css_class": "pt-blocked" if e.pk in blocked else "",
        }
        for n, e in enumerate(entries, 1)
        if e.x is not None
    ]


def workspace(
    session: TreatmentSession,
    membership: Membership,
    *,
    errors: Mapping[str, str] | None = None,
    blocked: list[str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """The template context of the workspace fragment (``care/_workspace.html``)."""
    clinic = session.clinic
    library = library_for(clinic)
    proto = library.protocols[session.protocol]
    editable = session.status == SessionStatus.IN_PROGRESS
    entries = session_entries(session)
    check: Check | None = None
    state: ChartState | None = None
    if editable:
        state = load_chart(session, library, entries=entries)
        check = run_check(session, state=state)
        findings = check.findings
        paths = check.paths
    else:
        findings = session.check_result.get("findings", [])
        paths = engine_paths(library, entries)
    groups = group_findings(library, findings, entries, paths)
    can_chart = has_perm(membership, "session.chart")
    points = _map_points(entries, groups)
    views = maps.views_for_zones(proto.zones) or ["face"]
    svgs = [
        {
            "view": v,
            "svg": maps.render_svg(
                v,
                [p for p in points if p["view"] == v],
                highlight_zones=proto.zones,
                interactive=editable and can_chart,
            ),
        }
        for v in views
    ]
    context: dict[str, Any] = {
        "session": session,
        "patient": session.patient,
        "protocol": proto,
        "library": library,
        "entries": entries,
        "numbered_entries": list(enumerate(entries, 1)),
        "totals": totals(library, session.protocol, entries),
        "check": check,
        "groups": groups,
        "blocking_count": len(check.blocking) if check else 0,
        "verdict": check.verdict if check else session.check_result.get("verdict"),
        "maps": svgs,
        "editable": editable,
        "errors": dict(errors or {}),
        "error_area": error_area(next(iter(errors), None)) if errors else "",
        "brush_slotted": BRUSH_SLOTTED,
        "blocked": blocked or [],
        "notice": notice,
        "can_sign": has_perm(membership, "session.sign"),
        "can_chart": can_chart,
        "can_override": has_perm(membership, "session.override"),
        "can_prescribe": has_perm(membership, "prescription.write"),
        "packs": state.packs
        if state is not None
        else list(session.packs.select_related("pack__cycle")),
        "items": list(session.items.select_related("item_lot")),
        "vials": state.vials
        if state is not None
        else list(session.vials.select_related("container__lot").order_by("added_at")),
        "supplies": _supplies(session, entries),
        "kind_label": dict(EntryKind.choices).get(session.brush.get("kind", ""), ""),
    }
    if editable and state is not None:
        context.update(_charting_choices(session, library, state))
    return context


def _charting_choices(
    session: TreatmentSession, library: Library, state: ChartState
) -> dict[str, Any]:
    """What the clinician can pick while charting (lots, mixtures, packs, items), and what
    stands before signing (consents, prescription)."""
    clinic = session.clinic
    proto = library.protocols[session.protocol]
    components = {c for m in proto.mixtures for c in library.mixtures[m].components}
    fefo = stock.fefo_lots_by_product(clinic, {*proto.products, *components})
    lots = [lot for code in proto.products for lot in fefo.get(code, [])]
    mixtures = [
        {
            "code": code,
            "name": library.mixtures[code].name,
            "components": [
                {"product": c, "name": clinical(c), "lots": fefo.get(c, [])}
                for c in library.mixtures[code].components
            ],
        }
        for code in proto.mixtures
    ]
    rx = state.prescription
    rx_needed = needs_prescription(library, session.protocol)
    vial_containers, vial_lots = vial_choices(session, library)
    return {
        "lots": lots,
        "mixtures": mixtures,
        "preparations": list(session.preparations.all()),
        "techniques": [library.techniques[t] for t in proto.techniques],
        "kinds": [
            (k.value, k.label)
            for k in EntryKind
            if any(library.techniques[t].kind == k.value for t in proto.techniques)
        ],
        "devices": sorted(
            {
                (d, library.techniques[t].name)
                for t in proto.techniques
                for d in library.techniques[t].device_codes
            }
        ),
        "modality_choices": _modality_choices(library, session.brush),
        "zones": [library.zones[z] for z in proto.zones],
        "charted_zones": sorted({e.zone for e in state.entries}, key=clinical),
        "available_packs": sterility.usable_packs(clinic, clinic.today()),
        "item_lots": list(SterileItemLot.objects.filter(clinic=clinic).order_by("product", "lot")),
        "vial_containers": vial_containers,
        "vial_lots": vial_lots,
        "consent": state.consents,
        "prescription": rx,
        "prescription_needed": rx_needed,
    }


def _modality_choices(library: Library, brush: dict[str, Any]) -> list[tuple[str, str]]:
    """The modalities the brush's technique asks between (a fractional laser is ablative or
    not); none when the technique has only one."""
    technique = library.techniques.get(brush.get("technique") or "")
    if technique is None or len(technique.modalities) < 2:
        return []
    return [(code, modality_label(code)) for code in technique.modalities]


def planned_context(session: TreatmentSession, membership: Membership) -> dict[str, Any]:
    """What the page of a planned session shows before it starts: whether it needs a
    prescription and whether one is in force today."""
    library = library_for(session.clinic)
    needed = needs_prescription(library, session.protocol)
    today = session.clinic.today()
    return {
        "prescription_needed": needed,
        "prescription_ready": active_prescription(session.patient, session.protocol, today)
        if needed
        else None,
        "label_limits": label_limits(library, session.protocol) if needed else {},
        "can_prescribe": has_perm(membership, "prescription.write"),
        "planned_today": session.scheduled_for == today,
    }
