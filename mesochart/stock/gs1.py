"""Parse GS1 element strings from a pack's DataMatrix or GS1-128 barcode (pure, no Django).

Accepted forms of the same data::

    ]d2010761234567890417270630105ABC123<GS>21XYZ    raw scan, symbology prefix, FNC1 as GS
    010761234567890417270630105ABC123<GS>21XYZ       raw, without prefix
    (01)04012345678901(17)261231(10)LOT42           human-readable, parentheses

Application identifiers understood: 01 GTIN-14 (check digit verified), 10 batch/lot
(variable, up to 20, ends at GS or the end), 11 production date, 17 expiry (YYMMDD; day
00 means the last day of the month), 21 serial (variable, up to 20). ``<GS>`` is the
ASCII group separator ``\\x1d``; scanners that cannot send it may send the text ``<GS>``.
Errors are :class:`GS1Error` naming the application identifier.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

GS = "\x1d"
SYMBOLOGY_PREFIXES = ("]d2", "]C1", "]Q3", "]e0", "]J1")
FIXED = {"01": 14, "11": 6, "17": 6}
VARIABLE = {"10": 20, "21": 20}
NAMES = {"01": "GTIN", "10": "batch/lot", "11": "production date", "17": "expiry", "21": "serial"}


class GS1Error(ValueError):
    """The string cannot be read; ``ai`` names the application identifier at fault."""

    def __init__(self, message: str, ai: str | None = None) -> None:
        prefix = f"AI ({ai}) {NAMES.get(ai, '')}: ".replace(" :", ":") if ai else ""
        super().__init__(prefix + message)
        self.ai = ai


@dataclass(frozen=True, slots=True)
class GS1Data:
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    production_date: date | None = None

    @property
    def udi_pi(self) -> str:
        """The production identifier part of the UDI, in human-readable form."""
        parts = []
        if self.expiry:
            parts.append(f"(17){self.expiry:%y%m%d}")
        if self.lot:
            parts.append(f"(10){self.lot}")
        if self.serial:
            parts.append(f"(21){self.serial}")
        return "".join(parts)


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (all digits but the last)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def valid_gtin(value: str) -> bool:
    return (
        len(value) in (8, 12, 13, 14)
        and value.isdigit()
        and gtin_check_digit(value[:-1]) == int(value[-1])
    )


def _date(ai: str, value: str) -> date:
    if len(value) != 6 or not value.isdigit():
        raise GS1Error(f"expected 6 digits YYMMDD, got {value!r}", ai)
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12:
        raise GS1Error(f"month {month:02d} in {value!r} is not 01-12", ai)
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        day = last  # GS1 General Specifications 3.4.7: day 00 = last day of the month
    if day > last:
        raise GS1Error(f"day {day:02d} does not exist in {year}-{month:02d}", ai)
    return date(year, month, day)


def _element(ai: str, value: str, found: dict[str, str]) -> None:
    if ai in found:
        raise GS1Error("appears twice", ai)
    if ai in FIXED and len(value) != FIXED[ai]:
        raise GS1Error(f"expected {FIXED[ai]} characters, got {len(value)} ({value!r})", ai)
    if ai in VARIABLE:
        if not value:
            raise GS1Error("is empty", ai)
        if len(value) > VARIABLE[ai]:
            raise GS1Error(f"longer than {VARIABLE[ai]} characters ({value!r})", ai)
    found[ai] = value


def _split_raw(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        if text[pos] == GS:
            pos += 1
            continue
        ai = text[pos : pos + 2]
        if ai in FIXED:
            value = text[pos + 2 : pos + 2 + FIXED[ai]]
            pos += 2 + FIXED[ai]
        elif ai in VARIABLE:
            end = text.find(GS, pos + 2)
            end = len(text) if end == -1 else end
            value = text[pos + 2 : end]
            pos = end
        else:
            raise GS1Error(
                f"unknown or unsupported application identifier {ai!r} at position {pos + 1}"
            )
        _element(ai, value, found)
    return found


PAREN = re.compile(r"\((\d{2,4})\)([^()]*)")


def _split_parentheses(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    consumed = 0
    for match in PAREN.finditer(text):
        if text[consumed : match.start()].strip():
            raise GS1Error(f"unexpected text {text[consumed : match.start()]!r}")
        consumed = match.end()
        ai, value = match.group(1), re.sub(r"\s+", "", match.group(2)).replace(GS, "")
        if ai not in FIXED and ai not in VARIABLE:
            raise GS1Error(f"unknown or unsupported application identifier ({ai})")
        _element(ai, value, found)
    if text[consumed:].strip():
        raise GS1Error(f"unexpected text {text[consumed:]!r}")
    return found


def parse(text: str) -> GS1Data:
    """Read a scanned or pasted GS1 element string; raise ``GS1Error`` naming the AI."""
    text = text.strip().replace("<GS>", GS).replace("\\x1d", GS)
    for prefix in SYMBOLOGY_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if not text:
        raise GS1Error("the scanned code is empty")
    found = _split_parentheses(text) if text.startswith("(") else _split_raw(text)
    gtin = found.get("01")
    if gtin is not None and not valid_gtin(gtin):
        if not gtin.isdigit():
            raise GS1Error(f"GTIN must be 14 digits, got {gtin!r}", "01")
        raise GS1Error(
            f"check digit of {gtin} is wrong (expected {gtin_check_digit(gtin[:-1])})", "01"
        )
    return GS1Data(
        gtin=gtin,
        lot=found.get("10"),
        expiry=_date("17", found["17"]) if "17" in found else None,
        serial=found.get("21"),
        production_date=_date("11", found["11"]) if "11" in found else None,
    )
