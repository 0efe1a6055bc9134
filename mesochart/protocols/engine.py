"""The safety engine: ``screen``, ``check_session`` and their shared patient rules.

Thresholds come from the library's data (each with evidence and source), never from
constants here. ``check_session`` reuses ``screen``'s patient rules with facts taken from
the charted session (products, zones, whether anything is injected or needled) instead of
from the protocol's plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .library import Library, Rule, load_library, tuned_library
from .models import (
    SEVERITY_RANK,
    Finding,
    HistoryEntry,
    InvalidInput,
    Microneedling,
    Patient,
    Result,
    Session,
    parse_patient,
    parse_session,
)

ENGINE_VERSION = "1.1.0"
_HARD_EVIDENCE = frozenset({"L", "S"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Clinic settings: overrides of tunable (P/G) parameters by id.

    ``Settings({"zones[forehead].needle_max_mm": 0.75}).library()`` is the tuned library;
    an L/S or unknown parameter raises :class:`~mesochart.protocols.library.OverrideError`.
    """

    overrides: Mapping[str, float | int] = field(default_factory=dict)

    def library(self) -> Library:
        return tuned_library(self.overrides) if self.overrides else load_library()


def resolve_library(library: Library | None = None, settings: Settings | None = None) -> Library:
    """The library to use: an explicit one (tuned by settings if given) or the shipped one."""
    if library is None:
        return settings.library() if settings is not None else load_library()
    if settings is not None and settings.overrides:
        return library.with_overrides(settings.overrides)
    return library


def _n(x: float) -> str:
    """Human number: 10.0 -> '10', 10.4 -> '10.4', 0.21 -> '0.21'."""
    return f"{round(x, 3):g}"


def _add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(d)  # pragma: no cover


def age_on(birth: date, on: date) -> int:
    """Completed years on ``on`` (an 18th birthday on ``on`` counts as 18)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class _Collector:
    __slots__ = ("findings",)

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(
        self,
        rule: Rule,
        message: str,
        where: str,
        severity: str | None = None,
        evidence: str | None = None,
        source: str | None = None,
    ) -> None:
        sev = severity or rule.severity
        ev = evidence or rule.evidence
        self.findings.append(
            Finding(
                code=rule.code,
                severity=sev,
                message=message,
                evidence=ev,
                source=source or rule.source,
                where=where,
                overridable=not (sev == "block" and ev in _HARD_EVIDENCE),
            )
        )

    def result(self, protocol: str) -> Result:
        findings = sorted(self.findings, key=lambda f: -SEVERITY_RANK[f.severity])
        worst = max((SEVERITY_RANK[f.severity] for f in findings), default=0)
        verdict = ("ok", "warn", "block")[worst]
        return Result(verdict, protocol, ENGINE_VERSION, tuple(findings))


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the patient rules need to know about the treatment."""

    protocol: str
    on: date
    invasive: bool  # any injection or microneedling
    microneedling: bool
    products: Sequence[tuple[str, str]]  # (product or mixture code, where)
    zones: Sequence[tuple[str, str]]  # (zone code, where)
    planned: bool  # screening a plan rather than checking a charted session
    devices: frozenset[str] = frozenset()  # microneedling[].device codes used
    energy: bool = False  # any energy[] pass (counts as a treated zone, contract 1.1)
    modalities: frozenset[str] = frozenset()  # energy[].modality codes used


def _patient_rules(
    lib: Library,
    patient: Patient,
    history: Sequence[HistoryEntry],
    facts: _Facts,
    out: _Collector,
) -> None:
    rules = lib.rules
    proto = lib.protocols[facts.protocol]
    conditions = patient.conditions
    cond_set = frozenset(conditions)

    def cond_where(code: str) -> str:
        return f"patient.conditions[{conditions.index(code)}]"

    if patient.pregnant or patient.breastfeeding:
        which = "pregnant" if patient.pregnant else "breastfeeding"
        out.add(
            rules["contra.pregnancy"],
            f"Patient is {which}: no {proto.name} until after pregnancy and breastfeeding",
            f"patient.{which}",
        )

    rule = rules["contra.minor"]
    min_age = rule.params["min_age_years"].number
    age = age_on(patient.birth_date, facts.on)
    if age < min_age:
        out.add(
            rule,
            f"Patient is {age} years old on {facts.on.isoformat()}; treatment needs an adult "
            f"(at least {_n(min_age)} years)",
            "patient.birth_date",
        )

    if "active_infection_site" in cond_set:
        out.add(
            rules["contra.active_infection"],
            "Active infection at the treatment site: defer treatment until it has resolved",
            cond_where("active_infection_site"),
        )

    if patient.allergies:
        rule = rules["contra.allergy"]
        seen: set[tuple[str, str]] = set()
        for product, where in facts.products:
            ingredients = lib.ingredients_of[product]
            for i, allergy in enumerate(patient.allergies):
                if allergy in ingredients and (allergy, where) not in seen:
                    seen.add((allergy, where))
                    out.add(
                        rule,
                        f"Patient is allergic to {lib.ingredients[allergy].name.lower()}, "
                        f"an ingredient of {product}",
                        f"patient.allergies[{i}]" if facts.planned else where,
                    )

    if (facts.invasive or facts.energy) and "bleeding_disorder" in cond_set:
        out.add(
            rules["contra.bleeding_disorder"],
            "Bleeding disorder: no injection, microneedling or energy-device treatment",
            cond_where("bleeding_disorder"),
        )

    if facts.invasive:
        for i, med in enumerate(patient.medications):
            if med in ("anticoagulant", "antiplatelet"):
                out.add(
                    rules["contra.anticoagulant"],
                    f"Patient takes an {med} medicine: higher risk of bruising and haematoma "
                    "with injection or microneedling; prescriber to weigh the risk",
                    f"patient.medications[{i}]",
                )

    if patient.isotretinoin_last_dose is not None:
        rule = rules["contra.isotretinoin"]
        months = int(rule.params["window_months"].number)
        last = patient.isotretinoin_last_dose
        clear_from = _add_months(last, months)
        if facts.on < clear_from:
            msg = (
                f"Last isotretinoin dose {last.isoformat()} is less than {months} months "
                f"before {facts.on.isoformat()} (clear from {clear_from.isoformat()})"
            )
            lasers = sorted(facts.modalities.intersection(rule.extra.get("block_modalities", ())))
            if facts.protocol in rule.block_protocols or lasers:
                what = ", ".join(lasers) if lasers else proto.name
                out.add(
                    rule,
                    msg + f"; {what} is not allowed within the window",
                    "patient.isotretinoin_last_dose",
                    severity="block",
                    evidence=rule.extra.get("block_evidence", rule.evidence),
                    source=rule.extra.get("block_source", rule.source),
                )
            elif proto.needling or facts.invasive:
                out.add(
                    rule,
                    msg + "; needling or injecting only case by case (scarring risk)",
                    "patient.isotretinoin_last_dose",
                )

    if (facts.invasive or facts.energy) and "keloid_tendency" in cond_set:
        out.add(
            rules["contra.keloid"],
            "Keloid / hypertrophic scar tendency: risk of abnormal scarring after injection, "
            "microneedling or energy-device treatment",
            cond_where("keloid_tendency"),
        )

    immune = [c for c in ("autoimmune_disease", "immunosuppression") if c in cond_set]
    if immune or "immunosuppressant" in patient.medications:
        where = (
            cond_where(immune[0])
            if immune
            else f"patient.medications[{patient.medications.index('immunosuppressant')}]"
        )
        what = ", ".join(c.replace("_", " ") for c in immune) or "immunosuppressant medicine"
        if immune and "immunosuppressant" in patient.medications:
            what += ", immunosuppressant medicine"
        out.add(
            rules["contra.immune"],
            f"{what.capitalize()}: higher risk of infection and poor healing",
            where,
        )

    if "herpes_labialis" in cond_set:
        hsv = [(z, w) for z, w in facts.zones if z in lib.hsv_zones]
        if hsv:
            zones = ", ".join(sorted({z for z, _ in hsv}))
            verb = "planned zones include" if facts.planned else "treated zones include"
            out.add(
                rules["contra.hsv"],
                f"Herpes labialis history and {verb} {zones}: risk of an outbreak; "
                "consider antiviral prophylaxis",
                cond_where("herpes_labialis") if facts.planned else hsv[0][1],
            )

    rule = rules["contra.bmi"]
    if rule.applies_to(facts.protocol) and patient.bmi is not None:
        limit = rule.params["bmi_min"].number
        if patient.bmi >= limit:
            out.add(
                rule,
                f"BMI {_n(patient.bmi)}: {proto.name} is not for patients with BMI "
                f"{_n(limit)} or more",
                "patient.bmi",
            )

    simple = (
        (
            "contra.bdd",
            "body_dysmorphic_disorder",
            "Body dysmorphic disorder: {name} must not be given",
        ),
        (
            "contra.dysphagia",
            "dysphagia",
            "Dysphagia: {name} may worsen swallowing difficulty (dysphagia in 2% of trial patients)",
        ),
        (
            "contra.pacemaker",
            "pacemaker",
            "Pacemaker / implanted device: no {name} (electrical current)",
        ),
        (
            "contra.thyroid",
            "thyroid_enlargement",
            "Thyroid enlargement: examine before {name}; keep away from the thyroid gland",
        ),
        (
            "contra.diabetes",
            "uncontrolled_diabetes",
            "Uncontrolled diabetes: poor healing risk with {name}",
        ),
    )
    for code, condition, text in simple:
        rule_opt = rules.get(code)
        if rule_opt is None or condition not in cond_set:
            continue
        by_device = bool(facts.devices.intersection(rule_opt.extra.get("devices", ())))
        by_modality = bool(facts.modalities.intersection(rule_opt.extra.get("modalities", ())))
        if by_device or by_modality or rule_opt.applies_to(facts.protocol):
            out.add(rule_opt, text.format(name=proto.name), cond_where(condition))

    rule = rules["contra.pih_risk"]
    if patient.fitzpatrick is not None and (
        facts.microneedling
        or (rule.applies_to(facts.protocol) and rule.protocols is not None)
        or facts.modalities.intersection(rule.extra.get("modalities", ()))
    ):
        fmin = rule.params["fitzpatrick_min"].number
        if patient.fitzpatrick >= fmin:
            out.add(
                rule,
                f"Fitzpatrick type {patient.fitzpatrick} (type {_n(fmin)} or darker): risk of "
                "post-inflammatory hyperpigmentation; consider a test patch and conservative "
                "settings",
                "patient.fitzpatrick",
            )

    rule = rules["contra.prior_necrosis"]
    ingredient = rule.extra.get("ingredient", "deoxycholic_acid")
    bad_events = frozenset(rule.extra.get("adverse_events", ("ulceration", "necrosis")))
    uses_now = any(ingredient in lib.ingredients_of[p] for p, _ in facts.products)
    if uses_now:
        for i, h in enumerate(history):
            events = bad_events.intersection(h.adverse_events)
            if not events:
                continue
            used = h.products or lib.protocol_products.get(h.protocol, ())
            if any(ingredient in lib.ingredients_of[p] for p in used):
                out.add(
                    rule,
                    f"{' and '.join(sorted(events)).capitalize()} after the "
                    f"{h.date.isoformat()} {h.protocol} session: "
                    f"{lib.ingredients[ingredient].name.lower()} must never be given again",
                    f"history[{i}].adverse_events",
                )

    if proto.low_evidence:
        out.add(rules["protocol.low_evidence"], proto.evidence_note, "protocol")


# --------------------------------------------------------------------------- screen


def screen(
    patient: Patient | Mapping[str, Any],
    protocol: str,
    on: date,
    history: Iterable[HistoryEntry] | None = None,
    library: Library | None = None,
    settings: Settings | None = None,
) -> Result:
    """Contraindications and cautions of one protocol for one patient on a date.

    Facts come from the protocol's plan: its products (allergies), its zones (herpes),
    whether it needles or injects. ``patient`` may be a :class:`Patient` or a JSON-like
    mapping (validated; raises InvalidInput with a ``patient.*`` path).
    """
    lib = resolve_library(library, settings)
    if protocol not in lib.protocols:
        raise InvalidInput("protocol", f"unknown protocol {protocol!r}")
    if not isinstance(patient, Patient):
        patient = parse_patient(patient, lib)
    proto = lib.protocols[protocol]
    products = [(p, f"protocol.products[{i}]") for i, p in enumerate(proto.products)]
    facts = _Facts(
        protocol=protocol,
        on=on,
        invasive=proto.needling,
        microneedling=False,
        products=products,
        zones=[(z, "protocol.zones") for z in proto.zones],
        planned=True,
    )
    out = _Collector()
    _patient_rules(lib, patient, tuple(history or ()), facts, out)
    return out.result(protocol)


# --------------------------------------------------------------------------- check_session


def check_session(
    session: Session | Mapping[str, Any],
    history: Iterable[HistoryEntry] | None = None,
    library: Library | None = None,
    settings: Settings | None = None,
) -> Result:
    """Apply every rule of the check-session contract to one charted session.

    ``session`` is a :class:`Session` or a decoded JSON mapping (validated first; raises
    InvalidInput). ``history`` replaces ``session.history`` when given.
    """
    lib = resolve_library(library, settings)
    if not isinstance(session, Session):
        session = parse_session(session, lib)
    hist = tuple(history) if history is not None else session.history
    out = _Collector()
    rules = lib.rules
    on = session.date
    protocol = session.protocol
    proto = lib.protocols[protocol]
    injections = session.injections
    needling = session.microneedling

    needled = [_is_needled(lib, mn) for mn in needling]
    products: list[tuple[str, str]] = []
    zones: list[tuple[str, str]] = []
    for i, inj in enumerate(injections):
        products.append((inj.product, f"injections[{i}].product"))
        zones.append((inj.zone, f"injections[{i}].zone"))
    for i, mn in enumerate(needling):
        zones.append((mn.zone, f"microneedling[{i}].zone"))
        for j, top in enumerate(mn.topicals):
            products.append((top.product, f"microneedling[{i}].topicals[{j}].product"))
    for i, en in enumerate(session.energy):
        zones.append((en.zone, f"energy[{i}].zone"))
        for j, top in enumerate(en.topicals):
            products.append((top.product, f"energy[{i}].topicals[{j}].product"))

    if "treatment" not in session.consents:
        out.add(
            rules["consent.missing"],
            "No signed treatment consent for this session",
            "consents",
        )

    facts = _Facts(
        protocol=protocol,
        on=on,
        invasive=bool(injections) or any(needled),
        microneedling=any(needled),
        devices=frozenset(mn.device for mn in needling if mn.device),
        energy=bool(session.energy),
        modalities=frozenset(en.modality for en in session.energy),
        products=products,
        zones=zones,
        planned=False,
    )
    _patient_rules(lib, session.patient, hist, facts, out)
    _dose_and_zone_rules(lib, session, out)
    _needling_rules(lib, session, out)
    _energy_rules(lib, session, hist, out)
    _course_rules(lib, session, hist, out)
    _traceability_rules(lib, session, out)
    _off_protocol(lib, session, proto.code, out)
    return out.result(protocol)


def _dose_and_zone_rules(lib: Library, session: Session, out: _Collector) -> None:
    rules = lib.rules
    injections = session.injections
    if not injections:
        return
    ingredients_of = lib.ingredients_of
    zones = lib.zones
    off_label_consent = "off_label" in session.consents
    for ing in lib.limited_ingredients:
        code = ing.code
        rows = [(i, inj) for i, inj in enumerate(injections) if code in ingredients_of[inj.product]]
        if not rows:
            continue
        label = ing.name.lower()
        per_point = ing.limits.get("max_volume_per_point_ml")
        if per_point is not None:
            limit = per_point.number
            for i, inj in rows:
                if inj.volume_ml is not None and round(inj.volume_ml, 6) > limit:
                    out.add(
                        rules["dose.volume_per_point"],
                        f"{_n(inj.volume_ml)} mL per point of {inj.product}; the label allows "
                        f"at most {_n(limit)} mL per injection point",
                        f"injections[{i}].volume_ml",
                        evidence=per_point.evidence,
                        source=per_point.source,
                    )
        per_product: dict[str, list[float]] = {}
        for _, inj in rows:
            acc = per_product.setdefault(inj.product, [0.0, 0.0])
            acc[0] += (inj.volume_ml or 0.0) * inj.points
            acc[1] += inj.points
        total_ml = sum(v[0] for v in per_product.values())
        total_points = sum(v[1] for v in per_product.values())
        what = (
            next(iter(per_product))
            if len(per_product) == 1
            else f"{label} products ("
            + ", ".join(f"{p} {_n(v[0])} mL / {int(v[1])} points" for p, v in per_product.items())
            + ")"
        )
        max_points = ing.limits.get("max_points_per_session")
        if max_points is not None and total_points > max_points.number:
            out.add(
                rules["dose.max_points"],
                f"{int(total_points)} injection points of {what} in one session; the label "
                f"allows at most {_n(max_points.number)}",
                "injections",
                evidence=max_points.evidence,
                source=max_points.source,
            )
        max_volume = ing.limits.get("max_volume_ml_per_session")
        if max_volume is not None and round(total_ml, 6) > max_volume.number:
            out.add(
                rules["dose.max_volume"],
                f"{_n(total_ml)} mL of {what} in one session; the label allows at most "
                f"{_n(max_volume.number)} mL",
                "injections",
                evidence=max_volume.evidence,
                source=max_volume.source,
            )
        if ing.labelled_zones is not None:
            rule = rules["zone.off_label"]
            labelled = ", ".join(sorted(ing.labelled_zones))
            for i, inj in rows:
                if inj.zone in ing.labelled_zones:
                    continue
                if off_label_consent:
                    out.add(
                        rule,
                        f"{inj.product} ({label}) in {inj.zone} is off label (labelled for "
                        f"{labelled} only); off-label consent is recorded",
                        f"injections[{i}].zone",
                        severity=rule.extra.get("severity_with_consent", "warn"),
                    )
                else:
                    out.add(
                        rule,
                        f"{inj.product} ({label}) in {inj.zone} is off label (labelled for "
                        f"{labelled} only) and there is no off_label consent",
                        f"injections[{i}].zone",
                    )

    rule = rules["zone.forbidden"]
    for i, inj in enumerate(injections):
        zone = zones[inj.zone]
        bad = zone.forbidden_ingredients & ingredients_of[inj.product]
        if bad:
            names = ", ".join(lib.ingredients[b].name.lower() for b in sorted(bad))
            out.add(
                rule,
                f"{inj.product} contains {names}, which must never be injected in "
                f"{inj.zone} (on or above the lower border of the mandible: marginal "
                "mandibular nerve)",
                f"injections[{i}].zone",
            )
        if zone.needling_forbidden:
            out.add(
                rule,
                f"Injection in {inj.zone} ({zone.name}): no injection inside the orbital rim",
                f"injections[{i}].zone",
                evidence=rule.extra.get("needling_evidence"),
                source=rule.extra.get("needling_source"),
            )


def _is_needled(lib: Library, row: Microneedling) -> bool:
    """A microneedling row opens the skin unless its device is a needle-free technique."""
    if row.device is None:
        return True
    return lib.device_technique[row.device].kind != "needle_free"


def _needling_rules(lib: Library, session: Session, out: _Collector) -> None:
    if not session.microneedling:
        return
    rules = lib.rules
    zones = lib.zones
    intradermal = lib.intradermal
    for i, mn in enumerate(session.microneedling):
        if not _is_needled(lib, mn):
            continue  # iontophoresis / sonophoresis: intact skin, no microchannels
        zone = zones[mn.zone]
        if zone.needling_forbidden:
            rule = rules["zone.forbidden"]
            out.add(
                rule,
                f"Microneedling in {mn.zone} ({zone.name}): no microneedling inside the "
                "orbital rim",
                f"microneedling[{i}].zone",
                evidence=rule.extra.get("needling_evidence"),
                source=rule.extra.get("needling_source"),
            )
        elif mn.needle_length_mm is not None and zone.needle_max_mm is not None:
            limit = zone.needle_max_mm
            if round(mn.needle_length_mm, 6) > limit.number:
                out.add(
                    rules["needle.zone_length"],
                    f"{_n(mn.needle_length_mm)} mm needle in {mn.zone}; the zone maximum is "
                    f"{_n(limit.number)} mm (clinic-tunable practice default)",
                    f"microneedling[{i}].needle_length_mm",
                    evidence=limit.evidence,
                    source=limit.source,
                )
        for j, top in enumerate(mn.topicals):
            if not intradermal[top.product]:
                out.add(
                    rules["topical.not_intradermal"],
                    f"{top.product} is not labelled for intradermal use and must not be "
                    "applied to open microchannels",
                    f"microneedling[{i}].topicals[{j}].product",
                )


def _energy_rules(
    lib: Library, session: Session, hist: Sequence[HistoryEntry], out: _Collector
) -> None:
    """Contract 1.1: energy-device and needle-free passes (eyelids, recent energy treatment
    of the same zone, topicals through skin the pass opened)."""
    if not session.energy:
        return
    rules = lib.rules
    zones = lib.zones
    forbidden = rules["zone.forbidden"]
    recent = rules["energy.recent_treatment"]
    checked = frozenset(recent.extra.get("modalities", ()))
    ablative = frozenset(recent.extra.get("ablative", ()))
    non_ablative = frozenset(recent.extra.get("non_ablative", ()))
    after_ablative = recent.params["after_ablative_days"]
    after_non_ablative = recent.params["after_non_ablative_days"]
    topical_rule = rules["topical.not_intradermal"]
    open_skin = frozenset(topical_rule.extra.get("energy_modalities", ()))
    for i, en in enumerate(session.energy):
        path = f"energy[{i}]"
        zone = zones[en.zone]
        if zone.needling_forbidden:
            out.add(
                forbidden,
                f"{en.modality} in {en.zone} ({zone.name}): no energy-device or needle-free "
                "treatment inside the orbital rim",
                f"{path}.zone",
                evidence=forbidden.extra.get("energy_evidence"),
                source=forbidden.extra.get("energy_source"),
            )
        if en.modality in checked:
            for h in hist:
                if en.zone not in h.zones:
                    continue
                days = (session.date - h.date).days
                for earlier in h.modalities:
                    if earlier in ablative:
                        limit = after_ablative
                    elif earlier in non_ablative:
                        limit = after_non_ablative
                    else:
                        continue
                    if 0 <= days < limit.number:
                        out.add(
                            recent,
                            f"{earlier} in {en.zone} on {h.date.isoformat()}, {days} days "
                            f"before: no {en.modality} in the same zone within "
                            f"{_n(limit.number)} days of it",
                            f"{path}.zone",
                            evidence=limit.evidence,
                            source=limit.source,
                        )
                        break
        if en.modality in open_skin:
            for j, top in enumerate(en.topicals):
                if not lib.intradermal[top.product]:
                    out.add(
                        topical_rule,
                        f"{top.product} is not labelled for intradermal use and must not be "
                        f"applied to skin opened by {en.modality}",
                        f"{path}.topicals[{j}].product",
                    )


def _course_rules(
    lib: Library, session: Session, hist: Sequence[HistoryEntry], out: _Collector
) -> None:
    if not hist:
        return
    rules = lib.rules
    protocol = session.protocol
    course = lib.protocols[protocol].course
    rule = rules["interval.too_short"]
    min_days = course.min_interval_days
    same = [(i, h) for i, h in enumerate(hist) if h.protocol == protocol]
    for i, h in same:
        signed_days = (session.date - h.date).days
        days = abs(signed_days)
        if days < min_days.number:
            severity = "block" if protocol in rule.block_protocols else "warn"
            when = (
                "the same day"
                if days == 0
                else f"{days} days " + ("earlier" if signed_days > 0 else "later")
            )
            out.add(
                rule,
                f"Another {protocol} session on {h.date.isoformat()} was {when}; "
                f"the minimum interval is {_n(min_days.number)} days",
                f"history[{i}].date",
                severity=severity,
                evidence=min_days.evidence,
                source=min_days.source,
            )
    max_sessions = course.max_sessions
    if max_sessions is not None:
        earlier = sum(1 for _, h in same if h.date < session.date)
        if earlier >= max_sessions.number:
            out.add(
                rules["course.max_sessions"],
                f"{earlier} earlier {protocol} sessions; the label allows at most "
                f"{_n(max_sessions.number)} sessions in total",
                "history",
                evidence=max_sessions.evidence,
                source=max_sessions.source,
            )


def _traceability_rules(lib: Library, session: Session, out: _Collector) -> None:
    rules = lib.rules
    on = session.date
    missing, expired, no_expiry = (
        rules["lot.missing"],
        rules["lot.expired"],
        rules["lot.expiry_missing"],
    )

    def check(product: str, lot: str | None, expiry: date | None, path: str) -> None:
        if lot is None:
            out.add(missing, f"No lot number recorded for {product}", f"{path}.lot")
        if expiry is None:
            out.add(no_expiry, f"No expiry date recorded for {product}", f"{path}.expiry")
        elif expiry < on:
            out.add(
                expired,
                f"{product} lot {lot or '(unknown)'} expired on {expiry.isoformat()}, before "
                f"the session date {on.isoformat()}",
                f"{path}.expiry",
            )

    for i, inj in enumerate(session.injections):
        path = f"injections[{i}]"
        if inj.components:
            for j, comp in enumerate(inj.components):
                check(comp.product, comp.lot, comp.expiry, f"{path}.components[{j}]")
        else:
            check(inj.product, inj.lot, inj.expiry, path)
    for i, mn in enumerate(session.microneedling):
        for j, top in enumerate(mn.topicals):
            check(top.product, top.lot, top.expiry, f"microneedling[{i}].topicals[{j}]")
    for i, en in enumerate(session.energy):
        for j, top in enumerate(en.topicals):
            check(top.product, top.lot, top.expiry, f"energy[{i}].topicals[{j}]")
    beyond_use = rules["vial.beyond_use"]
    for i, vial in enumerate(session.vials):
        path = f"vials[{i}]"
        check(vial.product, vial.lot, vial.expiry, path)
        if not vial.multi_dose or vial.opened is None:
            continue
        product = lib.products.get(vial.product)
        limit = (
            product.beyond_use_days_after_opening if product is not None else None
        ) or beyond_use.params["beyond_use_days"]
        days = (on - vial.opened).days
        if days > limit.number:
            out.add(
                beyond_use,
                f"Multi-dose vial of {vial.product} lot {vial.lot or '(unknown)'} was opened on "
                f"{vial.opened.isoformat()}, {days} days before the session: discard it "
                f"{_n(limit.number)} days after first puncture",
                f"{path}.opened",
                evidence=limit.evidence,
                source=limit.source,
            )
    for i, pack in enumerate(session.instrument_packs):
        name = f"Instrument pack {pack.id}" if pack.id else "Instrument pack"
        if pack.status != "released":
            out.add(
                rules["sterility.pack_not_released"],
                f"{name} is {pack.status}, not released: do not use",
                f"instrument_packs[{i}].status",
            )
        if pack.expires is not None and pack.expires < on:
            out.add(
                rules["sterility.pack_expired"],
                f"{name} sterility expired on {pack.expires.isoformat()}, before the "
                f"session date {on.isoformat()}",
                f"instrument_packs[{i}].expires",
            )


def _off_protocol(lib: Library, session: Session, protocol: str, out: _Collector) -> None:
    rule = lib.rules.get("protocol.off_protocol")
    if rule is None:
        return
    zones = lib.protocol_zones[protocol]
    products = lib.protocol_products[protocol]
    techniques = lib.protocols[protocol].techniques
    devices = lib.protocol_devices[protocol]
    notes: list[tuple[str, str]] = []
    for i, inj in enumerate(session.injections):
        if inj.zone not in zones:
            notes.append((f"zone {inj.zone}", f"injections[{i}].zone"))
        if inj.product not in products:
            notes.append((f"product {inj.product}", f"injections[{i}].product"))
        if inj.technique is not None and inj.technique not in techniques:
            notes.append((f"technique {inj.technique}", f"injections[{i}].technique"))
    for i, mn in enumerate(session.microneedling):
        if mn.zone not in zones:
            notes.append((f"zone {mn.zone}", f"microneedling[{i}].zone"))
        if mn.device is not None and mn.device not in devices:
            notes.append((f"device {mn.device}", f"microneedling[{i}].device"))
    modalities = lib.protocol_modalities[protocol]
    for i, en in enumerate(session.energy):
        if en.zone not in zones:
            notes.append((f"zone {en.zone}", f"energy[{i}].zone"))
        if en.modality not in modalities:
            notes.append((f"modality {en.modality}", f"energy[{i}].modality"))
    for what, where in notes:
        out.add(rule, f"{what} is not part of the {protocol} protocol", where)


Check = Callable[..., Result]
