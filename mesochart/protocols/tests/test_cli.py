"""The JSON boundary: exit codes, stdout JSON, stderr sentence, field paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesochart.protocols import (
    InvalidInput,
    list_protocols_json,
    list_protocols_text,
    load_library,
    plan_course_text,
    run_check_session,
    show_protocol_text,
    tunable_parameters_json,
)

from .helpers import clean

CONTRACT_EXAMPLE = {
    "date": "2026-11-25",
    "protocol": "submental-dca",
    "patient": {
        "birth_date": "1985-04-02",
        "sex": "female",
        "pregnant": False,
        "breastfeeding": False,
        "bmi": 24.5,
        "fitzpatrick": 3,
        "conditions": ["herpes_labialis"],
        "medications": ["antiplatelet"],
        "allergies": ["lidocaine"],
        "isotretinoin_last_dose": "2026-03-01",
    },
    "consents": ["treatment", "off_label", "photo"],
    "history": [
        {
            "date": "2026-10-20",
            "protocol": "submental-dca",
            "zones": ["submental"],
            "adverse_events": ["nodule"],
        }
    ],
    "injections": [
        {
            "zone": "submental",
            "product": "dca-10mg-ml",
            "lot": "K1234",
            "expiry": "2027-06-30",
            "technique": "point",
            "points": 25,
            "volume_ml": 0.2,
            "depth_mm": 6,
            "needle_gauge": 30,
            "needle_length_mm": 13,
        }
    ],
    "microneedling": [
        {
            "zone": "cheek_left",
            "device": "roller",
            "needle_length_mm": 1.0,
            "passes": 4,
            "device_lot": "R778",
            "topicals": [{"product": "ha-serum-sterile", "lot": "S55", "expiry": "2027-01-31"}],
        }
    ],
    "instrument_packs": [{"id": "P-0042", "status": "released", "expires": "2027-02-01"}],
}


def run(data: Any) -> tuple[int, dict[str, Any], str]:
    text = data if isinstance(data, str) else json.dumps(data)
    code, out, err = run_check_session(text)
    return code, json.loads(out), err


def test_contract_example_is_a_warning() -> None:
    code, out, err = run(CONTRACT_EXAMPLE)
    assert code == 0
    assert out["verdict"] == "warn"
    assert out["protocol"] == "submental-dca"
    assert out["engine_version"] == "1.1.0"
    assert [f["code"] for f in out["findings"] if f["severity"] == "warn"] == [
        "contra.anticoagulant"
    ]
    for f in out["findings"]:
        assert set(f) >= {"code", "severity", "message", "evidence", "source", "where"}
    assert err == ""


def test_block_exits_1_and_ok_exits_0() -> None:
    data = clean("submental-dca")
    assert run(data)[0] == 0
    data["injections"][0]["points"] = 52
    code, out, _ = run(data)
    assert code == 1
    assert out["verdict"] == "block"
    messages = [f["message"] for f in out["findings"] if f["code"] == "dose.max_volume"]
    assert messages == ["10.4 mL of dca-10mg-ml in one session; the label allows at most 10 mL"]


def with_change(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.loads(json.dumps(base or CONTRACT_EXAMPLE))
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


INVALID = [
    (
        "volume negative",
        ["injections", 0, "volume_ml"],
        -0.2,
        "injections[0].volume_ml",
        "must be a positive number",
    ),
    (
        "volume text",
        ["injections", 0, "volume_ml"],
        "0.2",
        "injections[0].volume_ml",
        "must be a positive number",
    ),
    (
        "volume bool",
        ["injections", 0, "volume_ml"],
        True,
        "injections[0].volume_ml",
        "must be a positive number",
    ),
    ("points zero", ["injections", 0, "points"], 0, "injections[0].points", None),
    ("points fraction", ["injections", 0, "points"], 2.5, "injections[0].points", None),
    ("date missing", ["date"], KeyError, "date", "is required"),
    ("date bad", ["date"], "25/11/2026", "date", None),
    ("date impossible", ["date"], "2026-02-30", "date", None),
    ("protocol missing", ["protocol"], KeyError, "protocol", "is required"),
    (
        "birth date missing",
        ["patient", "birth_date"],
        KeyError,
        "patient.birth_date",
        "is required",
    ),
    ("patient missing", ["patient"], KeyError, "patient.birth_date", "is required"),
    ("patient not object", ["patient"], [], "patient", "must be an object"),
    ("pregnant text", ["patient", "pregnant"], "no", "patient.pregnant", None),
    ("fitzpatrick 7", ["patient", "fitzpatrick"], 7, "patient.fitzpatrick", None),
    ("conditions not list", ["patient", "conditions"], "dysphagia", "patient.conditions", None),
    ("unknown protocol", ["protocol"], "lipo-magic", "protocol", "unknown protocol"),
    ("unknown zone", ["injections", 0, "zone"], "earlobe", "injections[0].zone", "unknown zone"),
    (
        "unknown product",
        ["injections", 0, "product"],
        "botox",
        "injections[0].product",
        "unknown product",
    ),
    (
        "unknown condition",
        ["patient", "conditions", 0],
        "flu",
        "patient.conditions[0]",
        "unknown condition",
    ),
    (
        "unknown medication",
        ["patient", "medications", 0],
        "aspirin",
        "patient.medications[0]",
        "unknown medication",
    ),
    (
        "unknown allergy",
        ["patient", "allergies", 0],
        "peanut",
        "patient.allergies[0]",
        "unknown allergy",
    ),
    (
        "unknown adverse event",
        ["history", 0, "adverse_events", 0],
        "rash",
        "history[0].adverse_events[0]",
        "unknown adverse event",
    ),
    (
        "unknown history protocol",
        ["history", 0, "protocol"],
        "x",
        "history[0].protocol",
        "unknown protocol",
    ),
    (
        "unknown technique",
        ["injections", 0, "technique"],
        "fern",
        "injections[0].technique",
        "unknown technique",
    ),
    (
        "unknown pack status",
        ["instrument_packs", 0, "status"],
        "lost",
        "instrument_packs[0].status",
        "unknown pack status",
    ),
    (
        "unknown topical",
        ["microneedling", 0, "topicals", 0, "product"],
        "snail-slime",
        "microneedling[0].topicals[0].product",
        "unknown product",
    ),
    (
        "unknown device",
        ["microneedling", 0, "device"],
        "hammer",
        "microneedling[0].device",
        "unknown device",
    ),
    (
        "microneedling zone missing",
        ["microneedling", 0, "zone"],
        KeyError,
        "microneedling[0].zone",
        "is required",
    ),
    ("injections not a list", ["injections"], {}, "injections", "must be a list"),
    ("expiry bad", ["injections", 0, "expiry"], "June 2027", "injections[0].expiry", None),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [pytest.param(p, v, f, m, id=name) for name, p, v, f, m in INVALID],
)
def test_invalid_input_exits_2_with_field(
    path: list[Any], value: Any, field: str, message: str | None
) -> None:
    code, out, err = run(with_change(path, value))
    assert code == 2
    assert out["field"] == field
    assert set(out) == {"error", "field"}
    if message:
        assert message in out["error"]
    assert err == f"{field}: {out['error']}"


def test_contract_error_sentence() -> None:
    data = with_change(["injections", 0, "volume_ml"], 0)
    data["injections"] = [data["injections"][0]] * 3
    data["injections"][2] = dict(data["injections"][2], volume_ml="lots")
    data["injections"][0] = dict(data["injections"][0], volume_ml=0.2)
    data["injections"][1] = dict(data["injections"][1], volume_ml=0.2)
    code, _out, err = run(data)
    assert (code, err) == (2, "injections[2].volume_ml: must be a positive number")


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", "null", "NaN", '{"date": NaN}', "42"])
def test_bad_json_exits_2(text: str) -> None:
    code, out, err = run(text)
    assert code == 2
    assert out["field"]
    assert err.startswith(out["field"] + ": ")


def test_bad_override_exits_2() -> None:
    code, out, _ = run_check_session(
        json.dumps(CONTRACT_EXAMPLE), overrides={"rules[contra.bmi].bmi_min": 35}
    )
    assert code == 2
    assert json.loads(out)["field"] == "settings.rules[contra.bmi].bmi_min"


def test_override_through_the_cli() -> None:
    data = clean("microneedling-pen")
    data["microneedling"][0]["needle_length_mm"] = 0.9
    assert run(data)[1]["verdict"] == "ok"
    code, out, _ = run_check_session(
        json.dumps(data), overrides={"zones[forehead].needle_max_mm": 0.75}
    )
    assert code == 0
    assert json.loads(out)["verdict"] == "warn"


def test_listing_helpers() -> None:
    lib = load_library()
    rows = json.loads(list_protocols_json())
    assert [r["id"] for r in rows] == list(lib.protocols)
    text = list_protocols_text()
    for code in lib.protocols:
        assert code in text
    shown = show_protocol_text("submental-dca")
    assert "max sessions: 6 sessions [L]" in shown
    assert "contra.bmi" in shown
    assert "aftercare" in shown
    # 1.1: the rules that follow what is charted, with their thresholds and sources.
    shown = show_protocol_text("fractional-laser-meso")
    assert "energy modalities: fractional-laser-ablative, fractional-laser-non-ablative" in shown
    assert "after_ablative_days: 84 days [L] InMode Optimas" in shown
    assert "after_non_ablative_days: 21 days [L]" in shown
    assert "beyond_use_days: 28 days after first puncture [S] USP 797" in shown
    assert "contra.isotretinoin (block, L) with fractional-laser-ablative" in shown
    assert "energy modalities" not in show_protocol_text("skin-booster")
    with pytest.raises(KeyError):
        show_protocol_text("nope")
    params = json.loads(tunable_parameters_json())
    assert all(p["evidence"] in ("P", "G") for p in params)


def test_plan_course_text() -> None:
    text = plan_course_text("submental-dca", "2026-11-25", ["2026-09-01", "2026-10-01"])
    assert "sessions left: 4 of 6" in text
    assert "session 3: earliest 2026-11-25" in text
    assert "infection_surveillance_end" in text
    with pytest.raises(InvalidInput) as exc:
        plan_course_text("submental-dca", "2026-13-01")
    assert exc.value.field == "start"
    with pytest.raises(InvalidInput) as exc:
        plan_course_text("submental-dca", "2026-11-01", ["2026-01-01", "yesterday"])
    assert exc.value.field == "history[1]"
    with pytest.raises(InvalidInput) as exc:
        plan_course_text("magic", "2026-11-01")
    assert exc.value.field == "protocol"


def test_docs_list_every_rule() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "safety-engine.md"
    text = doc.read_text(encoding="utf-8")
    for code in load_library().rules:
        assert f"`{code}`" in text, code
