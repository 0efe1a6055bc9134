"""The data files: evidence on every number, cross-references, loader errors, overrides."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from mesochart.protocols import (
    LibraryError,
    OverrideError,
    Settings,
    check_session,
    load_library,
    load_library_from,
    tunable_parameters,
)
from mesochart.protocols.library import DATA_DIR, DATA_FILES

from .helpers import clean

CONTRACT = {
    "protocols": "skin-revitalisation skin-booster submental-dca contour-lipolytic "
    "microneedling-roller microneedling-pen needle-free fractional-laser-meso "
    "rf-microneedling-meso hair-mesotherapy body-cellulite",
    "zones": "forehead glabella temple_left temple_right periorbital_left periorbital_right "
    "eyelid_left eyelid_right nose cheek_left cheek_right nasolabial_left nasolabial_right "
    "upper_lip perioral chin jawline_left jawline_right jowl_left jowl_right submental neck "
    "decollete scalp abdomen flank_left flank_right thigh_left thigh_right buttock_left "
    "buttock_right arm_left arm_right",
    "techniques": "nappage papule point linear microdroplet",
    "products": "dca-10mg-ml ha-nonxl-vitamins ha-skin-booster ha-nonxl-lidocaine "
    "caffeine-deoxycholate ha-serum-sterile vitamin-c-serum",
    "ingredients": "hyaluronic_acid deoxycholic_acid caffeine lidocaine vitamins ascorbic_acid",
}
REFERENCE_SNOMED = {
    "73897004",
    "68698007",
    "36141000",
    "23747009",
    "244097004",
    "362916000",
    "40069000",
    "41310005",
    "37671003",
    "113179006",
    "110488009",
    "16251004",
    "66934001",
    "37108007",
    "43081002",
    "11584001",
    "5272005",
    "34926004",
    "5713008",
    "182329002",
    "43067004",
    "61719002",
    "16621002",
    "244106003",
    "75093004",
    "22180002",
    "61248009",
    "4578000",
}


def test_library_knows_every_contract_code() -> None:
    lib = load_library()
    assert set(CONTRACT["protocols"].split()) <= set(lib.protocols)
    assert set(CONTRACT["zones"].split()) <= set(lib.zones)
    assert set(CONTRACT["techniques"].split()) <= set(lib.techniques)
    assert set(CONTRACT["products"].split()) <= set(lib.products)
    assert set(CONTRACT["ingredients"].split()) <= set(lib.ingredients)


def test_snomed_codes_only_from_the_reference() -> None:
    for zone in load_library().zones.values():
        if zone.snomed is not None:
            assert zone.snomed in REFERENCE_SNOMED, zone.code


def _numeric_records(node: object, path: str = "") -> list[tuple[str, dict[str, object]]]:
    out: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        if "value" in node:
            out.append((path, node))
        else:
            for k, v in node.items():
                out += _numeric_records(v, f"{path}.{k}")
    return out


def test_every_numeric_parameter_in_every_file_has_evidence_and_source() -> None:
    """Walks the raw TOML, so a number the loader forgot to register still fails here."""
    count = 0
    for name in DATA_FILES:
        doc = tomllib.loads((DATA_DIR / name).read_text(encoding="utf-8"))
        for path, rec in _numeric_records(doc):
            count += 1
            assert rec.get("evidence") in ("L", "S", "G", "P"), f"{name}{path}"
            source = rec.get("source")
            assert isinstance(source, str) and source.strip(), f"{name}{path}"
            assert isinstance(rec.get("unit"), str) and rec["unit"], f"{name}{path}"
        # no bare numbers outside records (besides none at all)
        text = (DATA_DIR / name).read_text(encoding="utf-8")
        for line in text.splitlines():
            if re.match(r"^\s*[a-z_]+\s*=\s*-?\d", line):
                assert line.strip().startswith("value"), f"{name}: bare number: {line}"
    assert count == len(load_library().params)


def test_no_label_or_standard_parameter_is_tunable() -> None:
    lib = load_library()
    tunable = {p["id"] for p in tunable_parameters()}
    for pid, param in lib.params.items():
        if param.evidence in ("L", "S"):
            assert pid not in tunable
            with pytest.raises(OverrideError, match=re.escape(pid)):
                lib.with_overrides({pid: 1})
    assert "zones[forehead].needle_max_mm" in tunable


def test_every_zone_rule_and_protocol_number_is_sourced() -> None:
    lib = load_library()
    for rule in lib.rules.values():
        assert rule.evidence in "LSGP" and rule.source.strip()
    for p in lib.protocols.values():
        assert p.sources
        assert p.timeline.final_assessment_days.number >= 28  # never "2-3 days"


def test_override_errors_name_the_parameter() -> None:
    lib = load_library()
    with pytest.raises(OverrideError, match=r"^nope\.x: unknown parameter"):
        lib.with_overrides({"nope.x": 1})
    with pytest.raises(OverrideError, match=r"rules\[contra.bmi\]\.bmi_min: evidence L"):
        lib.with_overrides({"rules[contra.bmi].bmi_min": 35})
    with pytest.raises(OverrideError, match="positive number"):
        lib.with_overrides({"zones[forehead].needle_max_mm": -1})
    with pytest.raises(OverrideError, match="whole number"):
        lib.with_overrides({"protocols[skin-booster].course.min_interval_days": 20.5})
    with pytest.raises(OverrideError, match="range"):
        lib.with_overrides({"techniques[nappage].depth_mm": 3})


def test_clinic_can_tighten_and_loosen_practice_defaults() -> None:
    data = clean("microneedling-pen")  # forehead 0.5 mm
    assert check_session(data).verdict == "ok"
    tight = Settings({"zones[forehead].needle_max_mm": 0.4})
    assert check_session(data, settings=tight).codes()[0] == "needle.zone_length"
    data["microneedling"][0]["needle_length_mm"] = 1.2
    assert check_session(data).verdict == "warn"
    loose = Settings({"zones[forehead].needle_max_mm": 1.25})
    assert check_session(data, settings=loose).verdict == "ok"
    tuned = load_library().with_overrides({"zones[forehead].needle_max_mm": 1.25})
    assert tuned.zones["forehead"].needle_max_mm is not None
    assert tuned.zones["forehead"].needle_max_mm.number == 1.25
    shipped = load_library().zones["forehead"].needle_max_mm
    assert shipped is not None and shipped.number == 1.0  # shipped data intact
    row = next(p for p in tuned.tunable_parameters() if p["id"] == "zones[forehead].needle_max_mm")
    assert (row["value"], row["default"]) == (1.25, 1.0)


def test_practice_interval_is_tunable() -> None:
    data = clean("skin-booster")
    data["history"] = [{"date": "2026-11-04", "protocol": "skin-booster"}]  # 21 days
    assert "interval.too_short" in check_session(data).codes()
    s = Settings({"protocols[skin-booster].course.min_interval_days": 21})
    assert "interval.too_short" not in check_session(data, settings=s).codes()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_loader_error_names_file_and_field(data_copy: Path) -> None:
    _edit(
        data_copy / "protocols.toml",
        'min_interval_days = { value = 28, unit = "days", evidence = "L", '
        'source = "Belkyra SmPC: interval >= 4 weeks; Kybella label: >= 1 month apart", ',
        'min_interval_days = { value = 28, unit = "days", evidence = "L", ',
    )
    with pytest.raises(LibraryError) as exc:
        load_library_from(data_copy)
    assert str(exc.value) == (
        "protocols.toml: protocols[submental-dca].course.min_interval_days.source: missing"
    )


def test_loader_rejects_unknown_product_reference(data_copy: Path) -> None:
    _edit(data_copy / "protocols.toml", 'products = ["dca-10mg-ml"]', 'products = ["dca-20"]')
    with pytest.raises(
        LibraryError,
        match=r"protocols.toml: protocols\[submental-dca\]"
        r"\.products\[0\]: unknown code 'dca-20'",
    ):
        load_library_from(data_copy)


def test_loader_rejects_unknown_zone_and_bad_evidence(data_copy: Path) -> None:
    _edit(data_copy / "protocols.toml", 'zones = ["submental"]', 'zones = ["double_chin"]')
    with pytest.raises(LibraryError, match=r"protocols\[submental-dca\]\.zones\[0\]"):
        load_library_from(data_copy)


def test_loader_rejects_evidence_outside_legend(data_copy: Path) -> None:
    _edit(
        data_copy / "rules.toml",
        'value = 18\nunit = "years"\nevidence = "L"',
        'value = 18\nunit = "years"\nevidence = "U"',
    )
    with pytest.raises(
        LibraryError,
        match=r"rules.toml: rules\[contra.minor\]"
        r"\.min_age_years\.evidence: must be one of L, S, G, P",
    ):
        load_library_from(data_copy)


def test_loader_rejects_admixing_dca(data_copy: Path) -> None:
    _edit(
        data_copy / "products.toml",
        'components = ["ha-nonxl-vitamins", "ha-nonxl-lidocaine"]',
        'components = ["ha-nonxl-vitamins", "dca-10mg-ml"]',
    )
    with pytest.raises(
        LibraryError,
        match=r"mixtures\[revitalisation-lidocaine-mix\]"
        r"\.components\[1\]: dca-10mg-ml must not be admixed",
    ):
        load_library_from(data_copy)


def test_loader_reports_toml_syntax_with_file(data_copy: Path) -> None:
    (data_copy / "zones.toml").write_text("[zones.forehead\n", encoding="utf-8")
    with pytest.raises(LibraryError, match=r"^zones.toml: "):
        load_library_from(data_copy)


def test_multi_dose_products_have_beyond_use_dates() -> None:
    lib = load_library()
    for p in lib.products.values():
        if p.container == "multi_dose":
            assert p.beyond_use_days_after_opening is not None
            assert p.beyond_use_days_after_opening.number == 28


def test_mixture_ingredients_reach_every_component() -> None:
    lib = load_library()
    mix = lib.mixtures["revitalisation-lidocaine-mix"]
    assert {"lidocaine", "hyaluronic_acid", "vitamins"} <= mix.ingredients
    assert lib.ingredients_of["revitalisation-lidocaine-mix"] == mix.ingredients


def test_evidence_notes_on_contested_claims() -> None:
    lib = load_library()
    forehead = lib.zones["forehead"].needle_max_mm
    assert forehead is not None and "1.0-1.5 mm" in forehead.note
    assert "off label" in lib.rules["zone.off_label"].note
    assert "no injectable efficacy" in lib.ingredients["caffeine"].note.lower()
    assert "oedema" in (lib.followups["early_check_days"].note or "")
