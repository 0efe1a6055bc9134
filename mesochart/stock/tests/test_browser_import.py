"""In real Chromium: a fridge log with an overlong field is refused on the fridge page,
naming the line, and nothing is saved; a good log then imports."""

from __future__ import annotations

import pytest

from mesochart.conftest import browser_sign_in
from mesochart.stock.models import FridgeReading

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_unreadable_fridge_log_is_refused_on_the_page_naming_the_line(
    live_server, page, fridge, staff
):
    browser_sign_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/stock/fridges/{fridge.pk}/")
    big = b"recorded_at,temperature_c\n" + b"x" * 140_000 + b",4\n"
    page.set_input_files(
        "input[type=file]", {"name": "log.csv", "mimeType": "text/csv", "buffer": big}
    )
    page.click("main button:has-text('Import')")
    page.wait_for_selector("text=line 2")
    assert "not a readable CSV line" in page.content()
    assert not FridgeReading.objects.exists()
    good = b"recorded_at,temperature_c\n2026-01-05 08:00,4.5\n"
    page.set_input_files(
        "input[type=file]", {"name": "log.csv", "mimeType": "text/csv", "buffer": good}
    )
    page.click("main button:has-text('Import')")
    page.wait_for_selector("text=4.5")
    assert FridgeReading.objects.count() == 1


def test_a_background_import_that_fails_says_why_on_the_fridge_page(
    live_server, page, fridge, staff, settings
):
    settings.STOCK_IMPORT_BACKGROUND_ROWS = 1
    browser_sign_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/stock/fridges/{fridge.pk}/")
    bad = b"recorded_at,temperature_c\n2026-01-05 08:00,4.5\n2026-01-05 09:00,warm\n"
    page.set_input_files(
        "input[type=file]", {"name": "log.csv", "mimeType": "text/csv", "buffer": bad}
    )
    page.click("main button:has-text('Import')")
    page.wait_for_selector("#imports")
    imports = page.inner_text("#imports")
    assert "Failed" in imports and "line 3, column temperature_c" in imports
    assert not FridgeReading.objects.exists()
