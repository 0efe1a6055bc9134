"""Lot recall at scale: ``rows_for_lot`` vs the equivalent hand-written indexed SQL.

.venv/bin/python bench/bench_recall.py [--administrations N] [--clinics K] [--runs R]

Without DATABASE_URL: a separate SQLite file ``var/bench/recall-<N>.sqlite3``, seeded once
with ``mesochart seed-scale`` and reused by later runs (``--fresh`` to reseed). With
DATABASE_URL=postgres://...: that database (created if missing), seeded the same way
unless it already holds an organisation of that size. Never point it at a real database.
Prints the median time of both over ``--runs`` alternating runs (after a warm-up) and
their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HAND_SQL = """
SELECT m.patient_id, p.mrn, p.given_name, p.family_name, p.birth_date, p.phone, p.email,
       c.name, m.occurred_at, m.session_ref, m.zone, m.quantity, m.unit,
       l.product, l.lot_number, NULL, NULL
  FROM stock_lot l
  JOIN stock_stockmovement m ON m.lot_id = l.id AND m.kind = 'administered'
  JOIN patients_patient p ON p.id = m.patient_id
  JOIN accounts_clinic c ON c.id = m.clinic_id
 WHERE l.organisation_id = %s AND l.lot_number = %s
UNION ALL
SELECT a.patient_id, p.mrn, p.given_name, p.family_name, p.birth_date, p.phone, p.email,
       c.name, a.occurred_at, a.session_ref, a.zone, a.quantity, a.unit,
       l.product, l.lot_number, a.preparation_id, mp.mixture
  FROM stock_lot l
  JOIN stock_stockmovement x ON x.lot_id = l.id AND x.kind = 'mixed'
  JOIN stock_stockmovement a ON a.preparation_id = x.preparation_id AND a.kind = 'administered'
  JOIN stock_mixturepreparation mp ON mp.id = a.preparation_id
  JOIN patients_patient p ON p.id = a.patient_id
  JOIN accounts_clinic c ON c.id = a.clinic_id
 WHERE l.organisation_id = %s AND l.lot_number = %s
"""


def setup(args: argparse.Namespace) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url.startswith("postgres"):
        from urllib.parse import urlparse

        import psycopg

        parsed = urlparse(url)
        name = parsed.path.lstrip("/")
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql ({name})"
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"recall-{args.administrations}.sqlite3"
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return f"sqlite ({path})"


def hand_written(organisation_id: uuid.UUID, lot_number: str) -> list[Any]:
    from django.db import connection

    from mesochart.recall.rows import RecallRow

    native = connection.features.has_native_uuid_field
    org = organisation_id if native else organisation_id.hex
    with connection.cursor() as cursor:
        cursor.execute(HAND_SQL, [org, lot_number, org, lot_number])
        fetched = cursor.fetchall()

    def as_uuid(value: Any) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(value)

    def as_dt(value: Any) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        # SQLite keeps naive UTC; PostgreSQL answers aware datetimes.
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    rows = []
    for r in fetched:
        prep = as_uuid(r[15])
        birth = r[4]
        rows.append(
            RecallRow(
                patient_id=as_uuid(r[0]),  # type: ignore[arg-type]
                mrn=r[1],
                patient_name=f"{r[2]} {r[3]}",
                birth_date=birth if isinstance(birth, str) else birth.isoformat(),
                phone=r[5],
                email=r[6],
                clinic_name=r[7],
                occurred_at=as_dt(r[8]),
                session_ref=as_uuid(r[9]),
                zone=r[10],
                product=r[13],
                lot=r[14],
                quantity=-Decimal(str(r[11])).quantize(Decimal("0.01")),
                unit=r[12],
                via="direct" if prep is None else f"mixture MIX-{str(prep)[:8]} {r[16]}",
            )
        )
    rows.sort(key=lambda row: (row.occurred_at, row.mrn))
    return rows


def medians_ms(first: Any, second: Any, runs: int) -> tuple[float, float]:
    """Median times of two functions, run alternately so both see the same machine load."""
    first(), second()  # warm-up: caches, prepared plans
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, bucket in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--administrations", type=int, default=10_000_000)
    parser.add_argument("--clinics", type=int, default=8)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fresh", action="store_true", help="reseed the SQLite file")
    args = parser.parse_args()
    where = setup(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from mesochart.accounts.models import Organisation
    from mesochart.stock.models import MovementKind, StockMovement
    from mesochart.stock.recall import rows_for_lot
    from mesochart.stock.scale import seed_scale

    call_command("migrate", verbosity=0)
    org = (
        Organisation.objects.filter(name__startswith="Scale chain", next_mrn__gt=0)
        .order_by("-created_at")
        .first()
    )
    existing = (
        StockMovement.objects.filter(organisation=org, kind=MovementKind.ADMINISTERED).count()
        if org is not None
        else 0
    )
    if existing != args.administrations:
        print(f"seeding {args.administrations:,} administrations into {where} ...", flush=True)
        result = seed_scale(args.administrations, args.clinics)
        org = result.organisation
        print(f"seeded in {result.seconds:.1f} s", flush=True)
    else:
        print(f"reusing {existing:,} administrations in {where}", flush=True)
    assert org is not None
    # A typical lot that is also a mixture component, so both paths are exercised.
    mixed = (
        StockMovement.objects.filter(organisation=org, kind=MovementKind.MIXED)
        .values("lot_id", "lot__lot_number")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    assert mixed is not None
    lot_number = mixed["lot__lot_number"]

    orm_rows = rows_for_lot(org.pk, lot_number)
    sql_rows = hand_written(org.pk, lot_number)

    def canonical(rows: list[Any]) -> list[str]:
        return sorted(repr(sorted(r.as_dict().items())) for r in rows)

    a, b = canonical(orm_rows), canonical(sql_rows)
    if a != b:
        diff = [(x, y) for x, y in zip(a, b, strict=False) if x != y][:2]
        raise SystemExit(f"results differ ({len(a)} vs {len(b)} rows): {diff}")
    via_mixture = sum(1 for r in orm_rows if r.via != "direct")

    orm_ms, sql_ms = medians_ms(
        lambda: rows_for_lot(org.pk, lot_number),
        lambda: hand_written(org.pk, lot_number),
        args.runs,
    )
    total = StockMovement.objects.filter(organisation=org).count()
    print(
        f"recall of lot {lot_number} ({where}, {args.administrations:,} administrations, "
        f"{total:,} movements): {len(orm_rows)} rows ({via_mixture} via mixtures)"
    )
    print(f"rows_for_lot (ORM):     {orm_ms:8.2f} ms median of {args.runs}")
    print(f"hand-written SQL:       {sql_ms:8.2f} ms median of {args.runs}")
    print(f"ratio ORM / SQL:        {orm_ms / sql_ms:8.2f}")


if __name__ == "__main__":
    main()
