"""Slot search over a month: a 10-practitioner clinic (10 rooms, hours Monday-Saturday
08:00-20:00) with 2,000 appointments a week, throwaway SQLite database. Median time of
``find_slots`` for a month of 30-minute slots (any practitioner, no limit), of one
practitioner, and of a treatment judged for one patient; with ``--day-view`` also the day
view page of the whole clinic.

.venv/bin/python bench/bench_slots.py [--runs 25] [--per-week 2000] [--day-view]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--per-week", type=int, default=2000)
    parser.add_argument("--day-view", action="store_true")
    args, _ = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="mesochart-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["MESOCHART_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    import zoneinfo

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp

    from mesochart.accounts.models import Clinic, Membership, Organisation, Role, User
    from mesochart.conftest import create_patient
    from mesochart.scheduling import services
    from mesochart.scheduling.models import Appointment, AppointmentType, Room, WorkingHours
    from mesochart.scheduling.slots import find_slots

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench", mrn_prefix="BN")
    clinic = Clinic.objects.create(organisation=org, name="Bench clinic", timezone="Europe/London")
    zone = zoneinfo.ZoneInfo(clinic.timezone)
    manager = User.objects.create_user(username="bench-manager", password="x")
    Membership.objects.create(user=manager, clinic=clinic, role=Role.MANAGER)
    people = []
    for i in range(10):
        user = User.objects.create_user(username=f"bench-p{i}", password="x", first_name=f"P{i}")
        Membership.objects.create(
            user=user, clinic=clinic, role=Role.PRESCRIBER if i < 2 else Role.PRACTITIONER
        )
        people.append(user)
    WorkingHours.objects.bulk_create(
        WorkingHours(
            organisation=org,
            clinic=clinic,
            practitioner=p,
            weekday=d,
            start=dtime(8),
            end=dtime(20),
        )
        for p in people
        for d in range(6)
    )
    rooms = [
        Room.objects.create(organisation=org, clinic=clinic, name=f"Room {i}") for i in range(10)
    ]
    services.ensure_default_types(manager, clinic)
    consult = AppointmentType.objects.get(clinic=clinic, name="Consultation")
    patients = [create_patient(clinic, manager, given_name=f"B{i}") for i in range(50)]

    # Each practitioner works in their own room; appointments of 15 minutes at random
    # free quarter hours, per_week / 60 a working day each (6 days x 10 practitioners).
    rng = random.Random(7)
    start = date(2031, 3, 3)  # a Monday
    per_day = args.per_week // 60
    rows = []
    for offset in range(35):
        day = start + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for i, person in enumerate(people):
            for q in sorted(rng.sample(range(48), per_day)):
                begins = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(
                    hours=8, minutes=15 * q
                )
                rows.append(
                    Appointment(
                        organisation=org,
                        clinic=clinic,
                        patient=patients[(offset * 10 + i + q) % 50],
                        type=consult,
                        practitioner=person,
                        room=rooms[i],
                        starts_at=begins,
                        ends_at=begins + timedelta(minutes=15),
                        created_by=manager,
                    )
                )
    Appointment.objects.bulk_create(rows, batch_size=1000)
    print(f"{len(rows)} appointments over 5 weeks ({per_day * 60} a week)")

    not_before = datetime.combine(start, datetime.min.time(), tzinfo=zone)

    def timed(label: str, call) -> None:
        times = []
        with CaptureQueriesContext(connection) as queries:
            result = call()
        for _ in range(args.runs):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{label}: median {statistics.median(times):.1f} ms "
            f"(min {min(times):.1f}, max {max(times):.1f}), {len(result)} slots, "
            f"{len(queries)} queries"
        )

    timed(
        "month of slots, any practitioner",
        lambda: find_slots(clinic, consult, start=start, days=31, not_before=not_before),
    )
    timed(
        "month of slots, one practitioner",
        lambda: find_slots(
            clinic, consult, start=start, days=31, practitioner=people[3], not_before=not_before
        ),
    )
    treatment = AppointmentType.objects.get(clinic=clinic, protocol="skin-revitalisation")
    timed(
        "month of treatment slots for one patient (rules judged)",
        lambda: find_slots(
            clinic, treatment, start=start, days=31, patient=patients[0], not_before=not_before
        ),
    )
    if args.day_view:
        from django.test import Client
        from django.urls import reverse

        client = Client()
        client.force_login(manager)
        url = reverse("scheduling:day") + f"?day={start + timedelta(days=1)}"
        assert client.get(url).status_code == 200
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"day view, 10 practitioners, {per_day * 10} appointments: median "
            f"{statistics.median(times):.1f} ms (min {min(times):.1f})"
        )


if __name__ == "__main__":
    main()
