"""plan_course: schedule, dose budget, follow-ups."""

from __future__ import annotations

from datetime import date, timedelta

from mesochart.protocols import HistoryEntry, plan_course, screen


def test_fresh_dca_course() -> None:
    plan = plan_course("submental-dca", date(2026, 1, 5))
    assert plan.sessions_done == 0
    assert (plan.max_sessions, plan.sessions_left) == (6, 6)
    assert [s.number for s in plan.schedule] == [1, 2, 3, 4]
    assert plan.schedule[0].earliest == date(2026, 1, 5)
    assert plan.schedule[1].earliest == date(2026, 2, 2)  # 28 days
    limits = {p.id.rsplit(".", 1)[-1]: p.number for p in plan.per_session_limits}
    assert limits == {
        "max_volume_per_point_ml": 0.2,
        "max_points_per_session": 50,
        "max_volume_ml_per_session": 10,
    }


def test_dca_after_five_sessions_has_one_left() -> None:
    hist = [date(2026, m, 1) for m in range(1, 6)]
    plan = plan_course("submental-dca", date(2026, 6, 10), hist)
    assert plan.sessions_left == 1
    assert [s.number for s in plan.schedule] == [6]
    assert plan.schedule[0].earliest == date(2026, 6, 10)


def test_dca_after_six_sessions_has_none_left() -> None:
    hist = [HistoryEntry(date(2026, m, 1), "submental-dca") for m in range(1, 7)]
    hist.append(HistoryEntry(date(2026, 6, 20), "skin-booster"))  # other protocol ignored
    plan = plan_course("submental-dca", date(2026, 8, 1), hist)
    assert plan.sessions_left == 0
    assert plan.schedule == ()
    assert "maximum of 6" in plan.notes[0]


def test_next_session_waits_for_minimum_interval() -> None:
    plan = plan_course("skin-revitalisation", date(2026, 3, 3), [date(2026, 3, 1)])
    first = plan.schedule[0]
    assert first.earliest == date(2026, 3, 8)  # 7-day minimum
    assert first.typical == date(2026, 3, 16)  # 15-day typical
    assert plan.schedule[1].typical - first.typical == timedelta(days=15)


def test_follow_ups() -> None:
    plan = plan_course("skin-booster", date(2026, 1, 1))
    kinds = [(f.kind, f.after_session) for f in plan.follow_ups]
    assert ("early_check", 1) in kinds and ("early_check", 2) in kinds
    last = plan.schedule[-1].typical
    by_kind = {f.kind: f for f in plan.follow_ups}
    assert by_kind["infection_surveillance_end"].due == last + timedelta(days=84)
    assert by_kind["final_assessment"].due == last + timedelta(days=30)
    early = next(f for f in plan.follow_ups if f.kind == "early_check")
    assert early.due - plan.schedule[0].typical == timedelta(days=3)
    assert early.evidence == "P"
    first = by_kind["first_assessment"]
    assert first.due - plan.schedule[0].typical >= timedelta(days=28)  # never 2-3 days
    assert plan.maintenance_after == last + timedelta(days=270)


def test_plan_as_dict_is_json_ready() -> None:
    import json

    out = json.loads(json.dumps(plan_course("hair-mesotherapy", date(2026, 1, 1)).as_dict()))
    assert out["sessions_planned"] == 10
    assert out["max_sessions"] is None


def test_screen_patient_rules() -> None:
    on = date(2026, 11, 25)
    base = {"birth_date": "1990-01-01"}
    assert screen(base, "submental-dca", on).verdict == "ok"
    assert screen({**base, "pregnant": True}, "skin-booster", on).verdict == "block"
    assert screen({**base, "allergies": ["lidocaine"]}, "submental-dca", on).verdict == "ok"
    result = screen({**base, "allergies": ["lidocaine"]}, "skin-revitalisation", on)
    assert result.codes() == ["contra.allergy"]
    assert result.findings[0].where == "patient.allergies[0]"
    hsv = screen({**base, "conditions": ["herpes_labialis"]}, "skin-revitalisation", on)
    assert hsv.codes() == ["contra.hsv"]
    assert screen({**base, "conditions": ["herpes_labialis"]}, "hair-mesotherapy", on).codes() == [
        "protocol.low_evidence"
    ]
    assert screen({**base, "bmi": 31}, "submental-dca", on).verdict == "block"
    assert screen({**base, "medications": ["anticoagulant"]}, "needle-free", on).verdict == "ok"
    necrosis = [HistoryEntry(date(2026, 1, 1), "submental-dca", adverse_events=("necrosis",))]
    assert screen(base, "submental-dca", on, history=necrosis).verdict == "block"
