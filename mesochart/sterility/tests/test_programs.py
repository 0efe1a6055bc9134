"""The program table keeps its sources: every row has an evidence level and a source."""

from __future__ import annotations

from decimal import Decimal

from mesochart.sterility.programs import PROGRAMS, program


def test_every_program_has_a_source_and_an_evidence_level():
    for p in PROGRAMS:
        assert p.evidence_level in {"L", "S", "G", "P"}, p.code
        assert "http" in p.source, p.code


def test_reference_time_temperature_pairs_are_present():
    pairs = {(p.temperature_c, p.hold_min) for p in PROGRAMS}
    for pair in [("121", "30"), ("132", "4"), ("134", "3"), ("121", "15"), ("126", "10")]:
        assert (Decimal(pair[0]), Decimal(pair[1])) in pairs


def test_shortfalls_name_every_value_below_the_program():
    gravity = program("121-30-gravity-wrapped")
    assert gravity.shortfalls(Decimal("121"), Decimal("30"), Decimal("1.0")) == []
    missing = gravity.shortfalls(Decimal("120.5"), Decimal("29"), None)
    assert len(missing) == 2 and "temperature" in missing[0] and "hold" in missing[1]
