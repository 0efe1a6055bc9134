"""Scale: registrations per second through the service (audit included), and the
dashboard's patient card (capped count + recently updated) at a small and a large clinic.

.venv/bin/python bench/bench_scale.py [--small N] [--large N] [--registrations R]

Without DATABASE_URL: a fresh SQLite file ``var/bench/scale.sqlite3``. With
DATABASE_URL=postgres://...: that database, migrated and seeded (never a real one).
Name search against hand-written SQL is not measured yet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_ms(fn, runs: int = 15) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--registrations", type=int, default=300)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        path = ROOT / "var" / "bench" / "scale.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from mesochart.core.views import PATIENT_COUNT_CAP
    from mesochart.patients import services
    from mesochart.patients.models import Patient
    from mesochart.stock.scale import seed_scale

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    small = seed_scale(0, 1, patients=args.small, quiet=True).clinics[0]
    large = seed_scale(0, 1, patients=args.large, quiet=True).clinics[0]

    def card(clinic):  # type: ignore[no-untyped-def]
        def run() -> None:
            patients = Patient.objects.filter(clinic=clinic)
            patients.order_by().values("pk")[: PATIENT_COUNT_CAP + 1].count()
            list(patients.order_by("-updated_at")[:8])

        return run

    a, b = median_ms(card(small)), median_ms(card(large))
    print(
        f"dashboard patient card: {args.small:,} patients {a:.2f} ms, "
        f"{args.large:,} patients {b:.2f} ms, ratio {b / a:.2f}"
    )
    from mesochart.accounts.models import User

    actor = User.objects.get(username="scale-seeder")
    started = time.perf_counter()
    for i in range(args.registrations):
        services.do_create_patient(
            actor,
            large,
            {
                "given_name": "Élodie",
                "family_name": f"Bench{i}",
                "birth_date": date(1990, 1, 1),
                "sex": "female",
                "phone": f"+44 7700 {i:06d}",
                "email": f"bench{i}@example.org",
            },
            {"fitzpatrick": 3},
        )
    seconds = time.perf_counter() - started
    print(
        f"registrations: {args.registrations / seconds:,.0f}/s ({args.registrations} in {seconds:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
