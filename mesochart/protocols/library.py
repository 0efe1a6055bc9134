"""The protocol library: data files in ``data/*.toml``, validated into frozen dataclasses.

Every numeric parameter is a :class:`Param` record (value, unit, evidence, source, note)
with a stable id such as ``protocols[submental-dca].course.min_interval_days`` or
``zones[forehead].needle_max_mm``. Errors name the file and the field::

    LibraryError("protocols.toml: protocols[submental-dca].course.min_interval_days.source: missing")

``load_library()`` loads once and caches. ``Library.with_overrides()`` returns a new library
with clinic-tuned practice-level (P/G) parameters; label and standard (L/S) limits refuse.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
EVIDENCE_LEVELS = ("L", "S", "G", "P")
TUNABLE_EVIDENCE = frozenset({"G", "P"})
SEVERITIES = ("info", "warn", "block")
DATA_FILES = (
    "vocabulary.toml",
    "ingredients.toml",
    "zones.toml",
    "products.toml",
    "techniques.toml",
    "aftercare.toml",
    "rules.toml",
    "protocols.toml",
)

ParamValue = int | float | tuple[float, ...]


class LibraryError(ValueError):
    """A data file is invalid; the message names the file and the field."""


class OverrideError(ValueError):
    """A clinic override names an unknown or non-tunable parameter, or a bad value."""

    def __init__(self, param_id: str, message: str) -> None:
        super().__init__(f"{param_id}: {message}")
        self.param_id = param_id


@dataclass(frozen=True, slots=True)
class Param:
    """A numeric rule parameter with its evidence level and source."""

    id: str
    value: ParamValue
    unit: str
    evidence: str
    source: str
    note: str = ""

    @property
    def tunable(self) -> bool:
        """Practice-level (P) and study-level (G) scalars are clinic-tunable; L/S never."""
        return self.evidence in TUNABLE_EVIDENCE and not isinstance(self.value, tuple)

    @property
    def number(self) -> float:
        if isinstance(self.value, tuple):
            raise TypeError(f"{self.id} is a range, not a number")
        return float(self.value)

    def as_dict(self) -> dict[str, Any]:
        value: Any = list(self.value) if isinstance(self.value, tuple) else self.value
        return {
            "id": self.id,
            "value": value,
            "unit": self.unit,
            "evidence": self.evidence,
            "source": self.source,
            "note": self.note,
            "tunable": self.tunable,
        }


@dataclass(frozen=True, slots=True)
class Zone:
    code: str
    name: str
    laterality: str
    region: str
    skin_thickness: str
    snomed: str | None = None
    snomed_display: str | None = None
    hsv_risk: bool = False
    needling_forbidden: bool = False
    forbidden_ingredients: frozenset[str] = frozenset()
    needle_max_mm: Param | None = None


@dataclass(frozen=True, slots=True)
class Ingredient:
    code: str
    name: str
    note: str = ""
    labelled_zones: frozenset[str] | None = None
    limits: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    ingredients: frozenset[str]
    form: str
    route: str
    regulatory: str
    labelled_intradermal: bool
    container: str
    prescription_only: bool
    admixture_allowed: bool = True
    note: str = ""
    params: Mapping[str, Param] = field(default_factory=dict)

    @property
    def beyond_use_days_after_opening(self) -> Param | None:
        return self.params.get("beyond_use_days_after_opening")


@dataclass(frozen=True, slots=True)
class Mixture:
    code: str
    name: str
    components: tuple[str, ...]
    ingredients: frozenset[str]
    note: str = ""
    labelled_intradermal: bool = False


@dataclass(frozen=True, slots=True)
class Technique:
    code: str
    name: str
    kind: str
    chart_fields: tuple[str, ...]
    variants: tuple[str, ...] = ()
    device_codes: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    note: str = ""
    params: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Course:
    sessions: Param
    min_interval_days: Param
    typical_interval_days: Param
    max_sessions: Param | None = None
    maintenance_interval_days: Param | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    first_assessment_days: Param
    final_assessment_days: Param


@dataclass(frozen=True, slots=True)
class AftercareTemplate:
    code: str
    red_flags: str
    items: Mapping[str, Param]


@dataclass(frozen=True, slots=True)
class Protocol:
    code: str
    name: str
    label_status: str
    target_layer: str
    products: tuple[str, ...]
    mixtures: tuple[str, ...]
    techniques: tuple[str, ...]
    zones: tuple[str, ...]
    aftercare: str
    sources: tuple[str, ...]
    course: Course
    timeline: Timeline
    zone_parameters: Mapping[str, Mapping[str, Param]]
    needling: bool = True
    low_evidence: bool = False
    evidence_note: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    title: str
    severity: str
    evidence: str
    source: str
    note: str = ""
    protocols: frozenset[str] | None = None
    block_protocols: frozenset[str] = frozenset()
    params: Mapping[str, Param] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def applies_to(self, protocol: str) -> bool:
        return self.protocols is None or protocol in self.protocols


@dataclass(frozen=True, slots=True)
class Vocabulary:
    conditions: frozenset[str]
    medications: frozenset[str]
    adverse_events: frozenset[str]
    pack_statuses: frozenset[str]
    consents: frozenset[str]
    sexes: frozenset[str]
    energy_modalities: frozenset[str] = frozenset()


# --------------------------------------------------------------------------- parsing


class _Reader:
    """Typed access to one TOML document with file-and-path error messages."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.params: dict[str, Param] = {}
        self.locations: dict[str, tuple[str, tuple[str, ...]]] = {}

    def error(self, path: str, message: str) -> LibraryError:
        return LibraryError(f"{self.filename}: {path}: {message}")

    def table(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(path, "must be a table")
        return data

    def req(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in data:
            raise self.error(f"{path}.{key}", "missing")
        return data[key]

    def text(self, data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
        if key not in data:
            if default is None:
                raise self.error(f"{path}.{key}", "missing")
            return default
        value = data[key]
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.error(f"{path}.{key}", "must be a non-empty string")
        return value

    def choice(self, data: Mapping[str, Any], key: str, path: str, options: Iterable[str]) -> str:
        value = self.text(data, key, path)
        allowed = tuple(options)
        if value not in allowed:
            raise self.error(f"{path}.{key}", f"must be one of {', '.join(allowed)}")
        return value

    def flag(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{path}.{key}", "must be true or false")
        return value

    def codes(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        known: Iterable[str] | None = None,
        required: bool = True,
    ) -> tuple[str, ...]:
        if key not in data:
            if required:
                raise self.error(f"{path}.{key}", "missing")
            return ()
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{path}.{key}", "must be a list of strings")
        if known is not None:
            known_set = set(known)
            for i, v in enumerate(value):
                if v not in known_set:
                    raise self.error(f"{path}.{key}[{i}]", f"unknown code {v!r}")
        return tuple(value)

    def param(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        location: tuple[str, ...],
        required: bool = True,
    ) -> Param | None:
        if key not in data:
            if required:
                raise self.error(f"{path}.{key}", "missing")
            return None
        return self.param_from(data[key], f"{path}.{key}", (*location, key))

    def param_from(self, raw: Any, pid: str, location: tuple[str, ...]) -> Param:
        record = self.table(raw, pid)
        value = self.req(record, "value", pid)
        parsed: ParamValue
        if isinstance(value, bool):
            raise self.error(f"{pid}.value", "must be a number or a [min, max] list of numbers")
        if isinstance(value, int | float):
            parsed = value
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            parsed = tuple(float(v) for v in value)
        else:
            raise self.error(f"{pid}.value", "must be a number or a [min, max] list of numbers")
        evidence = self.text(record, "evidence", pid)
        if evidence not in EVIDENCE_LEVELS:
            raise self.error(f"{pid}.evidence", "must be one of L, S, G, P")
        param = Param(
            id=pid,
            value=parsed,
            unit=self.text(record, "unit", pid),
            evidence=evidence,
            source=self.text(record, "source", pid),
            note=self.text(record, "note", pid, default=""),
        )
        unknown = set(record) - {"value", "unit", "evidence", "source", "note"}
        if unknown:
            raise self.error(f"{pid}.{sorted(unknown)[0]}", "unknown field")
        self.params[pid] = param
        self.locations[pid] = (self.filename, location)
        return param

    def params_in(
        self, data: Mapping[str, Any], path: str, location: tuple[str, ...], skip: Iterable[str]
    ) -> dict[str, Param]:
        """Every table-valued key not in ``skip`` is a parameter record."""
        skipped = set(skip)
        out: dict[str, Param] = {}
        for key, raw in data.items():
            if key in skipped:
                continue
            if not isinstance(raw, dict):
                raise self.error(f"{path}.{key}", "unknown field")
            out[key] = self.param_from(raw, f"{path}.{key}", (*location, key))
        return out


def _section(reader: _Reader, doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    if name not in doc:
        raise reader.error(name, "missing")
    return reader.table(doc[name], name)


class Library:
    """The validated protocol library with lookups and precomputed indices."""

    def __init__(self, raw: Mapping[str, Mapping[str, Any]]) -> None:
        self._raw = raw
        self.params: dict[str, Param] = {}
        self._locations: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._build(raw)

    # ------------------------------------------------------------------ build
    def _reader(self, filename: str) -> _Reader:
        return _Reader(filename)

    def _collect(self, reader: _Reader) -> None:
        self.params.update(reader.params)
        self._locations.update(reader.locations)

    def _build(self, raw: Mapping[str, Mapping[str, Any]]) -> None:
        for name in DATA_FILES:
            if name not in raw:
                raise LibraryError(f"{name}: missing data file")

        r = self._reader("vocabulary.toml")
        voc = raw["vocabulary.toml"]
        self.vocabulary = Vocabulary(
            conditions=frozenset(r.codes(voc, "conditions", "vocabulary")),
            medications=frozenset(r.codes(voc, "medications", "vocabulary")),
            adverse_events=frozenset(r.codes(voc, "adverse_events", "vocabulary")),
            pack_statuses=frozenset(r.codes(voc, "pack_statuses", "vocabulary")),
            consents=frozenset(r.codes(voc, "consents", "vocabulary")),
            sexes=frozenset(r.codes(voc, "sexes", "vocabulary")),
            energy_modalities=frozenset(r.codes(voc, "energy_modalities", "vocabulary")),
        )

        r = self._reader("ingredients.toml")
        ingredients: dict[str, Ingredient] = {}
        for code, data in _section(r, raw["ingredients.toml"], "ingredients").items():
            path = f"ingredients[{code}]"
            d = r.table(data, path)
            limits: dict[str, Param] = {}
            if "limits" in d:
                limits = r.params_in(
                    r.table(d["limits"], f"{path}.limits"),
                    f"{path}.limits",
                    ("ingredients", code, "limits"),
                    (),
                )
            ingredients[code] = Ingredient(
                code=code,
                name=r.text(d, "name", path),
                note=r.text(d, "note", path, default=""),
                labelled_zones=frozenset(r.codes(d, "labelled_zones", path))
                if "labelled_zones" in d
                else None,
                limits=limits,
            )
        self._collect(r)
        self.ingredients = ingredients

        r = self._reader("zones.toml")
        zones: dict[str, Zone] = {}
        for code, data in _section(r, raw["zones.toml"], "zones").items():
            path = f"zones[{code}]"
            d = r.table(data, path)
            zones[code] = Zone(
                code=code,
                name=r.text(d, "name", path),
                snomed=d.get("snomed"),
                snomed_display=d.get("snomed_display"),
                laterality=r.choice(d, "laterality", path, ("left", "right", "midline", "none")),
                region=r.choice(d, "region", path, ("face", "neck", "scalp", "body")),
                skin_thickness=r.choice(d, "skin_thickness", path, ("thin", "medium", "thick")),
                hsv_risk=r.flag(d, "hsv_risk", path, False),
                needling_forbidden=r.flag(d, "needling_forbidden", path, False),
                forbidden_ingredients=frozenset(
                    r.codes(d, "forbidden_ingredients", path, ingredients, required=False)
                ),
                needle_max_mm=r.param(d, "needle_max_mm", path, ("zones", code), required=False),
            )
            if zones[code].needle_max_mm is None and not zones[code].needling_forbidden:
                raise r.error(f"{path}.needle_max_mm", "missing")
        self._collect(r)
        self.zones = zones
        for code, ing in ingredients.items():
            for z in sorted(ing.labelled_zones or ()):
                if z not in zones:
                    raise LibraryError(
                        f"ingredients.toml: ingredients[{code}].labelled_zones: unknown zone {z!r}"
                    )

        r = self._reader("products.toml")
        products: dict[str, Product] = {}
        doc = raw["products.toml"]
        for code, data in _section(r, doc, "products").items():
            path = f"products[{code}]"
            d = r.table(data, path)
            container = r.choice(d, "container", path, ("single_use", "multi_dose"))
            fields = {
                "name",
                "ingredients",
                "form",
                "route",
                "regulatory",
                "labelled_intradermal",
                "container",
                "prescription_only",
                "admixture_allowed",
                "note",
            }
            params = r.params_in(d, path, ("products", code), fields)
            if container == "multi_dose" and "beyond_use_days_after_opening" not in params:
                raise r.error(
                    f"{path}.beyond_use_days_after_opening", "missing (multi-dose container)"
                )
            if not isinstance(d.get("prescription_only"), bool):
                raise r.error(f"{path}.prescription_only", "must be true or false")
            if not isinstance(d.get("labelled_intradermal"), bool):
                raise r.error(f"{path}.labelled_intradermal", "must be true or false")
            products[code] = Product(
                code=code,
                name=r.text(d, "name", path),
                ingredients=frozenset(r.codes(d, "ingredients", path, ingredients)),
                form=r.text(d, "form", path),
                route=r.choice(d, "route", path, ("intradermal", "subcutaneous", "topical")),
                regulatory=r.choice(
                    d, "regulatory", path, ("medicine", "device", "compounded", "cosmetic")
                ),
                labelled_intradermal=d["labelled_intradermal"],
                container=container,
                prescription_only=d["prescription_only"],
                admixture_allowed=r.flag(d, "admixture_allowed", path, True),
                note=r.text(d, "note", path, default=""),
                params=params,
            )
        mixtures: dict[str, Mixture] = {}
        for code, data in (r.table(doc.get("mixtures", {}), "mixtures")).items():
            path = f"mixtures[{code}]"
            d = r.table(data, path)
            components = r.codes(d, "components", path, products)
            if len(components) < 2:
                raise r.error(f"{path}.components", "a mixture needs at least two products")
            for i, comp in enumerate(components):
                if not products[comp].admixture_allowed:
                    raise r.error(f"{path}.components[{i}]", f"{comp} must not be admixed (label)")
            if code in products:
                raise r.error(path, "code already used by a product")
            mixtures[code] = Mixture(
                code=code,
                name=r.text(d, "name", path),
                components=components,
                ingredients=frozenset().union(*(products[c].ingredients for c in components)),
                note=r.text(d, "note", path, default=""),
                labelled_intradermal=all(products[c].labelled_intradermal for c in components),
            )
        self._collect(r)
        self.products = products
        self.mixtures = mixtures

        r = self._reader("techniques.toml")
        techniques: dict[str, Technique] = {}
        for code, data in _section(r, raw["techniques.toml"], "techniques").items():
            path = f"techniques[{code}]"
            d = r.table(data, path)
            fields = {
                "name",
                "kind",
                "variants",
                "chart_fields",
                "device_codes",
                "modalities",
                "note",
            }
            techniques[code] = Technique(
                code=code,
                name=r.text(d, "name", path),
                kind=r.choice(
                    d, "kind", path, ("injection", "microneedling", "energy", "needle_free")
                ),
                chart_fields=r.codes(d, "chart_fields", path),
                variants=r.codes(d, "variants", path, required=False),
                device_codes=r.codes(d, "device_codes", path, required=False),
                modalities=r.codes(
                    d, "modalities", path, self.vocabulary.energy_modalities, required=False
                ),
                note=r.text(d, "note", path, default=""),
                params=r.params_in(d, path, ("techniques", code), fields),
            )
        self._collect(r)
        self.techniques = techniques

        r = self._reader("aftercare.toml")
        aftercare: dict[str, AftercareTemplate] = {}
        for code, data in _section(r, raw["aftercare.toml"], "aftercare").items():
            path = f"aftercare[{code}]"
            d = r.table(data, path)
            aftercare[code] = AftercareTemplate(
                code=code,
                red_flags=r.text(d, "red_flags", path),
                items=r.params_in(d, path, ("aftercare", code), {"red_flags"}),
            )
        self._collect(r)
        self.aftercare = aftercare

        r = self._reader("protocols.toml")
        protocols: dict[str, Protocol] = {}
        for code, data in _section(r, raw["protocols.toml"], "protocols").items():
            path = f"protocols[{code}]"
            d = r.table(data, path)
            loc = ("protocols", code)
            c = r.table(r.req(d, "course", path), f"{path}.course")
            cpath, cloc = f"{path}.course", (*loc, "course")
            course = Course(
                sessions=_must(r.param(c, "sessions", cpath, cloc)),
                min_interval_days=_must(r.param(c, "min_interval_days", cpath, cloc)),
                typical_interval_days=_must(r.param(c, "typical_interval_days", cpath, cloc)),
                max_sessions=r.param(c, "max_sessions", cpath, cloc, required=False),
                maintenance_interval_days=r.param(
                    c, "maintenance_interval_days", cpath, cloc, required=False
                ),
            )
            t = r.table(r.req(d, "timeline", path), f"{path}.timeline")
            tpath, tloc = f"{path}.timeline", (*loc, "timeline")
            timeline = Timeline(
                first_assessment_days=_must(r.param(t, "first_assessment_days", tpath, tloc)),
                final_assessment_days=_must(r.param(t, "final_assessment_days", tpath, tloc)),
            )
            zp: dict[str, dict[str, Param]] = {}
            zone_codes = r.codes(d, "zones", path, zones)
            for zkey, zdata in r.table(
                d.get("zone_parameters", {}), f"{path}.zone_parameters"
            ).items():
                zpath = f"{path}.zone_parameters[{zkey}]"
                if zkey != "default" and zkey not in zone_codes:
                    raise r.error(zpath, f"zone {zkey!r} is not one of the protocol's zones")
                zp[zkey] = r.params_in(
                    r.table(zdata, zpath), zpath, (*loc, "zone_parameters", zkey), ()
                )
            aftercare_code = r.text(d, "aftercare", path)
            if aftercare_code not in aftercare:
                raise r.error(f"{path}.aftercare", f"unknown aftercare template {aftercare_code!r}")
            for key in ("course", "timeline"):
                for pkey in r.table(d[key], f"{path}.{key}"):
                    if f"{path}.{key}.{pkey}" not in r.params:
                        raise r.error(f"{path}.{key}.{pkey}", "unknown field")
            protocols[code] = Protocol(
                code=code,
                name=r.text(d, "name", path),
                label_status=r.choice(
                    d, "label_status", path, ("on_label", "off_label", "device", "practice")
                ),
                target_layer=r.text(d, "target_layer", path),
                products=r.codes(d, "products", path, products),
                mixtures=r.codes(d, "mixtures", path, mixtures, required=False),
                techniques=r.codes(d, "techniques", path, techniques),
                zones=zone_codes,
                aftercare=aftercare_code,
                sources=r.codes(d, "sources", path),
                course=course,
                timeline=timeline,
                zone_parameters=zp,
                needling=r.flag(d, "needling", path, True),
                low_evidence=r.flag(d, "low_evidence", path, False),
                evidence_note=r.text(d, "evidence_note", path, default=""),
            )
            if protocols[code].low_evidence and not protocols[code].evidence_note:
                raise r.error(f"{path}.evidence_note", "missing (low_evidence protocol)")
        self._collect(r)
        self.protocols = protocols

        r = self._reader("rules.toml")
        doc = raw["rules.toml"]
        rules: dict[str, Rule] = {}
        known_keys = {
            "title",
            "severity",
            "evidence",
            "source",
            "note",
            "protocols",
            "block_protocols",
            "params",
        }
        for code, data in _section(r, doc, "rules").items():
            path = f"rules[{code}]"
            d = r.table(data, path)
            evidence = r.choice(d, "evidence", path, EVIDENCE_LEVELS)
            rparams: dict[str, Param] = {}
            if "params" in d:
                rparams = r.params_in(
                    r.table(d["params"], f"{path}.params"), path, ("rules", code, "params"), ()
                )
            rules[code] = Rule(
                code=code,
                title=r.text(d, "title", path),
                severity=r.choice(d, "severity", path, SEVERITIES),
                evidence=evidence,
                source=r.text(d, "source", path),
                note=r.text(d, "note", path, default=""),
                protocols=frozenset(r.codes(d, "protocols", path, protocols))
                if "protocols" in d
                else None,
                block_protocols=frozenset(
                    r.codes(d, "block_protocols", path, protocols, required=False)
                ),
                params=rparams,
                extra={k: v for k, v in d.items() if k not in known_keys},
            )
        followups = r.params_in(_section(r, doc, "followups"), "followups", ("followups",), ())
        self._collect(r)
        self.rules = rules
        self.followups = followups
        missing = [c for c in REQUIRED_RULES if c not in rules]
        if missing:
            raise LibraryError(f"rules.toml: rules[{missing[0]}]: missing")
        for code, rule in rules.items():
            ing_code = rule.extra.get("ingredient")
            if ing_code is not None and ing_code not in ingredients:
                raise LibraryError(
                    f"rules.toml: rules[{code}].ingredient: unknown code {ing_code!r}"
                )
            for key in ("severity_with_consent",):
                if key in rule.extra and rule.extra[key] not in SEVERITIES:
                    raise LibraryError(
                        f"rules.toml: rules[{code}].{key}: must be info, warn or block"
                    )
            for key in ("block_evidence", "needling_evidence"):
                if key in rule.extra and rule.extra[key] not in EVIDENCE_LEVELS:
                    raise LibraryError(
                        f"rules.toml: rules[{code}].{key}: must be one of L, S, G, P"
                    )
        devices = {d for t in self.techniques.values() for d in t.device_codes}
        for code, rule in rules.items():
            for i, dev in enumerate(rule.extra.get("devices", ())):
                if dev not in devices:
                    raise LibraryError(
                        f"rules.toml: rules[{code}].devices[{i}]: unknown device {dev!r}"
                    )
        for rule_code, pkey in PARAM_REQUIREMENTS:
            if pkey not in rules[rule_code].params:
                raise LibraryError(f"rules.toml: rules[{rule_code}].{pkey}: missing")
        self._index()

    def _index(self) -> None:
        """Precomputed lookups for the engine's hot path."""
        self.ingredients_of: dict[str, frozenset[str]] = {
            **{c: p.ingredients for c, p in self.products.items()},
            **{c: m.ingredients for c, m in self.mixtures.items()},
        }
        self.intradermal: dict[str, bool] = {
            **{c: p.labelled_intradermal for c, p in self.products.items()},
            **{c: m.labelled_intradermal for c, m in self.mixtures.items()},
        }
        self.limited_ingredients: tuple[Ingredient, ...] = tuple(
            i for i in self.ingredients.values() if i.limits or i.labelled_zones is not None
        )
        self.device_technique: dict[str, Technique] = {}
        for t in self.techniques.values():
            for dev in t.device_codes:
                self.device_technique[dev] = t
        self.injection_techniques = frozenset(
            c for c, t in self.techniques.items() if t.kind == "injection"
        )
        self.hsv_zones = frozenset(c for c, z in self.zones.items() if z.hsv_risk)
        self.protocol_products: dict[str, frozenset[str]] = {
            c: frozenset(p.products) | frozenset(p.mixtures) for c, p in self.protocols.items()
        }
        self.protocol_zones = {c: frozenset(p.zones) for c, p in self.protocols.items()}
        self.protocol_modalities = {
            c: frozenset(m for t in p.techniques for m in self.techniques[t].modalities)
            for c, p in self.protocols.items()
        }
        self.protocol_devices = {
            c: frozenset(d for t in p.techniques for d in self.techniques[t].device_codes)
            for c, p in self.protocols.items()
        }

    # ------------------------------------------------------------------ lookups
    def protocol(self, code: str) -> Protocol:
        try:
            return self.protocols[code]
        except KeyError:
            raise KeyError(f"unknown protocol {code!r}") from None

    def rule(self, code: str) -> Rule:
        return self.rules[code]

    def param(self, param_id: str) -> Param:
        try:
            return self.params[param_id]
        except KeyError:
            raise KeyError(f"unknown parameter {param_id!r}") from None

    def is_product(self, code: str) -> bool:
        return code in self.ingredients_of

    def contraindications_for(self, protocol: str) -> list[Rule]:
        """Patient-level contraindication rules (contra.*) that can apply to a protocol."""
        return [
            r for c, r in self.rules.items() if c.startswith("contra.") and r.applies_to(protocol)
        ]

    def dose_limits_for(self, protocol: str) -> list[Param]:
        """Per-session dose limits that bind the protocol's products (e.g. deoxycholic acid)."""
        proto = self.protocol(protocol)
        used: set[str] = set()
        for code in (*proto.products, *proto.mixtures):
            used |= self.ingredients_of[code]
        return [p for i in self.limited_ingredients if i.code in used for p in i.limits.values()]

    def tunable_parameters(self) -> list[dict[str, Any]]:
        """Every clinic-tunable parameter: id, value, unit, evidence, source, note, default.

        ``default`` is the value of the shipped data (before clinic overrides).
        """
        base = load_library()
        out = []
        for pid in sorted(self.params):
            p = self.params[pid]
            if p.tunable:
                row = p.as_dict()
                row["default"] = base.params[pid].value if pid in base.params else p.value
                out.append(row)
        return out

    def with_overrides(self, overrides: Mapping[str, float | int]) -> Library:
        """A new library with clinic-tuned P/G parameters (tighten or loosen).

        Raises :class:`OverrideError` naming the parameter when it is unknown, an L/S
        (label or standard) limit, a range, or the value is not a positive number.
        """
        if not overrides:
            return self
        raw = copy.deepcopy(dict(self._raw))
        for pid, value in overrides.items():
            param = self.params.get(pid)
            if param is None:
                raise OverrideError(pid, "unknown parameter")
            if param.evidence not in TUNABLE_EVIDENCE:
                raise OverrideError(
                    pid,
                    f"evidence {param.evidence} ({param.source}) is a label or standard limit "
                    "and cannot be tuned by a clinic",
                )
            if isinstance(param.value, tuple):
                raise OverrideError(pid, "is a descriptive range and cannot be tuned")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise OverrideError(pid, "must be a positive number")
            if isinstance(param.value, int) and float(value) != int(value):
                raise OverrideError(pid, "must be a whole number")
            if isinstance(param.value, int):
                value = int(value)
            filename, location = self._locations[pid]
            node: Any = raw[filename]
            for key in location:
                node = node[key]
            node["value"] = value
        return Library(raw)


def _must(param: Param | None) -> Param:
    assert param is not None
    return param


REQUIRED_RULES = (
    "consent.missing",
    "contra.pregnancy",
    "contra.minor",
    "contra.active_infection",
    "contra.allergy",
    "contra.bleeding_disorder",
    "contra.anticoagulant",
    "contra.isotretinoin",
    "contra.keloid",
    "contra.immune",
    "contra.hsv",
    "contra.bmi",
    "contra.bdd",
    "contra.dysphagia",
    "contra.prior_necrosis",
    "contra.pacemaker",
    "contra.pih_risk",
    "dose.volume_per_point",
    "dose.max_points",
    "dose.max_volume",
    "zone.off_label",
    "zone.forbidden",
    "needle.zone_length",
    "interval.too_short",
    "course.max_sessions",
    "lot.missing",
    "lot.expired",
    "topical.not_intradermal",
    "sterility.pack_not_released",
    "sterility.pack_expired",
)
PARAM_REQUIREMENTS = (
    ("contra.minor", "min_age_years"),
    ("contra.isotretinoin", "window_months"),
    ("contra.bmi", "bmi_min"),
    ("contra.pih_risk", "fitzpatrick_min"),
)


def read_raw(data_dir: Path = DATA_DIR) -> dict[str, dict[str, Any]]:
    """Parse every data file; TOML syntax errors name the file."""
    raw: dict[str, dict[str, Any]] = {}
    for name in DATA_FILES:
        path = data_dir / name
        try:
            with path.open("rb") as fh:
                raw[name] = tomllib.load(fh)
        except FileNotFoundError:
            raise LibraryError(f"{name}: missing data file") from None
        except tomllib.TOMLDecodeError as exc:
            raise LibraryError(f"{name}: {exc}") from None
    return raw


def load_library_from(data_dir: Path) -> Library:
    """Load and validate a library from another directory (tests, clinic forks)."""
    return Library(read_raw(data_dir))


@functools.lru_cache(maxsize=1)
def load_library() -> Library:
    """The shipped library, loaded and validated once."""
    return Library(read_raw(DATA_DIR))


@functools.lru_cache(maxsize=64)
def _tuned(items: tuple[tuple[str, float | int], ...]) -> Library:
    return load_library().with_overrides(dict(items))


def tuned_library(overrides: Mapping[str, float | int]) -> Library:
    """The shipped library with clinic overrides, cached per distinct override set."""
    return _tuned(tuple(sorted(overrides.items())))
