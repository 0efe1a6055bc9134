"""Demo appointment book for one clinic: hours, rooms, devices, the default types and a
week of appointments from today across practitioners and rooms, booked through the
services (audited, rules applied; a booking the rules refuse is simply left out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time, timedelta

from django.db import transaction

from mesochart.accounts.models import Clinic, User
from mesochart.errors import DomainError
from mesochart.patients.models import Patient

from . import services
from .models import Appointment, AppointmentType, Device, DeviceKind, Room, WorkingHours

ROOMS = ["Treatment room 1", "Treatment room 2", "Consulting room"]
DEVICES = [
    ("Optimas RF microneedling", DeviceKind.RF),
    ("Fractional laser", DeviceKind.LASER),
    ("Iontophoresis unit", DeviceKind.NEEDLE_FREE),
]
# (hour, minute, type key) per practitioner and day; the key is a protocol or a type name.
PLAN = {
    "prescriber": [(9, 0, "Prescriber consultation"), (10, 0, "submental-dca"),
                   (11, 30, "skin-booster"), (14, 0, "Review / follow-up check"),
                   (15, 0, "Prescriber consultation")],
    "practitioner": [(9, 0, "skin-revitalisation"), (10, 0, "rf-microneedling-meso"),
                     (11, 30, "Consultation"), (14, 0, "skin-revitalisation"),
                     (15, 30, "microneedling-pen")],
    "assistant": [(9, 30, "needle-free"), (11, 0, "Review / follow-up check"),
                  (14, 30, "needle-free"), (16, 0, "Consultation")],
}  # fmt: skip


def _type(clinic: Clinic, key: str) -> AppointmentType | None:
    return (
        AppointmentType.objects.filter(clinic=clinic, protocol=key).first()
        or AppointmentType.objects.filter(clinic=clinic, name=key).first()
    )


def load_scheduling_demo(clinic: Clinic, manager: User, patients: Sequence[Patient]) -> int:
    """Returns the number of appointments booked (0 when the clinic already has some)."""
    if Appointment.objects.filter(clinic=clinic).exists() or not patients:
        return 0
    people = {u.username: u for u in services.bookable_practitioners(clinic)}
    with transaction.atomic():
        for user in people.values():
            if not WorkingHours.objects.filter(clinic=clinic, practitioner=user).exists():
                for weekday in range(6):
                    services.do_save_resource(
                        manager,
                        clinic,
                        WorkingHours(
                            practitioner=user,
                            weekday=weekday,
                            start=time(9),
                            end=time(13) if weekday == 5 else time(18),
                        ),
                        action="hours",
                    )
        for name in ROOMS:
            if not Room.objects.filter(clinic=clinic, name=name).exists():
                services.do_save_resource(manager, clinic, Room(name=name), action="room")
        for name, kind in DEVICES:
            if not Device.objects.filter(clinic=clinic, name=name).exists():
                services.do_save_resource(
                    manager, clinic, Device(name=name, kind=kind), action="device"
                )
        services.ensure_default_types(manager, clinic)
    # Every type can be booked on the public page (the booking rules still apply there).
    for offline in AppointmentType.objects.filter(clinic=clinic, online=False):
        offline.online = True
        services.do_save_resource(manager, clinic, offline, action="type")
    home = dict(
        zip(PLAN, Room.objects.filter(clinic=clinic, name__in=ROOMS).order_by("name"), strict=False)
    )
    booked = 0
    today = clinic.today()
    n = 0
    for offset in range(7):
        day = today + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for username, rows in PLAN.items():
            holder = people.get(username)
            if holder is None:
                continue
            for hour, minute, key in rows:
                appt_type = _type(clinic, key)
                if appt_type is None or (day.weekday() == 5 and hour >= 13):
                    continue
                patient = patients[n % len(patients)]
                n += 1
                starts_at = services.day_bounds(clinic, day)[0] + timedelta(
                    hours=hour, minutes=minute
                )
                appointment = None
                for room in (home.get(username), None):  # their usual room, else any
                    try:
                        appointment = services.do_book(
                            manager,
                            clinic,
                            patient=patient,
                            appt_type=appt_type,
                            practitioner=holder,
                            starts_at=starts_at,
                            room=room,
                            acknowledge_warnings=True,
                        )
                        break
                    except DomainError:
                        continue  # the rules refused it (e.g. no consultation yet)
                if appointment is None:
                    continue
                booked += 1
                if offset == 1 or (offset == 0 and hour < 11):  # the first ones confirmed
                    services.do_confirm(manager, appointment)
    return booked
