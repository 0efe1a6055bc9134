"""Eye location and roll on the test photo set (``photo_set.py``) against the targets of
the analyze-photo contract 1.1: on ordinary frontal portraits each eye within 10 % of the
inter-eye distance of its true centre and the roll within 2 degrees; the eyes found on
every face of the set."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import pytest

from .helpers import analyse
from .photo_set import Case, all_cases

CASES = all_cases()
EYE_MAX_ERROR = 0.10
ROLL_MAX_ERROR_DEG = 2.0
# The turned portrait (head about a third of the way to one side) is outside the
# contract's "ordinary frontal" condition; it is held to what the analyser reaches on it,
# so that it cannot get worse unnoticed.
TURNED_EYE_MAX_ERROR = 0.12
TURNED_ROLL_MAX_ERROR_DEG = 3.0


@cache
def result(name: str) -> dict[str, Any]:
    case = next(c for c in CASES if c.name == name)
    return analyse(case.rgb)


def errors(case: Case) -> tuple[float, float, float]:
    face = result(case.name)["face"]
    right, left = face["eyes_px"]["right"], face["eyes_px"]["left"]
    d = case.eye_distance
    e_right = math.hypot(right[0] - case.right[0], right[1] - case.right[1]) / d
    e_left = math.hypot(left[0] - case.left[0], left[1] - case.left[1]) / d
    roll = result(case.name)["quality"]["roll_deg"] - case.roll_deg
    return e_right, e_left, abs(roll)


def test_the_set_has_real_people_edits_and_eyes_far_enough_apart() -> None:
    assert len(CASES) >= 40
    assert {c.name.split("_")[0] for c in CASES} == {"astronaut", "luispedro"}
    assert all(c.eye_distance >= 35 for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_eyes_are_found_on_every_face_of_the_set(case: Case) -> None:
    out = result(case.name)
    assert out["face_found"] is True
    assert out["face"]["eyes_found"] is True, out["quality"]["problems"]
    assert "eyes_not_found" not in out["quality"]["problems"]
    assert set(out["zones"]) == {"forehead", "cheek_left", "cheek_right", "nose", "chin"}


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.frontal], ids=[c.name for c in CASES if c.frontal]
)
def test_frontal_portraits_meet_the_contract_targets(case: Case) -> None:
    e_right, e_left, roll = errors(case)
    assert e_right <= EYE_MAX_ERROR and e_left <= EYE_MAX_ERROR, (e_right, e_left)
    assert roll <= ROLL_MAX_ERROR_DEG


@pytest.mark.parametrize(
    "case", [c for c in CASES if not c.frontal], ids=[c.name for c in CASES if not c.frontal]
)
def test_the_turned_portrait_stays_close(case: Case) -> None:
    e_right, e_left, roll = errors(case)
    assert e_right <= TURNED_EYE_MAX_ERROR and e_left <= TURNED_EYE_MAX_ERROR, (e_right, e_left)
    assert roll <= TURNED_ROLL_MAX_ERROR_DEG


def test_tilt_is_flagged_beyond_8_degrees_of_true_roll() -> None:
    for case in CASES:
        if case.frontal and abs(case.roll_deg) > 8.0 + ROLL_MAX_ERROR_DEG:
            assert "tilted" in result(case.name)["quality"]["problems"], case.name
        if case.frontal and abs(case.roll_deg) < 8.0 - ROLL_MAX_ERROR_DEG:
            assert "tilted" not in result(case.name)["quality"]["problems"], case.name


def test_a_flip_swaps_the_patients_sides() -> None:
    plain, flipped = result("astronaut")["face"], result("astronaut_flip")["face"]
    width = 512
    assert flipped["eyes_px"]["right"][0] == pytest.approx(
        width - 1 - plain["eyes_px"]["left"][0], abs=3
    )
    assert result("astronaut_flip")["quality"]["roll_deg"] == pytest.approx(
        -result("astronaut")["quality"]["roll_deg"], abs=1.0
    )
