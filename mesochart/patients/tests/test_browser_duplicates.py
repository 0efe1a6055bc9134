"""In real Chromium: reception registers someone already in the clinic, is warned at the top
of the page, opens the existing record; then registers a different person anyway."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD
from mesochart.patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_elena(page, phone):
    page.fill("#id_p-given_name", "elena")
    page.fill("#id_p-family_name", "MOREAU")
    page.fill("#id_p-birth_date", "1985-04-02")
    page.select_option("#id_p-sex", "female")
    page.fill("#id_p-phone", phone)


def test_reception_is_warned_of_a_duplicate_opens_it_or_registers_anyway_with_a_reason(
    live_server, page, staff, patient, artifacts
):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reception")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    # 1. The same person again: warned where they are looking, their typing kept.
    page.goto(live_server.url + "/patients/new/")
    fill_elena(page, "+44 7700 900999")
    page.click("text=Register patient")
    box = page.locator("#duplicates")
    expect(box).to_be_visible()
    expect(box).to_be_in_viewport()
    expect(box).to_be_focused()
    expect(box).to_contain_text("This person may already be registered")
    expect(box.locator("tr.duplicate")).to_have_count(1)
    expect(box.locator("tr.duplicate")).to_contain_text("same name and birth date")
    expect(page.locator("#id_p-given_name")).to_have_value("elena")
    expect(page.locator("#id_p-phone")).to_have_value("+44 7700 900999")
    page.screenshot(path=str(artifacts / "patients-duplicate-warning.png"), full_page=True)
    # Enter in a field checks again (409); it does not choose "register anyway" (400).
    with page.expect_response(lambda r: r.request.method == "POST") as again:
        page.press("#id_p-family_name", "Enter")
    assert again.value.status == 409
    expect(page.locator("#duplicates")).to_be_visible()
    assert Patient.objects.count() == 1
    page.click(f"text=Open record {patient.mrn}")
    page.wait_for_url(live_server.url + f"/patients/{patient.pk}/")
    assert page.inner_text("h1") == "Elena Moreau"

    # 2. A different person who shares the name, birth date and family phone.
    page.goto(live_server.url + "/patients/new/")
    fill_elena(page, "07700 900123")
    page.click("text=Register patient")
    expect(page.locator("#duplicates tr.duplicate")).to_contain_text("same phone")
    page.click("text=This is a different person: register anyway")
    error = page.locator("#id_d-reason-error")
    expect(error).to_contain_text("Why this is a different person: Give the reason")
    page.fill("#id_d-reason", "Her cousin, same name, lives with the family")
    page.click("text=This is a different person: register anyway")
    page.wait_for_url(re.compile(r".*/patients/[0-9a-f-]{36}/$"))
    assert page.inner_text("h1") == "elena MOREAU"
    created = Patient.objects.exclude(pk=patient.pk).get()
    assert page.url == live_server.url + f"/patients/{created.pk}/"
    event = AuditEvent.objects.get(action="patient.create", object_id=str(created.pk))
    assert event.details["possible_duplicates"] == [str(patient.pk)]
    assert event.details["duplicate_reason"] == "Her cousin, same name, lives with the family"
