"""Clinicians and patients read clinical names, never the library's raw codes.

Each test renders a real page and picks codes that cannot appear on it otherwise.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from mesochart.care.models import ConsentKind
from mesochart.care.services import charting, consents
from mesochart.care.tests.factories import pdf_text, sign
from mesochart.care.tests.session_factories import add_points, receive, set_brush, started
from mesochart.conftest import create_patient
from mesochart.protocols import load_library
from mesochart.stock import services as stock

pytestmark = pytest.mark.django_db

LIB = load_library()
VITAMINS = LIB.products["ha-nonxl-vitamins"].name
MIX = LIB.mixtures["revitalisation-lidocaine-mix"].name
REVITALISATION = LIB.protocols["skin-revitalisation"].name


def section(html: str, element_id: str) -> str:
    assert f'id="{element_id}"' in html, element_id
    return html.split(f'id="{element_id}"')[1].split("</section>")[0]


def page(client: Any, name: str, *args: Any) -> str:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def revitalisation(clinic: Any, staff: Any, patient: Any) -> Any:
    """A skin revitalisation session: the mixture in the left cheek, vitamins in the right."""
    vitamins = receive(clinic, staff["manager"], product="ha-nonxl-vitamins", lot_number="HV-1")
    lido = receive(clinic, staff["manager"], product="ha-nonxl-lidocaine", lot_number="HL-1")
    practitioner = staff["practitioner"]
    session = started(clinic, practitioner, patient, "skin-revitalisation")
    prep = charting.do_prepare_mixture(
        practitioner,
        session,
        "revitalisation-lidocaine-mix",
        [(vitamins, Decimal("1.5")), (lido, Decimal("1"))],
    )
    brush = {"kind": "injection", "technique": "papule", "volume_ml": "0.05"}
    set_brush(practitioner, session, {**brush, "lot": f"prep:{prep.pk}"})
    add_points(practitioner, session, 2, zone="cheek_left")
    set_brush(practitioner, session, {**brush, "lot": str(vitamins.pk)})
    add_points(practitioner, session, 2, zone="cheek_right")
    return session


# --- patient chart ----------------------------------------------------------------------


def test_screening_findings_name_products_and_zones_and_keep_the_rule_code_small(
    client_as: Any, clinic: Any, staff: Any
) -> None:
    patient = create_patient(
        clinic,
        staff["practitioner"],
        profile={"allergies": ["vitamins"], "conditions": ["herpes_labialis"]},
    )
    html = section(page(client_as("practitioner"), "patients:chart", patient.pk), "screening")
    assert f"an ingredient of {VITAMINS}" in html and "ha-nonxl-vitamins" not in html
    assert "Left nasolabial fold" in html and "nasolabial_left" not in html
    assert '<small class="mono muted">contra.allergy</small>' in html
    assert '<small class="mono muted">contra.hsv</small>' in html


def test_the_chart_no_longer_promises_a_sessions_module(client_as: Any, patient: Any) -> None:
    html = page(client_as("practitioner"), "patients:chart", patient.pk)
    assert "arrives with the sessions module" not in html
    assert html.count("Sessions and treatment plans") == 0
    assert 'id="treatment"' in html  # the real sessions card


def test_chart_sessions_and_consents_show_protocol_names_and_photo_uses(
    client_as: Any, clinic: Any, staff: Any, patient: Any, revitalisation: Any
) -> None:
    consents.ensure_default_templates(clinic, staff["manager"])
    sign(clinic, staff["practitioner"], patient, ConsentKind.PHOTO, photo_uses=["record_only"])
    html = page(client_as("practitioner"), "patients:chart", patient.pk)
    treatment = section(html, "treatment")
    assert REVITALISATION in treatment and "skin-revitalisation" not in treatment
    rows = section(html, "consents")
    assert "Clinical record only" in rows and "record_only" not in rows


def test_consent_detail_names_the_photo_uses(
    client_as: Any, clinic: Any, staff: Any, patient: Any
) -> None:
    consents.ensure_default_templates(clinic, staff["manager"])
    consent = sign(
        clinic, staff["practitioner"], patient, ConsentKind.PHOTO, photo_uses=["record_only"]
    )
    html = page(client_as("practitioner"), "care:consent_detail", consent.pk)
    assert "Clinical record only" in html and "record_only" not in html


# --- aftercare: patient-facing, no code at all --------------------------------------------


def test_aftercare_sheet_names_zones_products_and_mixtures(
    client_as: Any, revitalisation: Any
) -> None:
    client = client_as("practitioner")
    html = section(page(client, "care:aftercare", revitalisation.pk), "aftercare")
    assert "Left cheek" in html and "Right cheek" in html
    assert MIX in html and VITAMINS in html
    for code in ("cheek_left", "cheek_right", "revitalisation-lidocaine-mix", "ha-nonxl-vitamins"):
        assert code not in html


def test_aftercare_pdf_shows_no_library_code(client_as: Any, revitalisation: Any) -> None:
    response = client_as("practitioner").get(
        reverse("care:aftercare_pdf", args=[revitalisation.pk])
    )
    assert response.status_code == 200
    text = " ".join(pdf_text(response.content).split())
    assert "Left cheek" in text and "comfort mix" in text
    for code in ("cheek_left", "lidocaine-mix", "ha-nonxl", '"mesotherapy"'):
        assert code not in text


# --- Today page ---------------------------------------------------------------------------


def test_sessions_today_show_the_protocol_name(
    client_as: Any, clinic: Any, staff: Any, patient: Any
) -> None:
    started(clinic, staff["practitioner"], patient, "skin-revitalisation")
    html = section(page(client_as("reception"), "core:dashboard"), "sessions-today")
    assert "Elena Moreau" in html
    assert REVITALISATION in html and "skin-revitalisation" not in html


# --- protocol library ---------------------------------------------------------------------


def test_library_shows_label_statuses_in_words(client_as: Any) -> None:
    html = page(client_as("reception"), "library:index")
    assert "On label" in html and "Off label" in html and "Device (CE/FDA cleared)" in html
    for code in ("onlabel", "offlabel", "on_label", "off_label"):
        assert code not in html
    protocol = page(client_as("reception"), "library:protocol", "submental-dca")
    assert "On label" in protocol and "on_label" not in protocol


# --- stock ----------------------------------------------------------------------------------


def test_lot_pages_name_the_product_and_the_zone_given(
    client_as: Any, clinic: Any, staff: Any, patient: Any
) -> None:
    lot = stock.do_receive_lot(
        staff["manager"],
        clinic,
        product="ha-nonxl-vitamins",
        lot_number="HV-9",
        expiry=clinic.today() + timedelta(days=200),
        quantity=Decimal("5"),
        unit="syringe",
        storage="room",
    )
    stock.do_administer(staff["practitioner"], clinic, lot, patient, Decimal("1"), "cheek_left")
    container = stock.do_open_container(staff["practitioner"], clinic, lot)
    client = client_as("manager")
    detail = page(client, "stock:lot_detail", lot.pk)
    assert f"<dd>{VITAMINS} <small" in detail  # the code stays, small, for staff
    assert "(single use)" in detail and "singleuse" not in detail
    assert "Left cheek" in section(detail, "movements") and "cheek_left" not in detail
    heading = page(client, "stock:container_detail", container.pk).split("<h1>")[1]
    assert heading.split("</h1>")[0].endswith(f"of {VITAMINS} lot HV-9")
    rows = page(client, "stock:lot_list")
    assert f"{VITAMINS} <small" in rows
