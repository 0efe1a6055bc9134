"""In real Chromium, with the Content-Security-Policy on: the app's pages run and style
themselves from static files only, so the browser reports no violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from mesochart.care.models import TreatmentSession
from mesochart.conftest import browser_sign_in, watch_csp
from mesochart.core.demo import DEMO_PASSWORD, load_demo
from mesochart.patients.models import Patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, live_server: Any, username: str) -> None:
    browser_sign_in(page, live_server, username, DEMO_PASSWORD)


def test_the_watch_sees_an_inline_script_the_policy_blocks(live_server, browser):
    page = browser.new_page()
    violations = watch_csp(page)
    page.goto(live_server.url + reverse("accounts:login"))
    with pytest.raises(Exception):  # noqa: B017 - Playwright reports the refused tag
        page.add_script_tag(content="document.title = 'ran'")
    page.wait_for_timeout(100)
    assert page.title() != "ran"
    assert violations, "the blocked inline script was not reported"
    page.close()


def test_pages_of_every_kind_run_without_a_policy_violation(live_server, page):
    load_demo()
    patient = Patient.objects.order_by("mrn").first()
    session = TreatmentSession.objects.filter(patient=patient).first()
    assert patient is not None
    sign_in(page, live_server, "practitioner")
    urls = [
        reverse("core:dashboard"),
        reverse("patients:list"),
        reverse("patients:chart", args=[patient.pk]),
        reverse("outcomes:timeline", args=[patient.pk]),
        reverse("outcomes:adverse_event_new", args=[patient.pk]),
        reverse("care:consent_take", args=[patient.pk]),
        reverse("care:session_create", args=[patient.pk]),
        reverse("stock:index"),
        reverse("sterility:index"),
        reverse("library:index"),
    ]
    if session is not None:
        urls.append(reverse("care:session", args=[session.pk]))
    for url in urls:
        response = page.goto(live_server.url + url)
        assert response is not None and response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    # The violations are checked after the test by the shared browser-test fixture.
