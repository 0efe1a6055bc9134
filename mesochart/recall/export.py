from __future__ import annotations

import json
from collections.abc import Iterable

from mesochart.core.csvfile import csv_from_dicts

from .rows import COLUMNS, RecallRow


def rows_csv(rows: Iterable[RecallRow]) -> str:
    return csv_from_dicts(COLUMNS, (row.as_dict() for row in rows))


def rows_json(rows: Iterable[RecallRow]) -> str:
    return json.dumps([row.as_dict() for row in rows], indent=2, ensure_ascii=False)


def rows_text(rows: list[RecallRow]) -> str:
    if not rows:
        return "no patient reached\n"
    patients = len({r.patient_id for r in rows})
    lines = [f"{len(rows)} record(s), {patients} patient(s)"]
    for r in rows:
        quantity = f"{r.quantity} {r.unit}" if r.quantity is not None else ""
        lines.append(
            f"{r.occurred_at:%Y-%m-%d %H:%M}  {r.mrn:<11} {r.patient_name:<28} "
            f"{r.phone:<18} {r.zone:<14} {r.product} {r.lot} {quantity} ({r.via})".rstrip()
        )
    return "\n".join(lines) + "\n"
