"""Mesochart protocol library and safety engine (pure Python, no Django).

Public API::

    from mesochart.protocols import check_session, screen, plan_course, load_library

See docs/safety-engine.md.
"""

from .cli import (
    list_protocols_json,
    list_protocols_text,
    plan_course_text,
    run_check_session,
    show_protocol_text,
    tunable_parameters_json,
)
from .course import CoursePlan, FollowUp, PlannedSession, plan_course
from .engine import ENGINE_VERSION, Settings, age_on, check_session, resolve_library, screen
from .library import (
    Library,
    LibraryError,
    OverrideError,
    Param,
    load_library,
    load_library_from,
    tuned_library,
)
from .models import (
    Finding,
    HistoryEntry,
    InvalidInput,
    Patient,
    Result,
    Session,
    parse_patient,
    parse_session,
)

engine_version = ENGINE_VERSION


def tunable_parameters(library: Library | None = None) -> list[dict[str, object]]:
    """Clinic-tunable (P/G) parameters with current value, default, evidence and source."""
    return (library or load_library()).tunable_parameters()


__all__ = [
    "ENGINE_VERSION",
    "CoursePlan",
    "Finding",
    "FollowUp",
    "HistoryEntry",
    "InvalidInput",
    "Library",
    "LibraryError",
    "OverrideError",
    "Param",
    "Patient",
    "PlannedSession",
    "Result",
    "Session",
    "Settings",
    "age_on",
    "check_session",
    "engine_version",
    "list_protocols_json",
    "list_protocols_text",
    "load_library",
    "load_library_from",
    "parse_patient",
    "parse_session",
    "plan_course",
    "plan_course_text",
    "resolve_library",
    "run_check_session",
    "screen",
    "show_protocol_text",
    "tunable_parameters",
    "tunable_parameters_json",
    "tuned_library",
]
