"""In real Chromium: the idle sign-out warning, "Stay signed in", and typed work that
survives a sign-out, whether the script saved it (the countdown ended) or the server kept
it (a POST that arrived too late, as after a laptop slept).

Two clocks: Playwright's (``page.clock``) drives the script's timers; time-machine
(``tick=True``, ``.shift()``) moves the server's, which the live server thread shares.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from mesochart.care.models import SessionAddendum, SessionStatus, TreatmentSession
from mesochart.conftest import PASSWORD
from mesochart.core.demo import DEMO_PASSWORD, load_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTICE = "What you had typed before you were signed out is back in the form: check it and save."
STASH = "mesochart:typed:/patients/new/"


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Fill the sign-in page the browser is on and send it."""
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def warning_shows(page: Any, traveller: Any, server_elapsed: timedelta) -> None:
    """Move the server to ``server_elapsed`` after the last request and the script past
    its warning time (a minute before the 15): the dialog asks the server and shows."""
    traveller.shift(server_elapsed)
    page.clock.fast_forward("14:01")
    page.wait_for_selector("#idle-warning", state="visible")


def test_warning_a_minute_before_and_stay_signed_in_counts_as_activity(
    live_server, page, staff, settings, artifacts
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    page.clock.install()
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        page.goto(live_server.url + "/accounts/login/")
        sign_in(page, "reception")
        page.wait_for_url(live_server.url + "/")
        page.goto(live_server.url + "/patients/")
        page.focus("#id_q")
        assert page.is_hidden("#idle-warning")

        warning_shows(page, traveller, timedelta(minutes=14, seconds=10))
        dialog = page.locator("[role=alertdialog]")
        assert "You are about to be signed out" in dialog.inner_text()
        assert re.fullmatch(r"0:(50|4\d)", page.inner_text("[data-idle-countdown]"))
        assert page.evaluate("document.activeElement.textContent") == "Stay signed in"
        page.screenshot(path=str(artifacts / "accounts-idle-warning.png"))

        page.click("text=Stay signed in")
        page.wait_for_selector("#idle-warning", state="hidden")
        assert page.evaluate("document.activeElement.id") == "id_q"  # focus given back

        # 24 minutes after the page loaded, 10 after "Stay signed in": still signed in.
        traveller.shift(timedelta(minutes=10))
        page.goto(live_server.url + "/patients/")
        assert page.url == live_server.url + "/patients/"
        assert "Sign out" in page.inner_text("header")


def test_addendum_typed_before_a_late_submit_is_back_after_signing_in_again(
    live_server, page, settings
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    load_demo()
    session = TreatmentSession.objects.filter(
        status=SessionStatus.SIGNED, signed_by__username="practitioner"
    ).first()
    assert session is not None, "the demo has signed sessions of the practitioner"
    url = f"{live_server.url}/care/sessions/{session.pk}/"
    text = "Patient called on day 3: mild swelling, settling. Advised cold compresses."
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        page.goto(live_server.url + "/accounts/login/")
        sign_in(page, "practitioner", DEMO_PASSWORD)
        page.wait_for_url(live_server.url + "/")
        page.goto(url)
        addendum = page.locator("#addenda textarea[name=text]")
        addendum.fill(text)

        traveller.shift(timedelta(minutes=16))  # the laptop slept: the script never ran
        page.click("#addenda >> text=Add addendum")
        page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
        assert "signed out after 15 minutes without activity" in page.inner_text("main")
        assert not SessionAddendum.objects.filter(session=session).exists()

        sign_in(page, "practitioner", DEMO_PASSWORD)
        page.wait_for_url(url)  # the session page, not the POST-only addendum URL
        assert addendum.input_value() == text
        assert page.inner_text("#idle-restored") == NOTICE
        page.click("#addenda >> text=Add addendum")
        page.wait_for_url(url + "#addenda")
    saved = SessionAddendum.objects.get(session=session)
    assert saved.text == text and saved.author.username == "practitioner"
    assert text in page.inner_text("#addenda")


@pytest.mark.parametrize(
    ("returning", "after_errors"),
    [("practitioner", False), ("reception", False), ("practitioner", True)],
    ids=["same-user", "another-user", "form-shown-again-with-errors"],
)
def test_typed_fields_saved_when_the_countdown_ends_come_back_for_the_same_user_only(
    live_server, page, staff, settings, returning, after_errors
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    page.clock.install()
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        page.goto(live_server.url + "/accounts/login/")
        sign_in(page, "practitioner")
        page.wait_for_url(live_server.url + "/")
        page.goto(live_server.url + "/patients/new/")
        page.fill("#id_p-given_name", "Beatriz")
        if after_errors:  # the server puts "Beatriz" back as the field's default value
            page.click("text=Register patient")
            page.wait_for_selector(".has-error")
        page.select_option("#id_p-sex", "female")
        page.check("input[name=m-conditions][value=herpes_labialis]")

        warning_shows(page, traveller, timedelta(minutes=14, seconds=30))
        traveller.shift(timedelta(seconds=40))  # the server's 15 minutes are over
        page.clock.fast_forward(35_000)  # and the countdown ends
        page.wait_for_url(re.compile(r".*/accounts/login/\?next=%2Fpatients%2Fnew%2F$"))
        assert "signed out after 15 minutes" in page.inner_text("main")

        stash = json.loads(page.evaluate(f"sessionStorage.getItem({STASH!r})"))
        assert stash["user"] == str(staff["practitioner"].pk)
        saved = {entry["n"]: entry["v"] for entries in stash["forms"].values() for entry in entries}
        # The profile form's version (data-concurrency) travels with its typed fields.
        assert saved.pop("m-version") == ""
        typed = {"p-given_name": "Beatriz", "p-sex": ["female"], "m-conditions": True}
        if after_errors:  # every filled field of the form shown again is kept
            assert saved.items() >= typed.items()
        else:  # only what differs from the page as served
            assert saved == typed
        assert "csrfmiddlewaretoken" not in saved

        sign_in(page, returning)
        page.wait_for_url(live_server.url + "/patients/new/")
        assert page.evaluate(f"sessionStorage.getItem({STASH!r})") is None
        if returning == "practitioner":
            assert page.input_value("#id_p-given_name") == "Beatriz"
            assert page.input_value("#id_p-sex") == "female"
            assert page.is_checked("input[name=m-conditions][value=herpes_labialis]")
            assert page.inner_text("#idle-restored") == NOTICE
        else:
            assert page.input_value("#id_p-given_name") == ""
            assert page.is_hidden("#idle-restored")


def test_a_profile_put_back_after_signing_in_still_meets_the_version_check(
    live_server, page, staff, clinic, settings
):
    """The kept fields carry the version the editor started from: a colleague's newer
    profile is not overwritten by a form restored after an idle sign-out (409)."""
    from mesochart.conftest import create_patient
    from mesochart.patients import services as patient_services
    from mesochart.patients.models import MedicalProfile

    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    patient = create_patient(clinic, staff["practitioner"], profile={})
    url = f"{live_server.url}/patients/{patient.pk}/profile/"
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        page.goto(live_server.url + "/accounts/login/")
        sign_in(page, "practitioner")
        page.wait_for_url(live_server.url + "/")
        page.goto(url)
        page.fill("#id_notes", "Prefers morning appointments.")
        # Meanwhile a colleague saves a new version, and the laptop sleeps.
        patient_services.do_update_profile(
            staff["prescriber"],
            clinic,
            patient,
            {"notes": "Latex allergy noted."},
            expected_version=1,
        )
        traveller.shift(timedelta(minutes=16))
        page.click("text=Save new version")
        page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
        sign_in(page, "practitioner")
        page.wait_for_url(url)
        assert page.input_value("#id_notes") == "Prefers morning appointments."
        assert page.get_attribute("input[name=version]", "value") == "1"  # where the edit began
        page.click("text=Save new version")
        page.wait_for_selector("text=Someone else saved this profile")
        assert page.input_value("#id_notes") == "Prefers morning appointments."
    profile = MedicalProfile.objects.get(patient=patient)
    assert profile.version == 2 and profile.notes == "Latex allergy noted."
