"""The one CSV writer of every export (recall lists, outcome reports, ...).

A cell that a spreadsheet would run as a formula (text starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with an
apostrophe, so a patient named ``=HYPERLINK(...)`` arrives as text. Numbers
stay numbers. No Django here: the exports and the command line share it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """The text of one cell, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document: the header line, then one line per row, every cell defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def csv_from_dicts(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """The same, for rows given as dictionaries keyed by column name."""
    return csv_text(columns, ([row.get(c) for c in columns] for row in rows))
