"""Audit log: appends and chain verification per second (throwaway SQLite database).

.venv/bin/python bench/bench_audit.py [--events N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    args, _ = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="mesochart-bench-")
    # Always a throwaway SQLite database: never append bench events to a real log.
    os.environ.pop("DATABASE_URL", None)
    os.environ["MESOCHART_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from mesochart.audit.services import record, verify_chain

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    for i in range(args.events):
        with transaction.atomic():
            record(
                "bench.event", actor=None, object_type="bench", object_id=str(i), details={"i": i}
            )
    append = time.perf_counter() - started
    started = time.perf_counter()
    report = verify_chain()
    verify = time.perf_counter() - started
    assert report.ok and report.events == args.events
    db = "sqlite"
    print(
        f"audit append ({db}): {args.events / append:,.0f} events/s, one transaction each ({args.events} events, {append:.2f} s)"
    )
    print(f"audit verify ({db}): {report.events / verify:,.0f} events/s ({verify:.2f} s)")


if __name__ == "__main__":
    main()
