"""In real Chromium: sign in, register a patient with a profile, find them, open the chart."""

from __future__ import annotations

import re

import pytest

from mesochart.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_practitioner_registers_finds_and_opens_a_patient(
    live_server, page, staff, clinic, artifacts
):
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "practitioner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert clinic.name in page.inner_text("h1")

    page.click("text=New patient")
    page.fill("#id_p-given_name", "Beatriz")
    page.fill("#id_p-family_name", "Ferreira")
    page.fill("#id_p-birth_date", "1988-03-14")
    page.select_option("#id_p-sex", "female")
    page.fill("#id_p-phone", "+44 7700 900321")
    page.select_option("#id_p-preferred_language", "pt")
    page.fill("#id_m-bmi", "22.8")
    page.select_option("#id_m-fitzpatrick", "4")
    page.check("input[name=m-conditions][value=herpes_labialis]")
    page.check("input[name=m-allergies][value=lidocaine]")
    page.click("text=Register patient")
    page.wait_for_url(re.compile(r".*/patients/[0-9a-f-]{36}/$"))
    assert page.inner_text("h1") == "Beatriz Ferreira"

    page.click("nav >> text=Patients")
    page.fill("#id_q", "ferr")
    # htmx swaps the results in as the user types
    page.wait_for_selector("#results >> text=Ferreira, Beatriz")
    page.wait_for_url(re.compile(r".*/patients/\?q=ferr.*"))  # the search is in the address bar
    page.click("#results >> text=Ferreira, Beatriz")
    page.wait_for_url(re.compile(r".*/patients/[0-9a-f-]{36}/$"))
    profile = page.inner_text("#profile")
    assert "Herpes labialis" in profile and "Lidocaine" in profile and "IV" in profile
    page.screenshot(path=str(artifacts / "foundation-patient-chart.png"), full_page=True)
