"""Property tests: more risk never lowers the verdict, less never raises it."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesochart.protocols import check_session, load_library
from mesochart.protocols.models import SEVERITY_RANK

from .helpers import CLEAN

LIB = load_library()
RANK = {"ok": 0, "warn": 1, "block": 2}
CONDITIONS = sorted(LIB.vocabulary.conditions)
MEDICATIONS = sorted(LIB.vocabulary.medications)
ALLERGIES = sorted(LIB.ingredients)
ZONES = sorted(LIB.zones)
INJECTABLES = [
    "dca-10mg-ml",
    "ha-nonxl-vitamins",
    "ha-skin-booster",
    "ha-nonxl-lidocaine",
    "caffeine-deoxycholate",
    "methylxanthine-cocktail",
]


@st.composite
def sessions(draw: st.DrawFn) -> dict[str, Any]:
    protocol = draw(st.sampled_from(sorted(CLEAN)))
    data = copy.deepcopy(CLEAN[protocol])
    p = data["patient"]
    p["conditions"] = draw(st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True))
    p["medications"] = draw(st.lists(st.sampled_from(MEDICATIONS), max_size=2, unique=True))
    p["allergies"] = draw(st.lists(st.sampled_from(ALLERGIES), max_size=2, unique=True))
    p["bmi"] = draw(st.floats(16, 45).map(lambda x: round(x, 1)))
    p["fitzpatrick"] = draw(st.integers(1, 6))
    p["pregnant"] = draw(st.booleans())
    for _ in range(draw(st.integers(0, 3))):
        data["injections"].append(
            {
                "zone": draw(st.sampled_from(ZONES)),
                "product": draw(st.sampled_from(INJECTABLES)),
                "lot": "X1",
                "expiry": "2027-01-01",
                "points": draw(st.integers(1, 60)),
                "volume_ml": draw(st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.25])),
            }
        )
    if draw(st.booleans()):
        data["consents"].append("off_label")
    return data


def verdict(data: dict[str, Any]) -> int:
    return RANK[check_session(data).verdict]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(sessions())
def test_verdict_is_the_most_severe_finding(data: dict[str, Any]) -> None:
    result = check_session(data)
    worst = max((SEVERITY_RANK[f.severity] for f in result.findings), default=0)
    assert RANK[result.verdict] == worst
    for f in result.findings:
        assert f.evidence in "LSGP" and f.source and f.where and f.message
        if f.severity == "block" and f.evidence in "LS":
            assert not f.overridable
        if f.severity == "warn":
            assert f.overridable


@SETTINGS
@given(sessions(), st.integers(0, 5), st.sampled_from([0.01, 0.05, 0.1, 0.3]), st.integers(1, 40))
def test_more_volume_or_points_never_lowers(
    data: dict[str, Any], index: int, extra_ml: float, extra_points: int
) -> None:
    if not data["injections"]:
        return
    before = verdict(data)
    more = copy.deepcopy(data)
    row = more["injections"][index % len(more["injections"])]
    row["volume_ml"] = round(row["volume_ml"] + extra_ml, 3)
    assert verdict(more) >= before
    row["points"] += extra_points
    assert verdict(more) >= before


@SETTINGS
@given(sessions(), st.sampled_from(ALLERGIES))
def test_adding_an_allergy_never_lowers_and_removing_never_raises(
    data: dict[str, Any], allergy: str
) -> None:
    base = verdict(data)
    more = copy.deepcopy(data)
    if allergy not in more["patient"]["allergies"]:
        more["patient"]["allergies"].append(allergy)
    assert verdict(more) >= base
    less = copy.deepcopy(data)
    less["patient"]["allergies"] = less["patient"]["allergies"][1:]
    assert verdict(less) <= base


@SETTINGS
@given(sessions(), st.sampled_from(CONDITIONS), st.sampled_from(MEDICATIONS))
def test_adding_a_contraindication_never_lowers_and_removing_never_raises(
    data: dict[str, Any], condition: str, medication: str
) -> None:
    base = verdict(data)
    more = copy.deepcopy(data)
    if condition not in more["patient"]["conditions"]:
        more["patient"]["conditions"].append(condition)
    if medication not in more["patient"]["medications"]:
        more["patient"]["medications"].append(medication)
    assert verdict(more) >= base
    less = copy.deepcopy(data)
    less["patient"]["conditions"] = less["patient"]["conditions"][1:]
    less["patient"]["medications"] = []
    assert verdict(less) <= base


@SETTINGS
@given(sessions())
def test_removing_an_injection_never_raises_above_a_clean_base(data: dict[str, Any]) -> None:
    base = verdict(data)
    fewer = copy.deepcopy(data)
    extra = fewer["injections"][len(CLEAN[data["protocol"]]["injections"]) :]
    if extra:
        fewer["injections"].remove(extra[-1])
        assert verdict(fewer) <= base


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sessions())
def test_a_parsed_session_writes_back_the_json_that_parses_to_it(data: dict[str, Any]) -> None:
    """``Session.as_dict`` is the contract's JSON: the care app builds the engine's records
    directly and keeps this JSON with the signed session."""
    from mesochart.protocols import parse_session

    session = parse_session(data, LIB)
    again = parse_session(session.as_dict(), LIB)
    assert again == session
    assert check_session(again).as_dict() == check_session(data).as_dict()
