"""In real Chromium, on the demo data: a practitioner starts a submental deoxycholic acid
session, signs the treatment consent with a drawn signature, picks a lot, clicks points
on the face map, sees the label's 50-point limit block at 51 and clear at 50, signs, and
downloads the aftercare PDF."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mesochart.care import maps
from mesochart.care.models import SessionStatus, TreatmentSession
from mesochart.care.services.consents import consent_codes
from mesochart.conftest import browser_sign_in
from mesochart.core.demo import DEMO_PASSWORD, load_demo
from mesochart.patients.models import Patient
from mesochart.patients.screening import engine_patient
from mesochart.protocols import screen

from .factories import pdf_text
from .session_factories import prescribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Grid steps (normalised): more than a point's diameter (2 x maps.POINT_RADIUS of the width)
# across, and the same in height units down, so no click lands on an earlier point.
STEP_X = 2.2 * maps.POINT_RADIUS
STEP_Y = STEP_X * maps.load_map("face").width / maps.load_map("face").height


def submental_grid(n: int) -> list[tuple[float, float]]:
    """``n`` distinct points inside the submental zone, a grid as clinicians inject."""
    x0, y0 = maps.zone_centroid("face", "submental")
    found: list[tuple[float, float]] = []
    for ring in range(0, 30):
        for dy in range(-ring, ring + 1):
            for dx in range(-ring, ring + 1):
                if max(abs(dx), abs(dy)) != ring:
                    continue
                x, y = round(x0 + dx * STEP_X, 4), round(y0 + dy * STEP_Y, 4)
                if 0 <= x <= 1 and 0 <= y <= 1 and maps.zone_at("face", x, y) == "submental":
                    found.append((x, y))
                    if len(found) == n:
                        return found
    raise AssertionError(f"only {len(found)} grid points fit in the submental zone")


def demo_patient_for_dca() -> Patient:
    """A demo patient the DCA protocol does not contraindicate, without consents yet."""
    for patient in Patient.objects.select_related("profile", "clinic").order_by("mrn"):
        if patient.clinic.name != "Lumen Riverside" or consent_codes(patient):
            continue
        result = screen(engine_patient(patient), "submental-dca", patient.clinic.today())
        if result.verdict == "ok":
            return patient
    raise AssertionError("no demo patient suits the scenario")


def sign_in(page: Any, live_server: Any, username: str) -> None:
    browser_sign_in(page, live_server, username, DEMO_PASSWORD)


def click_map(page: Any, x: float, y: float, expected_points: int) -> None:
    svg = page.locator("svg.facemap").first
    svg.evaluate("el => el.scrollIntoView({block: 'start'})")  # the whole map on screen
    box = svg.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.wait_for_selector(f'#workspace[data-points="{expected_points}"]')


def test_practitioner_charts_and_signs_a_submental_dca_session(
    live_server: Any, page: Any, artifacts: Any
) -> None:
    load_demo()
    patient = demo_patient_for_dca()
    prescribe(patient.clinic, patient)  # a prescription-only medicine: prescribed first
    page.set_viewport_size({"width": 1400, "height": 1200})
    sign_in(page, live_server, "practitioner")

    page.goto(f"{live_server.url}/patients/?q={patient.family_name}")
    page.click(f"a[href='/patients/{patient.pk}/']")
    page.click("#new-session-link")
    page.select_option("#id_protocol", "submental-dca")
    page.click("#new-session button[type=submit]")
    page.wait_for_url(re.compile(r".*/care/sessions/[0-9a-f-]{36}/$"))
    session_url = page.url
    assert "No valid treatment consent" in page.inner_text("#consent-banner")

    # The consent, drawn on the canvas, then straight back to the session.
    page.click("#take-consent")
    page.click("text=Treatment consent (all protocols)")
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 120)
    page.mouse.down()
    for i in range(1, 30):
        page.mouse.move(box["x"] + 40 + i * 12, box["y"] + 100 + (25 if i % 2 else -25), steps=2)
    page.mouse.up()
    page.click("text=Sign and save")
    page.wait_for_url(session_url)
    assert page.locator("#consent-banner").count() == 0

    # Pick the lot and the settings of the next point (each change saves through htmx).
    lot_value = page.eval_on_selector(
        "#brush-lot", "s => [...s.options].find(o => o.text.includes('DEMO-DCA-5521')).value"
    )
    with page.expect_response(re.compile(r".*/brush/$")):
        page.select_option("#brush-lot", lot_value)
    for selector, value in [
        ("#brush-volume", "0.2"),
        ("#brush-depth", "6"),
        ("#brush-gauge", "30"),
        ("#brush-length", "13"),
    ]:
        with page.expect_response(re.compile(r".*/brush/$")):
            page.fill(selector, value)
            page.press(selector, "Tab")
    assert page.input_value("#brush-volume") == "0.200"

    for n, (x, y) in enumerate(submental_grid(51), 1):
        click_map(page, x, y, n)
        if n == 50:
            assert page.locator('[data-code="dose.max_points"]').count() == 0
            page.screenshot(path=str(artifacts / "care-dca-50-points.png"), full_page=True)
    block = page.locator('[data-code="dose.max_points"]')
    assert block.count() == 1 and "51" in block.inner_text()
    assert page.get_attribute("#verdict", "class") == "flag block"
    assert page.is_disabled("#sign-session")
    page.screenshot(path=str(artifacts / "care-dca-51-points-blocked.png"), full_page=True)

    page.locator("#entries button", has_text="delete").last.click()
    page.wait_for_selector('#workspace[data-points="50"]')
    assert page.locator('[data-code="dose.max_points"]').count() == 0
    assert "10" in page.inner_text('#totals tr[data-product="dca-10mg-ml"]')

    page.click("#sign-session")
    page.wait_for_selector("#signature")
    assert page.inner_text("#session-status") == "Signed"
    session = TreatmentSession.objects.get(patient=patient, protocol="submental-dca")
    assert session.status == SessionStatus.SIGNED and session.entries.count() == 50
    page.screenshot(path=str(artifacts / "care-dca-signed.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#aftercare-pdf")
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert patient.full_name in pdf_text(pdf)
