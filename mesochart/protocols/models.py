"""Input and output records of the engine, and the JSON-boundary validator.

Records are frozen, slotted dataclasses (cheap to build, hashable where useful). JSON input
is validated once by :func:`parse_session`; the engine itself trusts these records. Every
validation error is an :class:`InvalidInput` carrying the JSON path of the bad field, e.g.
``injections[2].volume_ml: must be a positive number``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .library import Library

SEVERITY_RANK = {"ok": 0, "info": 0, "warn": 1, "block": 2}


def _json(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Contract JSON of one record: dates as ISO strings, tuples as lists, absent
    (None) fields left out."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, _Record):
            value = value.as_dict()
        elif isinstance(value, tuple | frozenset):
            value = [v.as_dict() if hasattr(v, "as_dict") else v for v in value]
        out[key] = value
    return out


class _Record:
    """An input record that writes itself back as contract JSON."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        """This record as the check-session contract's JSON (``parse_session`` reads it back)."""
        return _json({f.name: getattr(self, f.name) for f in fields(self)})  # type: ignore[arg-type]


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidInput(ValueError):
    """Input that is not valid; ``field`` is the JSON path, ``message`` the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


@dataclass(frozen=True, slots=True)
class Patient(_Record):
    birth_date: date
    sex: str | None = None
    pregnant: bool = False
    breastfeeding: bool = False
    bmi: float | None = None
    fitzpatrick: int | None = None
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()
    isotretinoin_last_dose: date | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry(_Record):
    date: date
    protocol: str
    zones: tuple[str, ...] = ()
    adverse_events: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Component(_Record):
    product: str
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class Injection(_Record):
    zone: str
    product: str
    lot: str | None = None
    expiry: date | None = None
    technique: str | None = None
    points: int = 1
    volume_ml: float | None = None
    depth_mm: float | None = None
    needle_gauge: int | None = None
    needle_length_mm: float | None = None
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class Topical(_Record):
    product: str
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class Microneedling(_Record):
    zone: str
    device: str | None = None
    needle_length_mm: float | None = None
    passes: int | None = None
    device_lot: str | None = None
    topicals: tuple[Topical, ...] = ()


@dataclass(frozen=True, slots=True)
class Energy(_Record):
    """An energy-device or needle-free pass over a zone (contract 1.1 ``energy[]``).

    ``settings`` are recorded, not judged (pairs of name and number). ``topicals`` (an
    extension of this engine) are what was delivered through the treated skin."""

    zone: str
    modality: str
    device: str | None = None
    passes: int | None = None
    test_spot: bool = False
    settings: tuple[tuple[str, float], ...] = ()
    topicals: tuple[Topical, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = _Record.as_dict(self)
        if self.settings:
            data["settings"] = dict(self.settings)
        else:
            data.pop("settings", None)
        if not self.test_spot:
            data.pop("test_spot", None)
        return data


@dataclass(frozen=True, slots=True)
class Vial(_Record):
    """A container a product was drawn from (contract 1.1 ``vials[]``)."""

    product: str
    lot: str | None = None
    expiry: date | None = None
    multi_dose: bool = False
    opened: date | None = None


@dataclass(frozen=True, slots=True)
class InstrumentPack(_Record):
    status: str
    id: str | None = None
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class Session(_Record):
    date: date
    protocol: str
    patient: Patient
    consents: frozenset[str] = frozenset()
    history: tuple[HistoryEntry, ...] = ()
    injections: tuple[Injection, ...] = ()
    microneedling: tuple[Microneedling, ...] = ()
    instrument_packs: tuple[InstrumentPack, ...] = ()
    energy: tuple[Energy, ...] = ()
    vials: tuple[Vial, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The session as the check-session contract's JSON (``parse_session`` reads it
        back into an equal :class:`Session`)."""
        data = _Record.as_dict(self)
        data["consents"] = sorted(self.consents)
        return data


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule outcome. ``overridable``: a prescriber may override it (never an L/S block)."""

    code: str
    severity: str
    message: str
    evidence: str
    source: str
    where: str
    overridable: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "evidence": self.evidence,
            "source": self.source,
            "where": self.where,
            "overridable": self.overridable,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """Verdict (``ok`` | ``warn`` | ``block``) = the most severe finding; info leaves ok."""

    verdict: str
    protocol: str
    engine_version: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "protocol": self.protocol,
            "engine_version": self.engine_version,
            "findings": [f.as_dict() for f in self.findings],
        }

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "block" else 0


# --------------------------------------------------------------------------- validation


def _obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(path, "must be an object")
    return value


def _list(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(_join(path, key), "must be a list")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# The field path is built only on error: these run for every field of every session.
def _date(data: Mapping[str, Any], key: str, path: str, required: bool = False) -> date | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(_join(path, key), "is required")
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise InvalidInput(_join(path, key), "must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_join(path, key), "must be a valid calendar date (YYYY-MM-DD)") from None


def _text(data: Mapping[str, Any], key: str, path: str, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(_join(path, key), "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_join(path, key), "must be a non-empty string")
    return value


def _code(
    data: Mapping[str, Any], key: str, path: str, known: Any, kind: str, required: bool = False
) -> str | None:
    value = _text(data, key, path, required)
    if value is not None and value not in known:
        raise InvalidInput(_join(path, key), f"unknown {kind} {value!r}")
    return value


def _codes(data: Mapping[str, Any], key: str, path: str, known: Any, kind: str) -> tuple[str, ...]:
    out = []
    for i, v in enumerate(_list(data, key, path)):
        where = f"{_join(path, key)}[{i}]"
        if not isinstance(v, str):
            raise InvalidInput(where, "must be a string")
        if v not in known:
            raise InvalidInput(where, f"unknown {kind} {v!r}")
        out.append(v)
    return tuple(out)


def _bool(data: Mapping[str, Any], key: str, path: str) -> bool:
    value = data.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(_join(path, key), "must be true or false")
    return value


def _number(
    data: Mapping[str, Any], key: str, path: str, *, allow_zero: bool = False
) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(_join(path, key), "must be a positive number")
    if value < 0 or (value == 0 and not allow_zero) or value == float("inf"):
        raise InvalidInput(_join(path, key), "must be a positive number")
    return float(value)


def _integer(
    data: Mapping[str, Any], key: str, path: str, lo: int = 1, hi: int | None = None
) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)
    if not ok or value < lo or (hi is not None and value > hi):
        rng = f"a whole number from {lo} to {hi}" if hi is not None else "a positive whole number"
        raise InvalidInput(_join(path, key), f"must be {rng}")
    return int(value)


def _lot(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_join(path, key), "must be a string")
    return value.strip() or None


# Keys each object may hold (contract 1.1: an unknown key is invalid input, so that a newer
# input never looks safe to an engine that would ignore what it does not know).
_KEYS_TOP = frozenset(
    {
        "date",
        "protocol",
        "patient",
        "consents",
        "history",
        "injections",
        "microneedling",
        "instrument_packs",
        "energy",
        "vials",
    }
)
_KEYS_PATIENT = frozenset(f.name for f in fields(Patient))
_KEYS_HISTORY = frozenset(f.name for f in fields(HistoryEntry))
_KEYS_INJECTION = frozenset(f.name for f in fields(Injection))
_KEYS_COMPONENT = frozenset(f.name for f in fields(Component))
_KEYS_TOPICAL = frozenset(f.name for f in fields(Topical))
_KEYS_MICRONEEDLING = frozenset(f.name for f in fields(Microneedling))
_KEYS_PACK = frozenset(f.name for f in fields(InstrumentPack))
_KEYS_ENERGY = frozenset(f.name for f in fields(Energy))
_KEYS_VIAL = frozenset(f.name for f in fields(Vial))


def _known_keys(data: Mapping[str, Any], path: str, known: frozenset[str]) -> None:
    for key in data:
        if key not in known:
            where = _join("" if path == "$" else path, str(key))
            raise InvalidInput(where, "unknown field (this engine does not know it)")


def _settings(data: Mapping[str, Any], path: str) -> tuple[tuple[str, float], ...]:
    value = data.get("settings")
    if value is None:
        return ()
    where = _join(path, "settings")
    if not isinstance(value, dict):
        raise InvalidInput(where, "must be an object of numbers")
    out = []
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number != number:
            raise InvalidInput(f"{where}.{key}", "must be a number")
        if number in (float("inf"), float("-inf")):
            raise InvalidInput(f"{where}.{key}", "must be a finite number")
        out.append((str(key), float(number)))
    return tuple(out)


def _topicals(d: Mapping[str, Any], path: str, lib: Library) -> tuple[Topical, ...]:
    topicals = []
    for j, traw in enumerate(_list(d, "topicals", path)):
        tpath = f"{path}.topicals[{j}]"
        t = _obj(traw, tpath)
        _known_keys(t, tpath, _KEYS_TOPICAL)
        tprod = _code(t, "product", tpath, lib.ingredients_of, "product", required=True)
        assert tprod is not None
        topicals.append(
            Topical(product=tprod, lot=_lot(t, "lot", tpath), expiry=_date(t, "expiry", tpath))
        )
    return tuple(topicals)


def parse_session(data: Any, library: Library) -> Session:
    """Validate a decoded JSON object into a :class:`Session` (raises InvalidInput)."""
    lib = library
    top = _obj(data, "$")
    _known_keys(top, "$", _KEYS_TOP)
    session_date = _date(top, "date", "", required=True)
    protocol = _code(top, "protocol", "", lib.protocols, "protocol", required=True)
    if "patient" not in top or top["patient"] is None:
        raise InvalidInput("patient.birth_date", "is required")
    p = _obj(top["patient"], "patient")
    _known_keys(p, "patient", _KEYS_PATIENT)
    voc = lib.vocabulary
    birth = _date(p, "birth_date", "patient", required=True)
    assert session_date is not None and protocol is not None and birth is not None
    if birth > session_date:
        raise InvalidInput("patient.birth_date", "must not be after the session date")
    patient = Patient(
        birth_date=birth,
        sex=_code(p, "sex", "patient", voc.sexes, "sex"),
        pregnant=_bool(p, "pregnant", "patient"),
        breastfeeding=_bool(p, "breastfeeding", "patient"),
        bmi=_number(p, "bmi", "patient"),
        fitzpatrick=_integer(p, "fitzpatrick", "patient", 1, 6),
        conditions=_codes(p, "conditions", "patient", voc.conditions, "condition"),
        medications=_codes(p, "medications", "patient", voc.medications, "medication"),
        allergies=_codes(p, "allergies", "patient", lib.ingredients, "allergy (ingredient)"),
        isotretinoin_last_dose=_date(p, "isotretinoin_last_dose", "patient"),
    )
    consents = []
    for i, c in enumerate(_list(top, "consents", "")):
        if not isinstance(c, str) or not c.strip():
            raise InvalidInput(f"consents[{i}]", "must be a non-empty string")
        consents.append(c)

    history = []
    for i, raw in enumerate(_list(top, "history", "")):
        path = f"history[{i}]"
        h = _obj(raw, path)
        _known_keys(h, path, _KEYS_HISTORY)
        hdate = _date(h, "date", path, required=True)
        hprot = _code(h, "protocol", path, lib.protocols, "protocol", required=True)
        assert hdate is not None and hprot is not None
        if hdate > session_date:
            raise InvalidInput(
                f"{path}.date", "must not be after the session date (history is earlier sessions)"
            )
        history.append(
            HistoryEntry(
                date=hdate,
                protocol=hprot,
                zones=_codes(h, "zones", path, lib.zones, "zone"),
                adverse_events=_codes(
                    h, "adverse_events", path, voc.adverse_events, "adverse event"
                ),
                products=_codes(h, "products", path, lib.ingredients_of, "product"),
                modalities=_codes(h, "modalities", path, voc.energy_modalities, "modality"),
            )
        )

    injections = []
    for i, raw in enumerate(_list(top, "injections", "")):
        path = f"injections[{i}]"
        d = _obj(raw, path)
        _known_keys(d, path, _KEYS_INJECTION)
        zone = _code(d, "zone", path, lib.zones, "zone", required=True)
        product = _code(d, "product", path, lib.ingredients_of, "product", required=True)
        assert zone is not None and product is not None
        if d.get("volume_ml") is None:
            # 1.1: a dose rule cannot be skipped by leaving the volume out.
            raise InvalidInput(f"{path}.volume_ml", "is required (mL per point)")
        components = []
        for j, craw in enumerate(_list(d, "components", path)):
            cpath = f"{path}.components[{j}]"
            c = _obj(craw, cpath)
            _known_keys(c, cpath, _KEYS_COMPONENT)
            cprod = _code(c, "product", cpath, lib.products, "product", required=True)
            assert cprod is not None
            components.append(
                Component(
                    product=cprod, lot=_lot(c, "lot", cpath), expiry=_date(c, "expiry", cpath)
                )
            )
        injections.append(
            Injection(
                zone=zone,
                product=product,
                lot=_lot(d, "lot", path),
                expiry=_date(d, "expiry", path),
                technique=_code(d, "technique", path, lib.injection_techniques, "technique"),
                points=_integer(d, "points", path) or 1,
                volume_ml=_number(d, "volume_ml", path),
                depth_mm=_number(d, "depth_mm", path),
                needle_gauge=_integer(d, "needle_gauge", path, 10, 40),
                needle_length_mm=_number(d, "needle_length_mm", path),
                components=tuple(components),
            )
        )

    microneedling = []
    for i, raw in enumerate(_list(top, "microneedling", "")):
        path = f"microneedling[{i}]"
        d = _obj(raw, path)
        _known_keys(d, path, _KEYS_MICRONEEDLING)
        zone = _code(d, "zone", path, lib.zones, "zone", required=True)
        assert zone is not None
        topicals = _topicals(d, path, lib)
        microneedling.append(
            Microneedling(
                zone=zone,
                device=_code(d, "device", path, lib.device_technique, "device (technique)"),
                needle_length_mm=_number(d, "needle_length_mm", path),
                passes=_integer(d, "passes", path),
                device_lot=_lot(d, "device_lot", path),
                topicals=topicals,
            )
        )

    packs = []
    for i, raw in enumerate(_list(top, "instrument_packs", "")):
        path = f"instrument_packs[{i}]"
        d = _obj(raw, path)
        _known_keys(d, path, _KEYS_PACK)
        status = _code(d, "status", path, voc.pack_statuses, "pack status", required=True)
        assert status is not None
        pid = d.get("id")
        if pid is not None and not isinstance(pid, str | int):
            raise InvalidInput(f"{path}.id", "must be a string")
        packs.append(
            InstrumentPack(
                status=status,
                id=None if pid is None else str(pid),
                expires=_date(d, "expires", path),
            )
        )

    energy = []
    for i, raw in enumerate(_list(top, "energy", "")):
        path = f"energy[{i}]"
        d = _obj(raw, path)
        _known_keys(d, path, _KEYS_ENERGY)
        zone = _code(d, "zone", path, lib.zones, "zone", required=True)
        modality = _code(d, "modality", path, voc.energy_modalities, "modality", required=True)
        assert zone is not None and modality is not None
        energy.append(
            Energy(
                zone=zone,
                modality=modality,
                device=_text(d, "device", path),
                passes=_integer(d, "passes", path),
                test_spot=_bool(d, "test_spot", path),
                settings=_settings(d, path),
                topicals=_topicals(d, path, lib),
            )
        )

    vials = []
    for i, raw in enumerate(_list(top, "vials", "")):
        path = f"vials[{i}]"
        d = _obj(raw, path)
        _known_keys(d, path, _KEYS_VIAL)
        product = _code(d, "product", path, lib.ingredients_of, "product", required=True)
        assert product is not None
        multi_dose = _bool(d, "multi_dose", path)
        opened = _date(d, "opened", path, required=multi_dose)
        if opened is not None and opened > session_date:
            raise InvalidInput(f"{path}.opened", "must not be after the session date")
        vials.append(
            Vial(
                product=product,
                lot=_lot(d, "lot", path),
                expiry=_date(d, "expiry", path),
                multi_dose=multi_dose,
                opened=opened,
            )
        )

    return Session(
        date=session_date,
        protocol=protocol,
        patient=patient,
        consents=frozenset(consents),
        history=tuple(history),
        injections=tuple(injections),
        microneedling=tuple(microneedling),
        instrument_packs=tuple(packs),
        energy=tuple(energy),
        vials=tuple(vials),
    )


def parse_patient(data: Any, library: Library) -> Patient:
    """Validate a patient object alone (paths start with ``patient.``)."""
    session = parse_session(
        {"date": "9999-12-31", "protocol": next(iter(library.protocols)), "patient": data},
        library,
    )
    return session.patient
