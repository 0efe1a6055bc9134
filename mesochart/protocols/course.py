"""Course planning: dated sessions, dose budget and follow-ups for one protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .engine import Settings, resolve_library
from .library import Library, Param, Protocol
from .models import HistoryEntry


@dataclass(frozen=True, slots=True)
class PlannedSession:
    number: int  # 1-based position in the whole course (earlier sessions count)
    earliest: date  # by the minimum interval
    typical: date  # by the typical interval

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "earliest": self.earliest.isoformat(),
            "typical": self.typical.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: str  # early_check | first_assessment | final_assessment | infection_surveillance_end
    due: date
    after_session: int
    note: str
    evidence: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "due": self.due.isoformat(),
            "after_session": self.after_session,
            "note": self.note,
            "evidence": self.evidence,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class CoursePlan:
    protocol: str
    start: date
    sessions_done: int
    sessions_planned: int  # typical course length (at least one more if allowed)
    max_sessions: int | None
    sessions_left: int | None  # of max_sessions; None when the protocol has no maximum
    schedule: tuple[PlannedSession, ...]
    per_session_limits: tuple[Param, ...]
    follow_ups: tuple[FollowUp, ...]
    maintenance_after: date | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "start": self.start.isoformat(),
            "sessions_done": self.sessions_done,
            "sessions_planned": self.sessions_planned,
            "max_sessions": self.max_sessions,
            "sessions_left": self.sessions_left,
            "schedule": [s.as_dict() for s in self.schedule],
            "per_session_limits": [p.as_dict() for p in self.per_session_limits],
            "follow_ups": [f.as_dict() for f in self.follow_ups],
            "maintenance_after": self.maintenance_after.isoformat()
            if self.maintenance_after
            else None,
            "notes": list(self.notes),
        }


def _days(p: Param) -> timedelta:
    return timedelta(days=int(p.number))


def plan_course(
    protocol: str | Protocol,
    start: date,
    history: Iterable[HistoryEntry | date] | None = None,
    library: Library | None = None,
    settings: Settings | None = None,
) -> CoursePlan:
    """Plan the rest of a course from ``start``.

    ``history``: earlier sessions, as :class:`HistoryEntry` (only those of this protocol
    count) or bare dates (taken to be sessions of this protocol). Returns the dated
    schedule (earliest date by the minimum interval, typical date by the typical interval),
    the dose budget (sessions left of the maximum, per-session label limits), follow-ups
    (early check, first and final result assessment from the protocol's timeline, end of the
    infection-surveillance window after the last session) and the maintenance date.
    """
    lib = resolve_library(library, settings)
    proto = lib.protocol(protocol) if isinstance(protocol, str) else protocol
    dates = sorted(
        h if isinstance(h, date) else h.date
        for h in (history or ())
        if isinstance(h, date) or h.protocol == proto.code
    )
    dates = [d for d in dates if d <= start]
    done = len(dates)
    course = proto.course
    max_sessions = int(course.max_sessions.number) if course.max_sessions else None
    typical_total = int(course.sessions.number)
    planned = max(typical_total, done + 1)
    if max_sessions is not None:
        planned = min(planned, max_sessions)
    left = None if max_sessions is None else max(max_sessions - done, 0)
    notes: list[str] = []
    if max_sessions is not None and done >= max_sessions:
        notes.append(
            f"The course maximum of {max_sessions} sessions has been reached "
            f"({course.max_sessions.source if course.max_sessions else ''}); no further session."
        )
    if proto.low_evidence:
        notes.append(proto.evidence_note)

    min_gap, typ_gap = _days(course.min_interval_days), _days(course.typical_interval_days)
    earliest = max(start, dates[-1] + min_gap) if dates else start
    typical = max(start, dates[-1] + typ_gap) if dates else start
    schedule = []
    for n in range(done + 1, planned + 1):
        schedule.append(PlannedSession(n, earliest, typical))
        earliest, typical = earliest + min_gap, typical + typ_gap

    follow_ups: list[FollowUp] = []
    early = lib.followups["early_check_days"]
    for s in schedule:
        follow_ups.append(
            FollowUp(
                "early_check",
                s.typical + _days(early),
                s.number,
                early.note or "",
                early.evidence,
                early.source,
            )
        )
    tl = proto.timeline
    if schedule:
        first, last = schedule[0], schedule[-1]
        follow_ups.append(
            FollowUp(
                "first_assessment",
                first.typical + _days(tl.first_assessment_days),
                first.number,
                "Earliest meaningful result judgment (photos, scales); early change in the first "
                "days is mostly oedema and hydration.",
                tl.first_assessment_days.evidence,
                tl.first_assessment_days.source,
            )
        )
        follow_ups.append(
            FollowUp(
                "final_assessment",
                last.typical + _days(tl.final_assessment_days),
                last.number,
                "Final result judgment after the last session.",
                tl.final_assessment_days.evidence,
                tl.final_assessment_days.source,
            )
        )
        surv = lib.followups["infection_surveillance_days"]
        follow_ups.append(
            FollowUp(
                "infection_surveillance_end",
                last.typical + _days(surv),
                last.number,
                "End of the surveillance window for late nodules/abscesses (mycobacteria): "
                "ask about lumps and non-healing sites until this date.",
                surv.evidence,
                surv.source,
            )
        )
    follow_ups.sort(key=lambda f: (f.due, f.kind))

    limits = lib.dose_limits_for(proto.code)

    maintenance = None
    if course.maintenance_interval_days and schedule:
        maintenance = schedule[-1].typical + _days(course.maintenance_interval_days)

    return CoursePlan(
        protocol=proto.code,
        start=start,
        sessions_done=done,
        sessions_planned=planned,
        max_sessions=max_sessions,
        sessions_left=left,
        schedule=tuple(schedule),
        per_session_limits=tuple(limits),
        follow_ups=tuple(follow_ups),
        maintenance_after=maintenance,
        notes=tuple(notes),
    )
