"""In real Chromium: a manager receives a lot by scanning its GS1 code, the lot reaches a
patient, and the manager runs the recall, marks the patient contacted and exports CSV."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from mesochart.conftest import browser_sign_in
from mesochart.stock import services as stock
from mesochart.stock.models import Lot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GS1 = "(01)04012345678901(17)271231(10)BRW-2611"


def sign_in(page: Any, live_server: Any, username: str) -> None:
    browser_sign_in(page, live_server, username)


def test_manager_receives_a_lot_by_scan_and_recalls_it(
    live_server, page, clinic, staff, patient, artifacts
):
    stock.do_map_gtin(staff["manager"], clinic, "04012345678901", "ha-nonxl-vitamins")
    sign_in(page, live_server, "manager")

    page.click("nav.mainnav >> text=Stock")
    page.goto(live_server.url + "/stock/lots/receive/")
    page.fill("#id_scan", GS1)
    page.click("main button:has-text('Fill from scan')")
    page.wait_for_function("() => document.querySelector('#id_lot_number').value === 'BRW-2611'")
    assert page.input_value("#id_expiry") == "2027-12-31"
    assert page.input_value("#id_product") == "ha-nonxl-vitamins"
    page.fill("#id_quantity", "10")
    page.select_option("#id_unit", "mL")
    page.select_option("#id_storage", "room")
    page.click("main button:has-text('Receive')")
    page.wait_for_url(re.compile(r".*/stock/lots/[0-9a-f-]{36}/$"))
    assert "BRW-2611" in page.content()
    lot = Lot.objects.get(lot_number="BRW-2611")
    assert (lot.product, lot.expiry.isoformat()) == ("ha-nonxl-vitamins", "2027-12-31")
    page.screenshot(path=str(artifacts / "stock-lot-received.png"), full_page=True)

    # The lot is used on a patient (charting arrives with treatment sessions).
    stock.do_administer(staff["practitioner"], clinic, lot, patient, Decimal("1.5"), "cheek_left")

    page.click("nav.mainnav >> text=Recall")
    page.fill("#id_identifier", "BRW-2611")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#results")
    results = page.inner_text("#results")
    assert "1 patient reached" in results and patient.full_name in results
    assert "Left cheek" in results and "cheek_left" not in results

    page.fill(f"#patient-{patient.pk} input[name=note]", "Phoned 10:20, no symptoms, review booked")
    page.click(f"#patient-{patient.pk} button[type=submit]")
    page.wait_for_selector("text=1 contacted")
    assert "Phoned 10:20" in page.inner_text("#results")

    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    csv_text = download_info.value.path().read_text(encoding="utf-8")
    assert patient.mrn in csv_text and "BRW-2611" in csv_text
    page.screenshot(path=str(artifacts / "recall-lot.png"), full_page=True)
