"""Clinic reports: outcome deltas and adverse-event rates by protocol, product lot and
practitioner, as tables (CSV-exportable) with a bar chart each. See docs/outcomes.md.

Everything is limited to one clinic. Rates are adverse events per 100 signed sessions:
an event counts for the protocol and practitioner (``signed_by``) of its linked session,
and for each lot it is linked to; the denominator of a lot is the number of signed
sessions whose chart entries used it (as product or topical lot).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mesochart.accounts.models import Clinic, User
from mesochart.care.models import ChartEntry, SessionStatus, TreatmentSession
from mesochart.core.csvfile import csv_text
from mesochart.stock.models import Lot

from . import scales
from .models import AdverseEvent, OutcomeScore, TimePoint

NO_SESSION = "(no linked session)"


@dataclass
class Table:
    slug: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    chart_label: int = 0  # column index of the bar label
    chart_value: int | None = None  # column index of the bar value (None: no chart)
    unit: str = ""
    note: str = ""

    def bars(self) -> list[tuple[str, float]]:
        if self.chart_value is None:
            return []
        out = []
        for row in self.rows:
            value = row[self.chart_value]
            if isinstance(value, int | float):
                label = " · ".join(str(row[i]) for i in range(self.chart_label + 1) if row[i])
                out.append((label, float(value)))
        return out


def _rate(events: int, sessions: int) -> float | None:
    return round(100.0 * events / sessions, 1) if sessions else None


def _user_label(user: User | None) -> str:
    return user.display_name if user is not None else "(not signed)"


def _signed_sessions(clinic: Clinic) -> list[TreatmentSession]:
    return list(
        TreatmentSession.objects.filter(clinic=clinic, status=SessionStatus.SIGNED).select_related(
            "signed_by"
        )
    )


def _lots_by_session(session_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    rows = ChartEntry.objects.filter(session_id__in=list(session_ids)).values_list(
        "session_id", "lot_id", "topical_lot_id"
    )
    for sid, lot_id, topical_id in rows:
        out[sid].update(i for i in (lot_id, topical_id) if i is not None)
    return out


def adverse_event_tables(clinic: Clinic) -> list[Table]:
    sessions = _signed_sessions(clinic)
    by_id = {s.pk: s for s in sessions}
    lots_used = _lots_by_session(by_id)
    events = list(
        AdverseEvent.objects.filter(clinic=clinic)
        .select_related("session__signed_by")
        .prefetch_related("lots")
    )

    proto_sessions: dict[str, int] = defaultdict(int)
    user_sessions: dict[str, int] = defaultdict(int)
    lot_sessions: dict[uuid.UUID, int] = defaultdict(int)
    for s in sessions:
        proto_sessions[s.protocol] += 1
        user_sessions[_user_label(s.signed_by)] += 1
        for lot_id in lots_used.get(s.pk, ()):
            lot_sessions[lot_id] += 1
    proto_events: dict[str, int] = defaultdict(int)
    user_events: dict[str, int] = defaultdict(int)
    lot_events: dict[uuid.UUID, int] = defaultdict(int)
    lots: dict[uuid.UUID, Lot] = {}
    for e in events:
        if e.session is None:
            proto_events[NO_SESSION] += 1
            user_events[NO_SESSION] += 1
        else:
            proto_events[e.session.protocol] += 1
            user_events[_user_label(e.session.signed_by)] += 1
        for lot in e.lots.all():
            lot_events[lot.pk] += 1
            lots[lot.pk] = lot
    for lot in Lot.objects.filter(clinic=clinic, pk__in=[k for k in lot_sessions if k not in lots]):
        lots[lot.pk] = lot

    columns = ["signed sessions", "adverse events", "per 100 sessions"]
    by_protocol = Table(
        "ae-by-protocol",
        "Adverse events by protocol",
        ["protocol", *columns],
        chart_value=3,
        unit="/100",
    )
    for key in sorted(set(proto_sessions) | set(proto_events)):
        n, k = proto_sessions.get(key, 0), proto_events.get(key, 0)
        by_protocol.rows.append([key, n, k, _rate(k, n)])
    by_user = Table(
        "ae-by-practitioner",
        "Adverse events by practitioner (who signed the session)",
        ["practitioner", *columns],
        chart_value=3,
        unit="/100",
    )
    for key in sorted(set(user_sessions) | set(user_events)):
        n, k = user_sessions.get(key, 0), user_events.get(key, 0)
        by_user.rows.append([key, n, k, _rate(k, n)])
    by_lot = Table(
        "ae-by-lot",
        "Adverse events by product lot",
        ["product", "lot", *columns],
        chart_label=1,
        chart_value=4,
        unit="/100",
    )
    for lot_id in sorted(lots, key=lambda i: (lots[i].product, lots[i].lot_number)):
        n, k = lot_sessions.get(lot_id, 0), lot_events.get(lot_id, 0)
        by_lot.rows.append([lots[lot_id].product, lots[lot_id].lot_number, n, k, _rate(k, n)])
    return [by_protocol, by_lot, by_user]


@dataclass
class _Series:
    first: OutcomeScore
    last: OutcomeScore


def _series(clinic: Clinic) -> list[_Series]:
    """Per (patient, scale, protocol): the first and the last score. For status scales the
    first is the baseline when one was recorded, else the earliest score."""
    groups: dict[tuple[uuid.UUID, str, str], list[OutcomeScore]] = defaultdict(list)
    scores = (
        OutcomeScore.objects.filter(clinic=clinic)
        .select_related("session__signed_by")
        .order_by("assessed_on", "recorded_at")
    )
    for score in scores:
        groups[(score.patient_id, score.scale, score.protocol)].append(score)
    out = []
    for items in groups.values():
        baseline = [s for s in items if s.timepoint == TimePoint.BASELINE]
        out.append(_Series(baseline[0] if baseline else items[0], items[-1]))
    return out


def _outcome_rows(groups: dict[tuple[str, ...], list[_Series]]) -> list[list[Any]]:
    rows = []
    for key in sorted(groups):
        items = groups[key]
        sc = scales.SCALES.get(key[-1])
        if sc is None:
            continue
        lasts = [s.last.value for s in items]
        row: list[Any] = [*key[:-1], sc.name, sc.direction.replace("_", " "), len(items)]
        mean_last = round(sum(lasts) / len(lasts), 2)
        if sc.kind == scales.STATUS:
            pairs = [s for s in items if s.first.pk != s.last.pk]
            firsts = [s.first.value for s in pairs]
            changes = [sc.improvement(s.first.value, s.last.value) for s in pairs]
            row += [
                round(sum(firsts) / len(firsts), 2) if firsts else None,
                mean_last,
                round(sum(changes) / len(changes), 2) if changes else None,
                sum(1 for c in changes if c >= 1) if changes else None,
            ]
        else:
            row += [None, mean_last, None, None]
        rows.append(row)
    return rows


OUTCOME_COLUMNS = [
    "scale",
    "direction",
    "patients",
    "mean baseline",
    "mean last",
    "mean improvement",
    "responders (>= 1 grade better)",
]
OUTCOME_NOTE = (
    "Status scales (CR-SMFRS, PR-SMFRS): improvement = baseline minus last, positive when "
    "better; responders as in reference §7.4 (CR-1/PR-1). Judgment scales (GAIS, "
    "satisfaction) are rated against the start: the mean last rating is shown."
)


def outcome_tables(clinic: Clinic) -> list[Table]:
    series = _series(clinic)
    lots_used = _lots_by_session(s.last.session_id for s in series if s.last.session_id)
    lot_ids = {lot_id for ids in lots_used.values() for lot_id in ids}
    lots = {lot.pk: lot for lot in Lot.objects.filter(clinic=clinic, pk__in=lot_ids)}
    by_protocol: dict[tuple[str, ...], list[_Series]] = defaultdict(list)
    by_lot: dict[tuple[str, ...], list[_Series]] = defaultdict(list)
    by_user: dict[tuple[str, ...], list[_Series]] = defaultdict(list)
    for s in series:
        by_protocol[(s.last.protocol or "(no protocol)", s.last.scale)].append(s)
        session = s.last.session
        by_user[(_user_label(session.signed_by) if session else NO_SESSION, s.last.scale)].append(s)
        for lot_id in lots_used.get(s.last.session_id, ()) if s.last.session_id else ():
            lot = lots.get(lot_id)
            if lot is not None:
                by_lot[(lot.product, lot.lot_number, s.last.scale)].append(s)
    tables = [
        Table(
            "outcomes-by-protocol",
            "Outcome scores by protocol",
            ["protocol", *OUTCOME_COLUMNS],
            _outcome_rows(by_protocol),
            chart_label=1,
            chart_value=5,
            note=OUTCOME_NOTE,
        ),
        Table(
            "outcomes-by-lot",
            "Outcome scores by product lot (lots of the last score's session)",
            ["product", "lot", *OUTCOME_COLUMNS],
            _outcome_rows(by_lot),
            chart_label=2,
            chart_value=6,
            note=OUTCOME_NOTE,
        ),
        Table(
            "outcomes-by-practitioner",
            "Outcome scores by practitioner (who signed the last score's session)",
            ["practitioner", *OUTCOME_COLUMNS],
            _outcome_rows(by_user),
            chart_label=1,
            chart_value=5,
            note=OUTCOME_NOTE,
        ),
    ]
    return tables


def all_tables(clinic: Clinic) -> list[Table]:
    return outcome_tables(clinic) + adverse_event_tables(clinic)


def table_by_slug(clinic: Clinic, slug: str) -> Table | None:
    return next((t for t in all_tables(clinic) if t.slug == slug), None)


def to_csv(table: Table) -> str:
    return csv_text(table.columns, table.rows)
