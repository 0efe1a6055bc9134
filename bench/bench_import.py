"""Fridge CSV import of N rows, and a login in ANOTHER clinic while it runs vs idle.

.venv/bin/python bench/bench_import.py [--rows 50000] [--database-url postgres://.../DB]

SQLite: a throwaway database. PostgreSQL: the database given is flushed first, so
give a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--as-worker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the import at the worker's priority (WORKER_NICE), as a large import runs",
    )
    args, _ = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="mesochart-bench-")
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["MESOCHART_VAR_DIR"] = tmp
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from mesochart.accounts.models import Clinic, Membership, Organisation, User
    from mesochart.stock import services

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)
    org = Organisation.objects.create(name="Bench", mrn_prefix="BN")
    importing = Clinic.objects.create(organisation=org, name="A", timezone="Europe/London")
    other = Clinic.objects.create(organisation=org, name="B", timezone="Europe/London")
    importer = User.objects.create_user(username="importer", password="pw-bench-import")
    Membership.objects.create(user=importer, clinic=importing, role="manager")
    User.objects.create_user(username="reader", password="pw-bench-import")
    Membership.objects.create(
        user=User.objects.get(username="reader"), clinic=other, role="manager"
    )
    fridge = services.do_create_fridge(importer, importing, "Bench fridge")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    text = "recorded_at,temperature_c\n" + "".join(
        f"{(start + timedelta(minutes=i)).isoformat()},{4 + (i % 30) / 10}\n"
        for i in range(args.rows)
    )
    db = connection.vendor

    def login_ms() -> float:
        client = Client()
        began = time.perf_counter()
        response = client.post(
            reverse("accounts:login"), {"username": "reader", "password": "pw-bench-import"}
        )
        assert response.status_code == 302, response.status_code
        return (time.perf_counter() - began) * 1000

    for _ in range(3):
        login_ms()
    idle = [login_ms() for _ in range(20)]

    # The import runs in its own process (as a worker or another web process would), so
    # the figure is the database's contention, not this process's GIL.
    connection.close()
    result = multiprocessing.get_context("fork").Queue()

    def run_import() -> None:
        connection.close()
        if args.as_worker:
            # As `mesochart worker`, which runs large imports, does.
            from mesochart.core.management.commands.worker import lower_priority

            lower_priority()
        began = time.perf_counter()
        services.do_import_readings(importer, importing, fridge, text)
        result.put(time.perf_counter() - began)

    worker = multiprocessing.get_context("fork").Process(target=run_import)
    worker.start()
    busy: list[float] = []
    time.sleep(0.2)  # past the fork and into the import
    while worker.is_alive():
        busy.append(login_ms())
    worker.join()
    took = [result.get()]
    idle_med = statistics.median(idle)
    busy_med = statistics.median(busy) if busy else float("nan")
    p95 = statistics.quantiles(busy, n=20)[-1] if len(busy) > 1 else float("nan")
    how = "at the worker's priority" if args.as_worker else "at normal priority"
    print(f"fridge import ({db}, {how}): {args.rows:,} rows in {took[0]:.2f} s")
    print(
        f"login in another clinic ({db}): idle median {idle_med:.1f} ms; during the import "
        f"median {busy_med:.1f} ms, p95 {p95:.1f} ms, max {max(busy, default=float('nan')):.1f} ms "
        f"({len(busy)} logins, {busy_med / idle_med:.1f}x idle)"
    )


if __name__ == "__main__":
    main()
