"""Slot search: the free times for an appointment type, with one practitioner or any,
that honour working hours, absences, the appointments already booked (practitioner, room,
device) and, for a patient, the booking rules. Reads only, in a fixed number of queries
(whatever the range), then plain Python over sorted intervals.

``do_book`` checks a chosen slot again inside its transaction: a slot shown here can still
be taken by someone faster, and is then refused with a clear message.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import FloatField, Func
from django.utils import timezone

from mesochart.accounts.models import Clinic, Role, User
from mesochart.patients.models import Patient

from .models import HOLDING, Absence, Appointment, AppointmentType, Room, WorkingHours
from .rules import RuleFinding, policy_or_default, treatment_context
from .services import bookable_practitioners, clinic_zone, devices_for


class Slot(NamedTuple):
    starts_at: datetime
    ends_at: datetime
    practitioner: User
    room_id: uuid.UUID | None
    device_id: uuid.UUID | None
    warnings: tuple[RuleFinding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "practitioner": str(self.practitioner.pk),
            "room": str(self.room_id) if self.room_id else None,
            "device": str(self.device_id) if self.device_id else None,
            "warnings": [w.code for w in self.warnings],
        }


class _Busy:
    """Non-overlapping busy intervals of one resource (epoch seconds), sorted."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: list[tuple[float, float]]) -> None:
        intervals.sort()
        self.starts = [s for s, _e in intervals]
        self.ends = [e for _s, e in intervals]

    def clash(self, start: float, end: float) -> float | None:
        """The end of an interval overlapping ``[start, end)``, else ``None``."""
        i = bisect_left(self.starts, end)  # intervals starting before ``end``: [0, i)
        if i and self.ends[i - 1] > start:
            return self.ends[i - 1]
        return None


EMPTY = _Busy([])
TAKEN: Any = object()  # no free room (device) for the slot


def _raw(queryset: Any) -> list[tuple[Any, ...]]:
    """The rows of ``queryset`` as the database driver returns them, without Django's
    per-value converters (the month's appointments are thousands of rows: building a
    UUID and an aware datetime for each value was most of the search's time)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class Epoch(Func):
    """Seconds since 1970 (UTC) of a datetime column, computed by the database: the
    month's appointments are thousands of rows, and building an aware datetime for each
    in Python was most of the search's time."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores SQLite datetimes as UTC text; julianday keeps the fraction.
        template = "round((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
        return self.as_sql(compiler, connection, template=template, **extra)


def _key(value: Any) -> str:
    return value if isinstance(value, str) else value.hex  # SQLite stores UUIDs as hex


def find_slots(
    clinic: Clinic,
    appt_type: AppointmentType,
    *,
    start: date,
    days: int = 31,
    practitioner: User | None = None,
    patient: Patient | None = None,
    limit: int | None = None,
    not_before: datetime | None = None,
) -> list[Slot]:
    """Free slots from ``start`` over ``days`` days (the clinic's local days), earliest
    first, at most ``limit``. Never before ``not_before`` (default: now)."""
    policy = policy_or_default(clinic)
    zone = clinic_zone(clinic)
    step = policy.slot_step_minutes * 60
    duration = appt_type.duration_minutes * 60
    floor = (not_before or timezone.now()).timestamp()

    people = bookable_practitioners(clinic)
    if appt_type.prescriber_only:
        people = people.filter(memberships__clinic=clinic, memberships__role=Role.PRESCRIBER)
    if practitioner is not None:
        people = people.filter(pk=practitioner.pk)
    by_id = {p.pk: p for p in people}
    hours: dict[tuple[uuid.UUID, int], list[tuple[Any, Any]]] = defaultdict(list)
    for pid, weekday, h_start, h_end in WorkingHours.objects.filter(
        clinic=clinic, practitioner_id__in=list(by_id)
    ).values_list("practitioner_id", "weekday", "start", "end"):
        hours[(pid, weekday)].append((h_start, h_end))
    if not hours:
        return []

    range_start = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    range_end = datetime.combine(start + timedelta(days=days), datetime.min.time(), tzinfo=zone)
    people_busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    room_busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    device_busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    # Bounded on both sides of starts_at so each query walks its index range (no
    # appointment is longer than a day: AppointmentType.duration_minutes <= 480).
    window = Appointment.objects.filter(
        status__in=HOLDING,
        starts_at__lt=range_end,
        starts_at__gt=range_start - timedelta(days=1),
        ends_at__gt=range_start,
    )
    columns = ("practitioner_id", "room_id", "device_id", "s", "e")
    here = window.filter(clinic=clinic).annotate(s=Epoch("starts_at"), e=Epoch("ends_at"))
    # The same people booked in another clinic of theirs.
    elsewhere = (
        window.filter(practitioner_id__in=list(by_id))
        .exclude(clinic=clinic)
        .annotate(s=Epoch("starts_at"), e=Epoch("ends_at"))
    )
    rows = _raw(here.values_list(*columns)) + _raw(elsewhere.values_list(*columns))
    for pid, room_id, device_id, a_start, a_end in rows:
        interval = (a_start, a_end)
        people_busy[_key(pid)].append(interval)
        if room_id is not None:
            room_busy[_key(room_id)].append(interval)
        if device_id is not None:
            device_busy[_key(device_id)].append(interval)
    away: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for pid, a_start, a_end in Absence.objects.filter(
        practitioner_id__in=list(by_id), starts_at__lt=range_end, ends_at__gt=range_start
    ).values_list("practitioner_id", "starts_at", "ends_at"):
        away[pid.hex].append((a_start.timestamp(), a_end.timestamp()))

    busy = {pid: _Busy(v) for pid, v in people_busy.items()}
    absent = {pid: _Busy(v) for pid, v in away.items()}
    rooms: list[tuple[uuid.UUID | None, _Busy]] = [(None, EMPTY)]
    if appt_type.needs_room:
        rooms = [
            (rid, _Busy(room_busy.get(rid.hex, [])))
            for rid in Room.objects.filter(clinic=clinic, active=True).values_list("pk", flat=True)
        ]
    devices: list[tuple[uuid.UUID | None, _Busy]] = [(None, EMPTY)]
    if appt_type.needs_device:
        devices = [
            (d.pk, _Busy(device_busy.get(d.pk.hex, []))) for d in devices_for(clinic, appt_type)
        ]
    if not rooms or not devices:
        return []

    context = (
        treatment_context(clinic, patient, appt_type, start, policy=policy)
        if patient is not None
        else None
    )
    out: list[Slot] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        day_findings: tuple[RuleFinding, ...] = ()
        if context is not None:
            noon = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(hours=12)
            findings = context.findings(noon)
            if any(f.severity == "block" for f in findings):
                continue
            day_findings = tuple(findings)
        day_slots: list[Slot] = []
        for pid, person in by_id.items():
            for h_start, h_end in hours.get((pid, day.weekday()), ()):
                t = datetime.combine(day, h_start, tzinfo=zone).timestamp()
                last = datetime.combine(day, h_end, tzinfo=zone).timestamp() - duration
                if t < floor:
                    t += -(-(floor - t) // step) * step
                mine, gone = busy.get(pid.hex, EMPTY), absent.get(pid.hex, EMPTY)
                while t <= last:
                    end = t + duration
                    blocked = mine.clash(t, end) or gone.clash(t, end)
                    if blocked is None:
                        room = next((r for r, b in rooms if b.clash(t, end) is None), TAKEN)
                        device = next((d for d, b in devices if b.clash(t, end) is None), TAKEN)
                        if room is not TAKEN and device is not TAKEN:
                            day_slots.append(
                                Slot(
                                    datetime.fromtimestamp(t, zone),
                                    datetime.fromtimestamp(end, zone),
                                    person,
                                    room,
                                    device,
                                    day_findings,
                                )
                            )
                        t += step
                    else:
                        # Jump past the clash, staying on the step grid of the block.
                        t += max(step, -(-(blocked - t) // step) * step)
        day_slots.sort(key=lambda s: (s.starts_at, s.practitioner.get_full_name()))
        out.extend(day_slots)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out
