"""Engine 1.1 keeps every verdict of engine 1.0 on 1.0 inputs (contract 1.1: "Version 1.0
inputs stay valid and give the same verdicts").

``data/regression-1.0.json`` was recorded by engine 1.0.0 (``data/make_regression_1_0.py``):
300 seeded random sessions over every protocol and every 1.0 rule. Each must give the same
verdict and the same findings (code, severity, evidence, where, overridable) today;
messages may be worded better, so they are not compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesochart.protocols import ENGINE_VERSION, check_session, load_library

DATA = json.loads(
    (Path(__file__).with_name("data") / "regression-1.0.json").read_text(encoding="utf-8")
)
CASES: list[dict[str, Any]] = DATA["cases"]


def test_the_recording_is_of_engine_1_0_and_covers_every_verdict() -> None:
    assert DATA["engine_version"].startswith("1.0.")
    assert ENGINE_VERSION.startswith("1.1.")
    verdicts = {c["expected"]["verdict"] for c in CASES}
    assert verdicts == {"ok", "warn", "block"}
    codes = {f[0] for c in CASES for f in c["expected"]["findings"]}
    # Every 1.0 rule of the contract appears at least once in the recording.
    for code in (
        "consent.missing",
        "contra.pregnancy",
        "contra.minor",
        "contra.active_infection",
        "contra.allergy",
        "contra.bleeding_disorder",
        "contra.anticoagulant",
        "contra.isotretinoin",
        "contra.keloid",
        "contra.immune",
        "contra.hsv",
        "contra.bmi",
        "contra.bdd",
        "contra.dysphagia",
        "contra.prior_necrosis",
        "contra.pacemaker",
        "contra.pih_risk",
        "dose.volume_per_point",
        "dose.max_points",
        "zone.off_label",
        "zone.forbidden",
        "needle.zone_length",
        "interval.too_short",
        "course.max_sessions",
        "lot.missing",
        "lot.expired",
        "topical.not_intradermal",
        "sterility.pack_not_released",
        "sterility.pack_expired",
    ):
        assert code in codes, code


@pytest.mark.parametrize("index", range(len(CASES)))
def test_a_1_0_session_keeps_its_verdict_and_findings(index: int) -> None:
    case = CASES[index]
    result = check_session(case["input"], library=load_library())
    got = sorted([f.code, f.severity, f.evidence, f.where, f.overridable] for f in result.findings)
    assert result.verdict == case["expected"]["verdict"]
    assert got == case["expected"]["findings"]
