"""One table row per contract rule and threshold side: (base, change, code, expected)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mesochart.protocols import check_session

from .helpers import check, clean, inj, mn, severities

Change = Callable[[dict[str, Any]], object]


def pat(**kw: Any) -> Change:
    return lambda s: s["patient"].update(kw)


def top(**kw: Any) -> Change:
    return lambda s: s.update(kw)


def dca_points(points: int, volume: float) -> Change:
    def change(s: dict[str, Any]) -> None:
        s["injections"][0]["points"] = points
        s["injections"][0]["volume_ml"] = volume

    return change


def history(protocol: str, dates: list[str], events: list[str] | None = None) -> Change:
    return top(
        history=[
            {"date": d, "protocol": protocol, "zones": [], "adverse_events": events or []}
            for d in dates
        ]
    )


def first_injection(**kw: Any) -> Change:
    return lambda s: s["injections"][0].update(kw)


def first_topical(**kw: Any) -> Change:
    return lambda s: s["microneedling"][0]["topicals"][0].update(kw)


def first_pack(**kw: Any) -> Change:
    return lambda s: s["instrument_packs"][0].update(kw)


def drop(key: str) -> Change:
    return lambda s: s["injections"][0].pop(key)


NOTHING: Change = lambda s: None  # noqa: E731

CASES: list[tuple[str, str, Change, str, str | None]] = [
    # consent
    ("consent missing", "submental-dca", top(consents=["photo"]), "consent.missing", "block"),
    ("consent present", "submental-dca", NOTHING, "consent.missing", None),
    # pregnancy / breastfeeding, any protocol
    ("pregnant", "skin-booster", pat(pregnant=True), "contra.pregnancy", "block"),
    ("breastfeeding", "needle-free", pat(breastfeeding=True), "contra.pregnancy", "block"),
    ("not pregnant", "skin-booster", pat(pregnant=False), "contra.pregnancy", None),
    # minor: 18th birthday boundary (session 2026-11-25)
    (
        "17 the day before the birthday",
        "skin-booster",
        pat(birth_date="2008-11-26"),
        "contra.minor",
        "block",
    ),
    ("18 on the birthday", "skin-booster", pat(birth_date="2008-11-25"), "contra.minor", None),
    # active infection
    (
        "active infection",
        "skin-booster",
        pat(conditions=["active_infection_site"]),
        "contra.active_infection",
        "block",
    ),
    # allergy
    (
        "allergy to injected ingredient",
        "submental-dca",
        pat(allergies=["deoxycholic_acid"]),
        "contra.allergy",
        "block",
    ),
    (
        "allergy to lidocaine in HA-lidocaine",
        "skin-revitalisation",
        pat(allergies=["lidocaine"]),
        "contra.allergy",
        "block",
    ),
    (
        "allergy to a topical ingredient",
        "microneedling-roller",
        pat(allergies=["hyaluronic_acid"]),
        "contra.allergy",
        "block",
    ),
    (
        "allergy not in any product",
        "submental-dca",
        pat(allergies=["lidocaine"]),
        "contra.allergy",
        None,
    ),
    # bleeding disorder
    (
        "bleeding disorder with injection",
        "skin-booster",
        pat(conditions=["bleeding_disorder"]),
        "contra.bleeding_disorder",
        "block",
    ),
    (
        "bleeding disorder with microneedling",
        "microneedling-pen",
        pat(conditions=["bleeding_disorder"]),
        "contra.bleeding_disorder",
        "block",
    ),
    (
        "bleeding disorder, nothing needled",
        "needle-free",
        pat(conditions=["bleeding_disorder"]),
        "contra.bleeding_disorder",
        None,
    ),
    # anticoagulant / antiplatelet
    (
        "anticoagulant",
        "submental-dca",
        pat(medications=["anticoagulant"]),
        "contra.anticoagulant",
        "warn",
    ),
    (
        "antiplatelet",
        "microneedling-roller",
        pat(medications=["antiplatelet"]),
        "contra.anticoagulant",
        "warn",
    ),
    (
        "anticoagulant, nothing needled",
        "needle-free",
        pat(medications=["anticoagulant"]),
        "contra.anticoagulant",
        None,
    ),
    # isotretinoin: 6 months before 2026-11-25 is 2026-05-25
    (
        "isotretinoin exactly 6 months",
        "submental-dca",
        pat(isotretinoin_last_dose="2026-05-25"),
        "contra.isotretinoin",
        None,
    ),
    (
        "isotretinoin 6 months minus a day",
        "submental-dca",
        pat(isotretinoin_last_dose="2026-05-26"),
        "contra.isotretinoin",
        "warn",
    ),
    (
        "isotretinoin microneedling",
        "microneedling-pen",
        pat(isotretinoin_last_dose="2026-09-01"),
        "contra.isotretinoin",
        "warn",
    ),
    (
        "isotretinoin fractional laser",
        "fractional-laser-meso",
        pat(isotretinoin_last_dose="2026-09-01"),
        "contra.isotretinoin",
        "block",
    ),
    (
        "isotretinoin fractional laser after 6 months",
        "fractional-laser-meso",
        pat(isotretinoin_last_dose="2026-05-25"),
        "contra.isotretinoin",
        None,
    ),
    (
        "isotretinoin needle-free",
        "needle-free",
        pat(isotretinoin_last_dose="2026-09-01"),
        "contra.isotretinoin",
        None,
    ),
    # keloid
    (
        "keloid with injection",
        "skin-booster",
        pat(conditions=["keloid_tendency"]),
        "contra.keloid",
        "warn",
    ),
    (
        "keloid, nothing needled",
        "needle-free",
        pat(conditions=["keloid_tendency"]),
        "contra.keloid",
        None,
    ),
    # immune
    ("autoimmune", "skin-booster", pat(conditions=["autoimmune_disease"]), "contra.immune", "warn"),
    (
        "immunosuppression",
        "needle-free",
        pat(conditions=["immunosuppression"]),
        "contra.immune",
        "warn",
    ),
    (
        "immunosuppressant",
        "skin-booster",
        pat(medications=["immunosuppressant"]),
        "contra.immune",
        "warn",
    ),
    # herpes labialis and perioral zones
    (
        "hsv and upper lip",
        "skin-revitalisation",
        lambda s: (
            s["patient"].update(conditions=["herpes_labialis"]),
            s["injections"].append(inj("upper_lip", "ha-nonxl-vitamins", 0.02, 5)),
        ),
        "contra.hsv",
        "warn",
    ),
    (
        "hsv and nasolabial microneedling",
        "microneedling-roller",
        lambda s: (
            s["patient"].update(conditions=["herpes_labialis"]),
            s["microneedling"].append(mn("nasolabial_right", needle_length_mm=0.5)),
        ),
        "contra.hsv",
        "warn",
    ),
    (
        "hsv and chin",
        "microneedling-pen",
        pat(conditions=["herpes_labialis"]),
        "contra.hsv",
        "warn",
    ),
    ("hsv, cheek only", "skin-booster", pat(conditions=["herpes_labialis"]), "contra.hsv", None),
    # BMI (submental-dca only)
    ("bmi 29.9", "submental-dca", pat(bmi=29.9), "contra.bmi", None),
    ("bmi 30", "submental-dca", pat(bmi=30), "contra.bmi", "block"),
    ("bmi 35, other protocol", "skin-booster", pat(bmi=35), "contra.bmi", None),
    # BDD
    (
        "bdd submental-dca",
        "submental-dca",
        pat(conditions=["body_dysmorphic_disorder"]),
        "contra.bdd",
        "block",
    ),
    (
        "bdd contour-lipolytic",
        "contour-lipolytic",
        pat(conditions=["body_dysmorphic_disorder"]),
        "contra.bdd",
        "block",
    ),
    (
        "bdd skin-booster",
        "skin-booster",
        pat(conditions=["body_dysmorphic_disorder"]),
        "contra.bdd",
        None,
    ),
    # dysphagia
    ("dysphagia dca", "submental-dca", pat(conditions=["dysphagia"]), "contra.dysphagia", "warn"),
    ("dysphagia booster", "skin-booster", pat(conditions=["dysphagia"]), "contra.dysphagia", None),
    # prior necrosis / ulceration after deoxycholic acid
    (
        "necrosis after dca",
        "submental-dca",
        history("submental-dca", ["2026-09-01"], ["necrosis"]),
        "contra.prior_necrosis",
        "block",
    ),
    (
        "ulceration after lipolytic, dca now",
        "submental-dca",
        history("contour-lipolytic", ["2026-09-01"], ["ulceration"]),
        "contra.prior_necrosis",
        "block",
    ),
    (
        "nodule after dca",
        "submental-dca",
        history("submental-dca", ["2026-09-01"], ["nodule"]),
        "contra.prior_necrosis",
        None,
    ),
    (
        "necrosis after HA booster",
        "submental-dca",
        history("skin-booster", ["2026-09-01"], ["necrosis"]),
        "contra.prior_necrosis",
        None,
    ),
    (
        "necrosis after dca, no dca now",
        "skin-booster",
        history("submental-dca", ["2026-09-01"], ["necrosis"]),
        "contra.prior_necrosis",
        None,
    ),
    # pacemaker
    (
        "pacemaker needle-free",
        "needle-free",
        pat(conditions=["pacemaker"]),
        "contra.pacemaker",
        "block",
    ),
    (
        "pacemaker rf",
        "rf-microneedling-meso",
        pat(conditions=["pacemaker"]),
        "contra.pacemaker",
        "block",
    ),
    (
        "pacemaker and an rf device in another protocol",
        "microneedling-pen",
        lambda s: (
            s["patient"].update(conditions=["pacemaker"]),
            s["microneedling"].append(mn("cheek_left", "rf", 1.0)),
        ),
        "contra.pacemaker",
        "block",
    ),
    ("pacemaker booster", "skin-booster", pat(conditions=["pacemaker"]), "contra.pacemaker", None),
    # PIH risk
    (
        "fitzpatrick 4 microneedling",
        "microneedling-roller",
        pat(fitzpatrick=4),
        "contra.pih_risk",
        "warn",
    ),
    (
        "fitzpatrick 3 microneedling",
        "microneedling-roller",
        pat(fitzpatrick=3),
        "contra.pih_risk",
        None,
    ),
    (
        "fitzpatrick 6 fractional laser",
        "fractional-laser-meso",
        pat(fitzpatrick=6),
        "contra.pih_risk",
        "warn",
    ),
    ("fitzpatrick 5 rf", "rf-microneedling-meso", pat(fitzpatrick=5), "contra.pih_risk", "warn"),
    ("fitzpatrick 5 booster", "skin-booster", pat(fitzpatrick=5), "contra.pih_risk", None),
    # dose: volume per point 0.2 vs 0.21
    ("0.2 mL per point", "submental-dca", dca_points(25, 0.2), "dose.volume_per_point", None),
    ("0.21 mL per point", "submental-dca", dca_points(25, 0.21), "dose.volume_per_point", "block"),
    (
        "0.21 mL per point of the lipolytic",
        "contour-lipolytic",
        dca_points(10, 0.21),
        "dose.volume_per_point",
        "block",
    ),
    # dose: points 50 vs 51
    ("50 points", "submental-dca", dca_points(50, 0.1), "dose.max_points", None),
    ("51 points", "submental-dca", dca_points(51, 0.1), "dose.max_points", "block"),
    # dose: volume 10.0 vs 10.2
    ("10.0 mL", "submental-dca", dca_points(50, 0.2), "dose.max_volume", None),
    ("10.2 mL", "submental-dca", dca_points(51, 0.2), "dose.max_volume", "block"),
    (
        "10.2 mL over two injections",
        "submental-dca",
        lambda s: s["injections"].append(inj("submental", "dca-10mg-ml", 0.2, 26)),
        "dose.max_volume",
        "block",
    ),
    # zone: off label
    (
        "dca in cheek without consent",
        "contour-lipolytic",
        first_injection(zone="cheek_left"),
        "zone.off_label",
        "block",
    ),
    (
        "dca in jowl with consent",
        "contour-lipolytic",
        lambda s: (
            s["injections"][0].update(zone="jowl_right"),
            s.update(consents=["treatment", "off_label"]),
        ),
        "zone.off_label",
        "warn",
    ),
    ("dca in submental", "submental-dca", NOTHING, "zone.off_label", None),
    # zone: forbidden
    (
        "dca in jawline",
        "contour-lipolytic",
        lambda s: (
            s["injections"][0].update(zone="jawline_left"),
            s.update(consents=["treatment", "off_label"]),
        ),
        "zone.forbidden",
        "block",
    ),
    (
        "microneedling eyelid",
        "microneedling-pen",
        lambda s: s["microneedling"].append(mn("eyelid_left", "pen", 0.25)),
        "zone.forbidden",
        "block",
    ),
    (
        "injection eyelid",
        "skin-revitalisation",
        lambda s: s["injections"].append(inj("eyelid_right", "ha-nonxl-vitamins", 0.02, 3)),
        "zone.forbidden",
        "block",
    ),
    (
        "HA in jawline",
        "skin-revitalisation",
        lambda s: s["injections"].append(inj("jawline_left", "ha-nonxl-vitamins", 0.02, 3)),
        "zone.forbidden",
        None,
    ),
    # needle length per zone
    (
        "forehead 1.0 mm",
        "microneedling-pen",
        lambda s: s["microneedling"][0].update(needle_length_mm=1.0),
        "needle.zone_length",
        None,
    ),
    (
        "forehead 1.5 mm",
        "microneedling-pen",
        lambda s: s["microneedling"][0].update(needle_length_mm=1.5),
        "needle.zone_length",
        "warn",
    ),
    (
        "cheek 2.0 mm",
        "microneedling-roller",
        lambda s: s["microneedling"][0].update(needle_length_mm=2.0),
        "needle.zone_length",
        None,
    ),
    (
        "cheek 2.5 mm",
        "microneedling-roller",
        lambda s: s["microneedling"][0].update(needle_length_mm=2.5),
        "needle.zone_length",
        "warn",
    ),
    # interval: 27 vs 28 days
    (
        "dca 27 days",
        "submental-dca",
        history("submental-dca", ["2026-10-29"]),
        "interval.too_short",
        "block",
    ),
    (
        "dca 28 days",
        "submental-dca",
        history("submental-dca", ["2026-10-28"]),
        "interval.too_short",
        None,
    ),
    (
        "booster 27 days",
        "skin-booster",
        history("skin-booster", ["2026-10-29"]),
        "interval.too_short",
        "warn",
    ),
    (
        "booster 28 days",
        "skin-booster",
        history("skin-booster", ["2026-10-28"]),
        "interval.too_short",
        None,
    ),
    (
        "other protocol 3 days ago",
        "submental-dca",
        history("skin-booster", ["2026-11-22"]),
        "interval.too_short",
        None,
    ),
    # course maximum: 5 vs 6 earlier sessions
    (
        "5 earlier dca sessions",
        "submental-dca",
        history(
            "submental-dca", ["2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"]
        ),
        "course.max_sessions",
        None,
    ),
    (
        "6 earlier dca sessions",
        "submental-dca",
        history(
            "submental-dca",
            ["2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"],
        ),
        "course.max_sessions",
        "block",
    ),
    # lots
    ("injection without lot", "skin-booster", drop("lot"), "lot.missing", "block"),
    (
        "topical without lot",
        "microneedling-roller",
        lambda s: s["microneedling"][0]["topicals"][0].pop("lot"),
        "lot.missing",
        "block",
    ),
    (
        "expired the day before",
        "submental-dca",
        first_injection(expiry="2026-11-24"),
        "lot.expired",
        "block",
    ),
    (
        "expires the same day",
        "submental-dca",
        first_injection(expiry="2026-11-25"),
        "lot.expired",
        None,
    ),
    (
        "topical expired",
        "microneedling-roller",
        first_topical(expiry="2026-11-24"),
        "lot.expired",
        "block",
    ),
    # topical not intradermal
    (
        "vitamin C serum on microchannels",
        "microneedling-roller",
        first_topical(product="vitamin-c-serum"),
        "topical.not_intradermal",
        "block",
    ),
    (
        "sterile HA serum on microchannels",
        "microneedling-roller",
        NOTHING,
        "topical.not_intradermal",
        None,
    ),
    # instrument packs
    (
        "pack quarantined",
        "skin-booster",
        first_pack(status="quarantined"),
        "sterility.pack_not_released",
        "block",
    ),
    (
        "pack failed",
        "skin-booster",
        first_pack(status="failed"),
        "sterility.pack_not_released",
        "block",
    ),
    ("pack released", "skin-booster", NOTHING, "sterility.pack_not_released", None),
    (
        "pack expired the day before",
        "skin-booster",
        first_pack(expires="2026-11-24"),
        "sterility.pack_expired",
        "block",
    ),
    (
        "pack expires the same day",
        "skin-booster",
        first_pack(expires="2026-11-25"),
        "sterility.pack_expired",
        None,
    ),
]


CASES += [
    (
        "isotretinoin still being taken",
        "skin-booster",
        pat(isotretinoin_last_dose="2027-01-10"),
        "contra.isotretinoin",
        "warn",
    ),
    (
        "vitamin C by iontophoresis on intact skin",
        "needle-free",
        NOTHING,
        "topical.not_intradermal",
        None,
    ),
    (
        "keloid, iontophoresis only",
        "needle-free",
        pat(conditions=["keloid_tendency"]),
        "contra.keloid",
        None,
    ),
    (
        "bleeding disorder, iontophoresis only",
        "needle-free",
        pat(conditions=["bleeding_disorder"]),
        "contra.bleeding_disorder",
        None,
    ),
    (
        "eyelid iontophoresis is not needling",
        "needle-free",
        lambda s: s["microneedling"].append(mn("eyelid_left", "iontophoresis", None)),
        "zone.forbidden",
        None,
    ),
    (
        "pacemaker and iontophoresis device",
        "skin-booster",
        lambda s: (
            s["patient"].update(conditions=["pacemaker"]),
            s["microneedling"].append(mn("cheek_left", "iontophoresis", None)),
        ),
        "contra.pacemaker",
        "block",
    ),
]


@pytest.mark.parametrize(
    ("base", "change", "code", "expected"),
    [pytest.param(b, c, code, e, id=name) for name, b, c, code, e in CASES],
)
def test_rule(base: str, change: Change, code: str, expected: str | None) -> None:
    data = clean(base)
    change(data)
    result = check(data)
    found = severities(result, code)
    if expected is None:
        assert found == [], result.as_dict()
    else:
        assert expected in found, result.as_dict()
        assert set(found) == {expected}


def test_every_contract_rule_has_a_firing_case() -> None:
    from mesochart.protocols.library import REQUIRED_RULES

    fired = {code for _, _, _, code, expected in CASES if expected}
    assert set(REQUIRED_RULES) <= fired


def test_contract_example_message_has_the_numbers() -> None:
    data = clean("submental-dca")
    data["injections"][0].update(points=50, volume_ml=0.2)
    data["injections"].append(inj("submental", "dca-10mg-ml", 0.2, 2))
    result = check(data)
    [finding] = [f for f in result.findings if f.code == "dose.max_volume"]
    assert finding.message == (
        "10.4 mL of dca-10mg-ml in one session; the label allows at most 10 mL"
    )
    assert finding.where == "injections"
    assert finding.evidence == "L"
    assert "Kybella" in finding.source
    assert result.verdict == "block"


def test_where_points_at_the_offending_field() -> None:
    data = clean("submental-dca")
    data["injections"].append(inj("submental", "dca-10mg-ml", 0.1, 2))
    data["injections"].append(inj("submental", "dca-10mg-ml", 0.3, 1))
    result = check(data)
    [finding] = [f for f in result.findings if f.code == "dose.volume_per_point"]
    assert finding.where == "injections[2].volume_ml"
    assert "0.3 mL per point" in finding.message


def test_label_block_is_not_overridable_but_warn_and_practice_block_are() -> None:
    data = clean("microneedling-pen")
    data["patient"]["medications"] = ["anticoagulant"]
    data["microneedling"].append(mn("eyelid_left", "pen", 0.25))
    data["consents"] = []
    result = check(data)
    by_code = {f.code: f for f in result.findings}
    assert by_code["contra.anticoagulant"].overridable is True
    assert by_code["consent.missing"].overridable is False
    assert by_code["zone.forbidden"].evidence == "P"
    assert by_code["zone.forbidden"].overridable is True


def test_verdicts() -> None:
    assert check(clean("submental-dca")).verdict == "ok"
    data = clean("submental-dca")
    data["patient"]["medications"] = ["antiplatelet"]
    assert check(data).verdict == "warn"
    data["consents"] = []
    result = check(data)
    assert result.verdict == "block"
    assert result.findings[0].severity == "block"  # most severe first


def test_history_argument_replaces_session_history() -> None:
    from datetime import date

    from mesochart.protocols import HistoryEntry

    data = clean("submental-dca")
    hist = [HistoryEntry(date=date(2026, 11, 1), protocol="submental-dca")]
    assert "interval.too_short" in check_session(data, history=hist).codes()


def test_mixture_components_need_lots() -> None:
    data = clean("skin-revitalisation")
    data["injections"].append(
        {
            "zone": "cheek_right",
            "product": "revitalisation-lidocaine-mix",
            "points": 10,
            "volume_ml": 0.05,
            "components": [
                {"product": "ha-nonxl-vitamins", "lot": "A1", "expiry": "2027-01-01"},
                {"product": "ha-nonxl-lidocaine", "expiry": "2027-01-01"},
            ],
        }
    )
    result = check(data)
    assert [f.where for f in result.findings if f.code == "lot.missing"] == [
        "injections[2].components[1].lot"
    ]
    data["patient"]["allergies"] = ["lidocaine"]
    assert "contra.allergy" in check(data).codes()
