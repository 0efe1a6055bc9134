"""In real Chromium: a practitioner opens a chart, takes a treatment consent by drawing
a signature on the canvas, sees it listed without the red banner and downloads the PDF."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mesochart.care.models import SignedConsent
from mesochart.care.services import consents
from mesochart.conftest import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, live_server: Any, username: str) -> None:
    browser_sign_in(page, live_server, username)


def test_practitioner_takes_a_treatment_consent_with_a_drawn_signature(
    live_server, page, clinic, staff, patient, artifacts
):
    consents.ensure_default_templates(clinic, staff["manager"])
    sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    banner = page.inner_text("#consents .consent-banner")
    assert "No valid treatment consent" in banner

    page.click("#consents >> text=Take treatment consent")
    page.click("text=Treatment consent (all protocols)")
    page.wait_for_selector("#signature-canvas")
    assert "Consent to treatment" in page.inner_text("#consent-text")

    # on screen is the default method: the page's deferred script hides the scan input
    page.wait_for_selector("#id_scan", state="hidden")
    page.check("input[name=method][value=paper_scan]")
    assert page.is_visible("#id_scan") and not page.is_visible("#signature-canvas")
    page.check("input[name=method][value=on_screen]")
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 40, y + 120)
    page.mouse.down()
    for i in range(1, 30):
        page.mouse.move(x + 40 + i * 12, y + 100 + (25 if i % 2 else -25), steps=2)
    page.mouse.up()
    assert page.input_value("input[name=signature]").startswith("data:image/png;base64,")
    page.screenshot(path=str(artifacts / "care-consent-signing.png"), full_page=True)

    page.click("text=Sign and save")
    page.wait_for_url(re.compile(r".*/care/consents/[0-9a-f-]{36}/$"))
    consent = SignedConsent.objects.get()
    assert consent.kind == "treatment" and consent.witness == staff["practitioner"]
    assert consent.text_sha256 in page.content()
    page.wait_for_function("() => document.querySelector('img.signature-image').naturalWidth > 0")

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    section = page.inner_text("#consents")
    assert "Treatment consent (all protocols)" in section
    assert "No valid treatment consent" not in section
    assert "No valid photo consent" in section
    page.screenshot(path=str(artifacts / "care-consent-chart.png"), full_page=True)

    page.click(f"#consent-{consent.pk} a")
    with page.expect_download() as download_info:
        page.click("#download-pdf")
    assert download_info.value.path().read_bytes().startswith(b"%PDF")


def test_a_half_file_scan_is_refused_beside_the_scan_field(
    live_server, page, clinic, staff, patient, tmp_path
):
    from mesochart.imaging.tests.helpers import astronaut, encode

    whole = encode(astronaut(), "JPEG", quality=90)
    half = tmp_path / "scan.jpg"
    half.write_bytes(whole[: len(whole) // 2])
    consents.ensure_default_templates(clinic, staff["manager"])
    sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.click("#consents >> text=Take treatment consent")
    page.click("text=Treatment consent (all protocols)")
    page.wait_for_selector("#signature-canvas")
    page.check("input[name=method][value=paper_scan]")
    page.set_input_files("#id_scan", str(half))
    page.click("text=Sign and save")
    error = page.locator("#id_scan-error")
    error.wait_for()
    assert "incomplete" in error.inner_text()
    assert SignedConsent.objects.count() == 0


def test_a_consent_the_media_folder_cannot_store_is_refused_on_the_form_keeping_the_answers(
    live_server, page, clinic, staff, patient
):
    """The folder is full or read-only (simulated in the live server's thread): the refusal
    is shown on the consent form, the signer's name is still there, and nothing is saved;
    once the folder takes files again, the same form signs."""
    import errno
    import os
    from unittest import mock

    consents.ensure_default_templates(clinic, staff["manager"])
    sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/care/patients/{patient.pk}/consents/take/?kind=treatment")
    page.click("text=Treatment consent (all protocols)")
    page.wait_for_selector("#signature-canvas")
    page.fill("#id_signer_name", "Elena Moreau (mother)")
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 100)
    page.mouse.down()
    for i in range(1, 20):
        page.mouse.move(box["x"] + 40 + i * 12, box["y"] + 100 + (20 if i % 2 else -20))
    page.mouse.up()

    real_open = os.open

    def full(path, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real_open(path, flags, *args)

    with mock.patch("mesochart.core.storage.os.open", side_effect=full):
        with page.expect_response(re.compile(r".*/consents/take/.*")) as answer:
            page.click("text=Sign and save")
        assert answer.value.status == 400
        page.wait_for_selector("text=could not be stored")
    assert not SignedConsent.objects.exists()
    assert page.input_value("#id_signer_name") == "Elena Moreau (mother)"

    # The folder takes files again: signing again (the signature is drawn anew) saves it.
    box = page.locator("#signature-canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 80, steps=5)
    page.mouse.up()
    page.click("text=Sign and save")
    page.wait_for_url(re.compile(r".*/care/consents/[0-9a-f-]{36}/$"))
    assert SignedConsent.objects.get().signer_name == "Elena Moreau (mother)"
