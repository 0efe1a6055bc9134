"""The ``clinical`` template filters: library codes read as clinical names."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from mesochart.core.templatetags import clinical
from mesochart.protocols import load_library

LIB = load_library()


def render(source: str, **context: object) -> str:
    return Template("{% load clinical %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("template", "code", "name"),
    [
        ("{{ c|zone_name }}", "cheek_left", "Left cheek"),
        ("{{ c|product_name }}", "ha-nonxl-vitamins", LIB.products["ha-nonxl-vitamins"].name),
        (
            "{{ c|product_name }}",
            "revitalisation-lidocaine-mix",
            LIB.mixtures["revitalisation-lidocaine-mix"].name,
        ),
        ("{{ c|protocol_name }}", "submental-dca", LIB.protocols["submental-dca"].name),
        ("{{ c|technique_name }}", "microdroplet", LIB.techniques["microdroplet"].name),
        ("{{ c|device_name }}", "roller", LIB.device_technique["roller"].name),
        ("{{ c|modality_name }}", "fractional-laser-ablative", "Ablative fractional laser"),
        ("{{ c|label_status }}", "on_label", "On label"),
        ("{{ c|label_status }}", "off_label", "Off label"),
        ("{{ c|photo_use }}", "record_only", "Clinical record only"),
    ],
)
def test_each_filter_names_its_code(template: str, code: str, name: str) -> None:
    assert name != code
    assert render(template, c=code) == name


@pytest.mark.parametrize(
    "template",
    [
        "{{ c|zone_name }}",
        "{{ c|product_name }}",
        "{{ c|protocol_name }}",
        "{{ c|technique_name }}",
        "{{ c|device_name }}",
        "{{ c|modality_name }}",
        "{{ c|label_status }}",
        "{{ c|photo_use }}",
        "{{ c|clinical_text }}",
    ],
)
def test_an_unknown_code_is_shown_as_it_is(template: str) -> None:
    assert render(template, c="not-a-library-code") == "not-a-library-code"


def test_a_zone_code_is_not_a_product_code() -> None:
    assert render("{{ c|product_name }}", c="cheek_left") == "cheek_left"


def test_names_are_escaped_like_any_value() -> None:
    name = LIB.products["ha-nonxl-vitamins"].name
    assert render("<b>{{ c|product_name }}</b>", c="ha-nonxl-vitamins") == f"<b>{name}</b>"
    assert render("{{ c|clinical_text }}", c="<i>cheek_left</i>") == "&lt;i&gt;Left cheek&lt;/i&gt;"


def test_clinical_text_replaces_every_code_in_a_message() -> None:
    message = "Patient is allergic to vitamins, an ingredient of ha-nonxl-vitamins; zones cheek_left, chin"
    assert clinical.clinical(message) == (
        "Patient is allergic to vitamins, an ingredient of "
        f"{LIB.products['ha-nonxl-vitamins'].name}; zones Left cheek, Chin"
    )


def test_clinical_text_replaces_whole_codes_only() -> None:
    # "chin" is a zone: not inside a longer word, nor inside a longer code-like token.
    assert clinical.clinical("chinstrap, machine, xcheek_left, cheek_left_2, chin-up") == (
        "chinstrap, machine, xcheek_left, cheek_left_2, chin-up"
    )


def test_clinical_text_takes_the_longest_code_first() -> None:
    # "submental" (a zone) is the start of "submental-dca" (a protocol).
    assert "submental" in LIB.zones and "submental-dca" in LIB.protocols
    assert clinical.clinical("after the submental-dca session in the submental zone") == (
        f"after the {LIB.protocols['submental-dca'].name} session in the "
        f"{LIB.zones['submental'].name} zone"
    )


def test_clinical_text_keeps_empty_values() -> None:
    assert clinical.clinical("") == ""
    assert render("{{ c|clinical_text }}", c="") == ""


def test_every_engine_modality_has_a_name_and_a_protocol_code_is_not_cut() -> None:
    assert set(clinical.MODALITY_NAMES) == LIB.vocabulary.energy_modalities
    message = "rf-microneedling in cheek_left; rf-microneedling-meso is not allowed"
    assert clinical.clinical(message) == (
        f"RF microneedling in Left cheek; {LIB.protocols['rf-microneedling-meso'].name} "
        "is not allowed"
    )
