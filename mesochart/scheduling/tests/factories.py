"""Appointment-book fixtures: a clinic with hours, rooms, a device and the default types."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from typing import Any

from mesochart.accounts.models import Clinic, User
from mesochart.scheduling import services
from mesochart.scheduling.models import (
    AppointmentType,
    Device,
    DeviceKind,
    Room,
    WorkingHours,
)

# A Monday well in the future, so that no test depends on today.
DAY = date(2031, 3, 3)


def at(clinic: Clinic, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(clinic.timezone))


def give_hours(clinic: Clinic, actor: User, user: User, start: int = 9, end: int = 17) -> None:
    for weekday in range(5):
        services.do_save_resource(
            actor,
            clinic,
            WorkingHours(practitioner=user, weekday=weekday, start=time(start), end=time(end)),
            action="hours",
        )


def setup_book(clinic: Clinic, staff: dict[str, User], rooms: int = 2) -> dict[str, Any]:
    manager = staff["manager"]
    for name in ("practitioner", "prescriber", "assistant"):
        give_hours(clinic, manager, staff[name])
    for i in range(rooms):
        services.do_save_resource(manager, clinic, Room(name=f"Room {i + 1}"), action="room")
    services.do_save_resource(
        manager, clinic, Device(name="RF one", kind=DeviceKind.RF), action="device"
    )
    services.ensure_default_types(manager, clinic)
    return {
        "types": {t.protocol or t.name: t for t in AppointmentType.objects.filter(clinic=clinic)}
    }


def appt_type(clinic: Clinic, key: str) -> AppointmentType:
    if key in ("Consultation", "Prescriber consultation", "Review / follow-up check"):
        return AppointmentType.objects.get(clinic=clinic, name=key)
    return AppointmentType.objects.get(clinic=clinic, protocol=key)
