"""Pure command-line helpers (no I/O, no Django): the management commands wrap these.

- ``run_check_session(text)`` -> ``(exit_code, stdout_json, stderr_sentence)`` per the
  check-session contract: 0 ok/warn, 1 block, 2 invalid input.
- ``list_protocols_text()`` / ``list_protocols_json()`` / ``show_protocol_text(id)``.
- ``plan_course_text(protocol, start, history_dates)``.
- ``tunable_parameters_json()`` for clinic settings screens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from .course import plan_course
from .engine import Settings, check_session, resolve_library
from .library import Library, LibraryError, OverrideError
from .models import InvalidInput, parse_session


def _invalid(exc: InvalidInput) -> tuple[int, str, str]:
    return 2, json.dumps(exc.as_dict(), ensure_ascii=False), f"{exc.field}: {exc.message}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def run_check_session(
    text: str,
    overrides: Mapping[str, float | int] | None = None,
    library: Library | None = None,
) -> tuple[int, str, str]:
    """Check one session given as JSON text (the contents of FILE or standard input).

    Returns ``(exit_code, stdout, stderr)``: stdout is exactly one JSON object. Exit 0 when
    the verdict is ok or warn, 1 when it is block, 2 when the input is not valid; then stdout
    is ``{"error": "...", "field": "<json path>"}`` and stderr the same as a sentence, e.g.
    ``injections[2].volume_ml: must be a positive number``. ``overrides`` are clinic settings
    (tunable parameter id -> value); a bad override is reported with exit 2 and field
    ``settings.<id>``.
    """
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return _invalid(InvalidInput("$", f"not valid JSON ({exc})"))
    try:
        lib = resolve_library(library, Settings(dict(overrides)) if overrides else None)
    except OverrideError as exc:
        return _invalid(InvalidInput(f"settings.{exc.param_id}", str(exc).split(": ", 1)[1]))
    try:
        session = parse_session(data, lib)
    except InvalidInput as exc:
        return _invalid(exc)
    result = check_session(session, library=lib)
    return result.exit_code, json.dumps(result.as_dict(), ensure_ascii=False), ""


def list_protocols_json(library: Library | None = None) -> str:
    """All protocols as a JSON array of {id, name, label_status, products, techniques,
    zones, sessions, min_interval_days, typical_interval_days, max_sessions}."""
    lib = resolve_library(library)
    rows = []
    for code, p in lib.protocols.items():
        c = p.course
        rows.append(
            {
                "id": code,
                "name": p.name,
                "label_status": p.label_status,
                "low_evidence": p.low_evidence,
                "products": list(p.products) + list(p.mixtures),
                "techniques": list(p.techniques),
                "zones": list(p.zones),
                "sessions": c.sessions.value,
                "min_interval_days": c.min_interval_days.value,
                "typical_interval_days": c.typical_interval_days.value,
                "max_sessions": c.max_sessions.value if c.max_sessions else None,
            }
        )
    return json.dumps(rows, ensure_ascii=False, indent=2)


def list_protocols_text(library: Library | None = None) -> str:
    """One line per protocol: id, name, label status, sessions and intervals."""
    lib = resolve_library(library)
    width = max(len(c) for c in lib.protocols)
    lines = []
    for code, p in lib.protocols.items():
        c = p.course
        maxs = f", max {int(c.max_sessions.number)}" if c.max_sessions else ""
        flag = " [low evidence]" if p.low_evidence else ""
        lines.append(
            f"{code:<{width}}  {p.name} ({p.label_status}{flag}); "
            f"{int(c.sessions.number)} sessions{maxs}, every "
            f"{int(c.typical_interval_days.number)} days (min {int(c.min_interval_days.number)})"
        )
    return "\n".join(lines) + "\n"


def _param_line(label: str, p: Any) -> str:
    value = "-".join(f"{v:g}" for v in p.value) if isinstance(p.value, tuple) else f"{p.value:g}"
    note = f"\n      note: {p.note}" if p.note else ""
    return f"  {label}: {value} {p.unit} [{p.evidence}] {p.source}{note}"


def show_protocol_text(protocol_id: str, library: Library | None = None) -> str:
    """Everything about one protocol, every number with its evidence and source.

    Raises ``KeyError("unknown protocol 'x'")`` for an unknown id (the command prints it and
    exits 2).
    """
    lib = resolve_library(library)
    p = lib.protocol(protocol_id)
    out = [f"{p.code}: {p.name}", f"  label status: {p.label_status}"]
    if p.evidence_note:
        out.append(f"  evidence: {p.evidence_note}")
    out += [
        f"  target layer: {p.target_layer}",
        f"  products: {', '.join((*p.products, *p.mixtures))}",
        f"  techniques: {', '.join(p.techniques)}",
    ]
    modalities = sorted(lib.protocol_modalities[p.code])
    if modalities:
        out.append(f"  energy modalities: {', '.join(modalities)}")
    out += [f"  zones: {', '.join(p.zones)}", "course:"]
    c = p.course
    for label, param in (
        ("sessions", c.sessions),
        ("max sessions", c.max_sessions),
        ("minimum interval", c.min_interval_days),
        ("typical interval", c.typical_interval_days),
        ("maintenance", c.maintenance_interval_days),
    ):
        if param is not None:
            out.append(_param_line(label, param))
    out.append("timeline:")
    out.append(_param_line("first result judgment", p.timeline.first_assessment_days))
    out.append(
        _param_line("final result judgment after last session", p.timeline.final_assessment_days)
    )
    for zone, params in p.zone_parameters.items():
        out.append(f"parameters ({zone}):")
        for key, param in params.items():
            out.append(_param_line(key, param))
    ings = {i for code in (*p.products, *p.mixtures) for i in lib.ingredients_of[code]}
    for ing in lib.limited_ingredients:
        if ing.code in ings and ing.limits:
            out.append(f"dose limits ({ing.name}):")
            for key, param in ing.limits.items():
                out.append(_param_line(key, param))
    out.append("contraindications and cautions:")
    for rule in lib.contraindications_for(p.code):
        out.append(f"  {rule.code} ({rule.severity}, {rule.evidence}): {rule.source}")
    # Contract 1.1: rules that follow what is charted rather than the protocol's name.
    out.append("energy passes and vials (any protocol):")
    for code in ("contra.pacemaker", "contra.isotretinoin", "contra.pih_risk"):
        rule = lib.rules[code]
        blocking = rule.extra.get("block_modalities")
        charted = blocking or rule.extra.get("modalities") or ()
        severity, evidence = (
            ("block", rule.extra.get("block_evidence", rule.evidence))
            if blocking
            else (rule.severity, rule.evidence)
        )
        if charted:
            out.append(f"  {code} ({severity}, {evidence}) with {', '.join(charted)}")
    for code in ("energy.recent_treatment", "vial.beyond_use"):
        rule = lib.rules[code]
        out.append(f"  {rule.code} ({rule.severity}, {rule.evidence}): {rule.source}")
        for key, param in rule.params.items():
            out.append("  " + _param_line(key, param))
    template = lib.aftercare[p.aftercare]
    out.append(f"aftercare ({template.code}):")
    for key, param in template.items.items():
        out.append(_param_line(key, param))
    out.append(f"  red flags: {template.red_flags}")
    out.append("sources:")
    out += [f"  - {s}" for s in p.sources]
    return "\n".join(out) + "\n"


def _parse_date(text: str, name: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(name, "must be a date (YYYY-MM-DD)") from None


def plan_course_text(
    protocol: str,
    start: str,
    history_dates: Iterable[str] = (),
    library: Library | None = None,
) -> str:
    """Print a course plan. Inputs are argv strings: protocol id, start date (YYYY-MM-DD)
    and earlier session dates of the same protocol (YYYY-MM-DD each).

    Raises :class:`InvalidInput` (field ``protocol``, ``start`` or ``history[i]``) on bad
    input; the command prints ``field: message`` and exits 2.
    """
    lib = resolve_library(library)
    if protocol not in lib.protocols:
        raise InvalidInput("protocol", f"unknown protocol {protocol!r}")
    start_date = _parse_date(start, "start")
    dates = [_parse_date(d, f"history[{i}]") for i, d in enumerate(history_dates)]
    plan = plan_course(protocol, start_date, dates, library=lib)
    p = lib.protocols[protocol]
    out = [
        f"{protocol}: {p.name}",
        f"start {plan.start.isoformat()}; "
        f"{plan.sessions_done} earlier session(s); course of {plan.sessions_planned}",
    ]
    if plan.max_sessions is not None:
        out.append(f"sessions left: {plan.sessions_left} of {plan.max_sessions}")
    if plan.per_session_limits:
        out.append(
            "per-session limits: "
            + "; ".join(
                f"{p.id.rsplit('.', 1)[-1]} {p.number:g} {p.unit} [{p.evidence}]"
                for p in plan.per_session_limits
            )
        )
    out.append("schedule:")
    for s in plan.schedule:
        out.append(
            f"  session {s.number}: earliest {s.earliest.isoformat()}, "
            f"typical {s.typical.isoformat()}"
        )
    out.append("follow-ups:")
    for f in plan.follow_ups:
        out.append(
            f"  {f.due.isoformat()}  {f.kind} (after session {f.after_session}) [{f.evidence}]"
        )
    if plan.maintenance_after:
        out.append(f"maintenance from {plan.maintenance_after.isoformat()}")
    out += [f"note: {n}" for n in plan.notes]
    return "\n".join(out) + "\n"


def tunable_parameters_json(library: Library | None = None) -> str:
    """Clinic-tunable parameters as JSON (id, value, default, unit, evidence, source, note)."""
    return json.dumps(resolve_library(library).tunable_parameters(), ensure_ascii=False, indent=2)


__all__ = [
    "LibraryError",
    "list_protocols_json",
    "list_protocols_text",
    "plan_course_text",
    "run_check_session",
    "show_protocol_text",
    "tunable_parameters_json",
]
