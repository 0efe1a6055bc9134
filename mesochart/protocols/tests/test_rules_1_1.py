"""Contract 1.1 rules: energy-device and needle-free passes, opened vials, stricter input.

Boundaries are taken from the library (the RF microneedling manufacturer's intervals, the USP
797 28 days), so the tests read the thresholds rather than restating them where they can.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from mesochart.protocols import check_session, load_library, run_check_session

from .helpers import DATE, clean, patient, session, severities

SESSION_DATE = date.fromisoformat(DATE)


def days_before(n: int) -> str:
    return (SESSION_DATE - timedelta(days=n)).isoformat()


def energy(zone: str = "cheek_left", modality: str = "rf-microneedling", **extra: Any) -> dict:
    d: dict[str, Any] = {"zone": zone, "modality": modality}
    d.update(extra)
    return d


def laser_session(*passes: dict[str, Any], **changes: Any) -> dict[str, Any]:
    s = clean("fractional-laser-meso")
    s["energy"] = list(passes) or [energy(modality="fractional-laser-non-ablative")]
    s.update(changes)
    return s


def earlier(n: int, *modalities: str, zones: tuple[str, ...] = ("cheek_left",)) -> dict:
    return {
        "date": days_before(n),
        "protocol": "fractional-laser-meso",
        "zones": list(zones),
        "modalities": list(modalities),
    }


def findings(data: dict[str, Any], code: str) -> list[Any]:
    return [f for f in check_session(data).findings if f.code == code]


# --- energy.recent_treatment --------------------------------------------------------------


def test_the_intervals_are_library_data_with_the_manufacturer_as_source() -> None:
    rule = load_library().rules["energy.recent_treatment"]
    assert rule.severity == "block" and rule.evidence == "L"
    assert rule.params["after_ablative_days"].number == 84
    assert rule.params["after_non_ablative_days"].number == 21
    assert "Optimas" in rule.params["after_ablative_days"].source


@pytest.mark.parametrize(
    ("modality_now", "earlier_modality", "days", "blocked"),
    [
        ("fractional-laser-non-ablative", "fractional-laser-ablative", 83, True),
        ("fractional-laser-non-ablative", "fractional-laser-ablative", 84, False),
        ("rf-microneedling", "fractional-laser-ablative", 83, True),
        ("fractional-laser-ablative", "fractional-laser-ablative", 84, False),
        ("fractional-laser-ablative", "fractional-laser-non-ablative", 20, True),
        ("fractional-laser-ablative", "fractional-laser-non-ablative", 21, False),
        ("fractional-laser-non-ablative", "rf-microneedling", 20, True),
        ("fractional-laser-non-ablative", "rf-microneedling", 21, False),
        ("rf-microneedling", "rf-microneedling", 0, True),
        ("rf-microneedling", "rf-microneedling", 21, False),
        # Needle-free passes neither trigger the rule nor count as an earlier treatment.
        ("iontophoresis", "fractional-laser-ablative", 10, False),
        ("fractional-laser-ablative", "sonophoresis", 1, False),
    ],
)
def test_recent_energy_treatment_at_its_boundaries(
    modality_now: str, earlier_modality: str, days: int, blocked: bool
) -> None:
    data = laser_session(energy(modality=modality_now), history=[earlier(days, earlier_modality)])
    found = findings(data, "energy.recent_treatment")
    if blocked:
        assert [(f.severity, f.where, f.overridable) for f in found] == [
            ("block", "energy[0].zone", False)
        ]
        assert f"{days} days before" in found[0].message
        assert earlier_modality in found[0].message
        assert check_session(data).verdict == "block"
    else:
        assert found == []


def test_a_different_zone_is_not_a_recent_treatment() -> None:
    data = laser_session(
        energy("cheek_right", "fractional-laser-non-ablative"),
        history=[earlier(10, "fractional-laser-ablative", zones=("cheek_left", "forehead"))],
    )
    assert findings(data, "energy.recent_treatment") == []
    data["energy"].append(energy("forehead", "rf-microneedling"))
    assert [f.where for f in findings(data, "energy.recent_treatment")] == ["energy[1].zone"]


def test_a_history_entry_without_modalities_implies_none() -> None:
    entry = earlier(10)
    del entry["modalities"]
    data = laser_session(energy(modality="fractional-laser-ablative"), history=[entry])
    assert findings(data, "energy.recent_treatment") == []


def test_a_history_modality_applies_to_every_zone_of_the_entry() -> None:
    data = laser_session(
        energy("cheek_left", "rf-microneedling"),
        energy("forehead", "rf-microneedling"),
        history=[earlier(30, "fractional-laser-ablative", zones=("cheek_left", "forehead"))],
    )
    assert [f.where for f in findings(data, "energy.recent_treatment")] == [
        "energy[0].zone",
        "energy[1].zone",
    ]


def test_a_clinic_cannot_shorten_a_label_interval() -> None:
    from mesochart.protocols import OverrideError

    with pytest.raises(OverrideError):
        load_library().with_overrides({"rules[energy.recent_treatment].after_ablative_days": 30})


# --- patient rules extended to energy passes ----------------------------------------------


@pytest.mark.parametrize(
    ("modality", "blocked"),
    [
        ("rf-microneedling", True),
        ("iontophoresis", True),
        ("sonophoresis", True),
        ("fractional-laser-non-ablative", False),
        ("fractional-laser-ablative", False),
    ],
)
def test_pacemaker_blocks_current_and_ultrasound_passes_in_any_protocol(
    modality: str, blocked: bool
) -> None:
    # skin-revitalisation does not name any energy device: the modality decides.
    data = clean("skin-revitalisation")
    data["patient"] = patient(conditions=["pacemaker"])
    data["energy"] = [energy("cheek_left", modality)]
    assert severities(check_session(data), "contra.pacemaker") == (["block"] if blocked else [])
    del data["energy"]
    assert severities(check_session(data), "contra.pacemaker") == []


@pytest.mark.parametrize(
    ("last_dose", "modality", "expected"),
    [
        ("2026-05-26", "fractional-laser-non-ablative", ["block"]),
        ("2026-05-26", "fractional-laser-ablative", ["block"]),
        ("2026-05-25", "fractional-laser-ablative", []),  # six calendar months: clear
        ("2026-05-26", "sonophoresis", ["warn"]),  # the 1.0 warn of the protocol stays
    ],
)
def test_isotretinoin_blocks_any_fractional_laser_pass(
    last_dose: str, modality: str, expected: list[str]
) -> None:
    data = clean("skin-revitalisation")
    data["patient"] = patient(isotretinoin_last_dose=last_dose)
    data["energy"] = [energy("cheek_left", modality)]
    found = findings(data, "contra.isotretinoin")
    assert [f.severity for f in found] == expected
    if expected == ["block"]:
        assert modality in found[0].message
        assert found[0].evidence == "L" and not found[0].overridable


@pytest.mark.parametrize(
    ("fitzpatrick", "modality", "expected"),
    [
        (4, "rf-microneedling", ["warn"]),
        (4, "fractional-laser-ablative", ["warn"]),
        (3, "fractional-laser-ablative", []),
        (6, "iontophoresis", []),
    ],
)
def test_pih_risk_with_energy(fitzpatrick: int, modality: str, expected: list[str]) -> None:
    data = clean("skin-booster")
    data["patient"] = patient(fitzpatrick=fitzpatrick)
    data["energy"] = [energy("cheek_right", modality)]
    assert severities(check_session(data), "contra.pih_risk") == expected


@pytest.mark.parametrize(
    ("condition", "code", "severity"),
    [
        ("bleeding_disorder", "contra.bleeding_disorder", "block"),
        ("keloid_tendency", "contra.keloid", "warn"),
    ],
)
def test_energy_counts_as_treatment_for_bleeding_and_keloid(
    condition: str, code: str, severity: str
) -> None:
    # A session of energy passes only (no injection, no needling row).
    data = session(
        "fractional-laser-meso",
        patient=patient(conditions=[condition]),
        energy=[energy("cheek_left", "fractional-laser-non-ablative")],
    )
    assert severities(check_session(data), code) == [severity]
    data["energy"] = []
    assert severities(check_session(data), code) == []


def test_hsv_counts_energy_zones() -> None:
    data = session(
        "fractional-laser-meso",
        patient=patient(conditions=["herpes_labialis"]),
        energy=[energy("cheek_left", "fractional-laser-non-ablative")],
    )
    assert severities(check_session(data), "contra.hsv") == []
    data["energy"].append(energy("perioral", "fractional-laser-non-ablative"))
    found = findings(data, "contra.hsv")
    assert [(f.severity, f.where) for f in found] == [("warn", "energy[1].zone")]


def test_active_infection_blocks_an_energy_only_session() -> None:
    data = session(
        "fractional-laser-meso",
        patient=patient(conditions=["active_infection_site"]),
        energy=[energy("cheek_left", "rf-microneedling")],
    )
    assert severities(check_session(data), "contra.active_infection") == ["block"]


def test_allergy_to_a_topical_delivered_by_an_energy_pass() -> None:
    topical = {"product": "vitamin-c-serum", "lot": "V1", "expiry": "2027-01-31"}
    data = session(
        "needle-free",
        instrument_packs=[],
        patient=patient(allergies=["ascorbic_acid"]),
        energy=[energy("cheek_left", "iontophoresis", topicals=[topical])],
    )
    found = findings(data, "contra.allergy")
    assert [(f.severity, f.where) for f in found] == [("block", "energy[0].topicals[0].product")]


# --- zone.forbidden and topicals ----------------------------------------------------------


@pytest.mark.parametrize("modality", ["fractional-laser-non-ablative", "iontophoresis"])
def test_no_energy_pass_on_an_eyelid(modality: str) -> None:
    data = laser_session(energy("eyelid_left", modality))
    found = findings(data, "zone.forbidden")
    assert [(f.severity, f.where, f.evidence) for f in found] == [("block", "energy[0].zone", "P")]
    assert found[0].overridable  # P evidence: a prescriber may override, audited
    data["energy"] = [energy("periorbital_left", modality)]
    assert findings(data, "zone.forbidden") == []


def test_topical_through_skin_opened_by_laser_must_be_intradermal() -> None:
    not_intradermal = {"product": "vitamin-c-serum", "lot": "V1", "expiry": "2027-01-31"}
    data = laser_session(energy(modality="fractional-laser-ablative", topicals=[not_intradermal]))
    assert [f.where for f in findings(data, "topical.not_intradermal")] == [
        "energy[0].topicals[0].product"
    ]
    # Iontophoresis opens no channels: the same serum is what the device is made for.
    data["energy"] = [energy(modality="iontophoresis", topicals=[not_intradermal])]
    assert findings(data, "topical.not_intradermal") == []


def test_energy_topicals_need_lot_and_expiry_in_date() -> None:
    data = laser_session(
        energy(
            modality="fractional-laser-non-ablative",
            topicals=[{"product": "ha-serum-sterile", "expiry": days_before(1)}],
        )
    )
    assert {(f.code, f.where) for f in check_session(data).findings} >= {
        ("lot.missing", "energy[0].topicals[0].lot"),
        ("lot.expired", "energy[0].topicals[0].expiry"),
    }


def test_an_energy_modality_outside_the_protocol_is_noted() -> None:
    data = laser_session(energy(modality="rf-microneedling"))
    assert [f.where for f in findings(data, "protocol.off_protocol")] == ["energy[0].modality"]
    assert findings(laser_session(), "protocol.off_protocol") == []


# --- vials --------------------------------------------------------------------------------


def vial(opened_days_before: int | None, multi_dose: bool = True, **extra: Any) -> dict:
    d: dict[str, Any] = {
        "product": "caffeine-deoxycholate",
        "lot": "C7",
        "expiry": "2027-05-31",
        "multi_dose": multi_dose,
    }
    if opened_days_before is not None:
        d["opened"] = days_before(opened_days_before)
    d.update(extra)
    return d


@pytest.mark.parametrize(("days", "blocked"), [(0, False), (28, False), (29, True)])
def test_a_multi_dose_vial_28_days_after_opening(days: int, blocked: bool) -> None:
    data = clean("contour-lipolytic")
    data["vials"] = [vial(days)]
    found = findings(data, "vial.beyond_use")
    if blocked:
        assert [(f.severity, f.where, f.evidence, f.overridable) for f in found] == [
            ("block", "vials[0].opened", "S", False)
        ]
        assert "29 days" in found[0].message and "C7" in found[0].message
    else:
        assert found == []
        assert check_session(data).verdict == "ok"


def test_the_default_applies_to_a_product_without_its_own_beyond_use() -> None:
    # ha-nonxl-vitamins is single-use in the library; charted from a multi-dose vial, the
    # rule's USP 797 default applies.
    assert load_library().rules["vial.beyond_use"].params["beyond_use_days"].number == 28
    data = clean("skin-revitalisation")
    data["vials"] = [vial(29, product="ha-nonxl-vitamins")]
    assert [f.where for f in findings(data, "vial.beyond_use")] == ["vials[0].opened"]


def test_single_dose_vials_have_no_beyond_use_date() -> None:
    data = clean("skin-revitalisation")
    data["vials"] = [vial(None, multi_dose=False, product="ha-nonxl-vitamins")]
    assert check_session(data).verdict == "ok"
    data["vials"] = [vial(400, multi_dose=False, product="ha-nonxl-vitamins")]
    assert findings(data, "vial.beyond_use") == []


def test_vials_need_lot_and_expiry_in_date() -> None:
    data = clean("contour-lipolytic")
    data["vials"] = [vial(3, lot=None, expiry=days_before(1))]
    del data["vials"][0]["lot"]
    assert {(f.code, f.where) for f in check_session(data).findings} >= {
        ("lot.missing", "vials[0].lot"),
        ("lot.expired", "vials[0].expiry"),
    }
    data["vials"] = [vial(3, expiry=DATE)]  # expiry on the day is allowed
    assert check_session(data).verdict == "ok"


# --- stricter input -----------------------------------------------------------------------


def run(data: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_check_session(json.dumps(data))
    return code, json.loads(out), err


def with_volume_missing() -> dict[str, Any]:
    data = clean("submental-dca")
    del data["injections"][0]["volume_ml"]
    return data


def multi_dose_unopened() -> dict[str, Any]:
    data = clean("contour-lipolytic")
    data["vials"] = [vial(None)]
    return data


def later_history() -> dict[str, Any]:
    data = clean("skin-booster")
    data["history"] = [{"date": "2026-12-01", "protocol": "skin-booster"}]
    return data


def unknown_key(where: str) -> dict[str, Any]:
    data = laser_session(history=[earlier(30, "rf-microneedling")])
    data["vials"] = [vial(3)]
    target: dict[str, Any] = {
        "top": data,
        "patient": data["patient"],
        "injection": data["microneedling"][0],
        "topical": data["microneedling"][0]["topicals"][0],
        "energy": data["energy"][0],
        "vial": data["vials"][0],
        "history": data["history"][0],
        "pack": data["instrument_packs"][0],
    }[where]
    target["dose_note"] = "x"
    return data


INVALID_1_1: list[tuple[str, Any, str, str]] = [
    ("volume_ml missing", with_volume_missing, "injections[0].volume_ml", "required"),
    ("history after date", later_history, "history[0].date", "after the session date"),
    (
        "unknown modality",
        lambda: laser_session(energy(modality="cryolipolysis")),
        "energy[0].modality",
        "unknown",
    ),
    (
        "unknown history modality",
        lambda: laser_session(history=[earlier(30, "microwave")]),
        "history[0].modalities[0]",
        "unknown",
    ),
    (
        "energy zone missing",
        lambda: laser_session({"modality": "rf-microneedling"}),
        "energy[0].zone",
        "required",
    ),
    ("energy zone unknown", lambda: laser_session(energy("elbow")), "energy[0].zone", "unknown"),
    ("passes zero", lambda: laser_session(energy(passes=0)), "energy[0].passes", "positive"),
    (
        "setting not a number",
        lambda: laser_session(energy(settings={"energy_mj": "high"})),
        "energy[0].settings.energy_mj",
        "number",
    ),
    ("multi-dose vial unopened", multi_dose_unopened, "vials[0].opened", "required"),
    (
        "vial opened after date",
        lambda: dict(clean("contour-lipolytic"), vials=[vial(-1)]),
        "vials[0].opened",
        "after the session date",
    ),
    (
        "vial product unknown",
        lambda: dict(clean("contour-lipolytic"), vials=[vial(1, product="snake-oil")]),
        "vials[0].product",
        "unknown",
    ),
    ("unknown top-level key", lambda: unknown_key("top"), "dose_note", "unknown field"),
    ("unknown patient key", lambda: unknown_key("patient"), "patient.dose_note", "unknown field"),
    (
        "unknown microneedling key",
        lambda: unknown_key("injection"),
        "microneedling[0].dose_note",
        "unknown field",
    ),
    (
        "unknown topical key",
        lambda: unknown_key("topical"),
        "microneedling[0].topicals[0].dose_note",
        "unknown field",
    ),
    ("unknown energy key", lambda: unknown_key("energy"), "energy[0].dose_note", "unknown field"),
    ("unknown vial key", lambda: unknown_key("vial"), "vials[0].dose_note", "unknown field"),
    (
        "unknown history key",
        lambda: unknown_key("history"),
        "history[0].dose_note",
        "unknown field",
    ),
    (
        "unknown pack key",
        lambda: unknown_key("pack"),
        "instrument_packs[0].dose_note",
        "unknown field",
    ),
]


@pytest.mark.parametrize(
    ("make", "field", "message"),
    [pytest.param(m, f, msg, id=name) for name, m, f, msg in INVALID_1_1],
)
def test_new_invalid_inputs_exit_2_with_the_field_path(make: Any, field: str, message: str) -> None:
    code, out, err = run(make())
    assert code == 2
    assert out["field"] == field
    assert message in out["error"]
    assert err == f"{field}: {out['error']}"


def test_the_same_day_history_is_valid_and_worded_as_such() -> None:
    data = clean("skin-booster")
    data["history"] = [{"date": DATE, "protocol": "skin-booster"}]
    found = findings(data, "interval.too_short")
    assert len(found) == 1 and "the same day" in found[0].message
    data["history"] = [{"date": days_before(6), "protocol": "skin-booster"}]
    assert "6 days earlier" in findings(data, "interval.too_short")[0].message


def test_the_contract_example_is_valid_and_the_energy_output_is_the_contract_json() -> None:
    data = laser_session(
        energy(
            "cheek_left",
            "fractional-laser-non-ablative",
            device="Fraxel Dual",
            passes=2,
            test_spot=True,
            settings={"energy_mj": 20, "density_pct": 10},
        ),
        history=[earlier(36, "fractional-laser-ablative")],
    )
    data["vials"] = [
        {
            "product": "ha-nonxl-vitamins",
            "lot": "H1",
            "expiry": "2027-05-31",
            "multi_dose": True,
            "opened": "2026-11-10",
        }
    ]
    code, out, _ = run(data)
    assert code == 1 and out["engine_version"] == "1.1.0"
    assert [(f["code"], f["where"]) for f in out["findings"] if f["severity"] == "block"] == [
        ("energy.recent_treatment", "energy[0].zone")
    ]
