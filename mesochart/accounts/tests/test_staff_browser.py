"""In real Chromium: a manager unlocks a locked sign-in; a prescriber sets up an
authenticator app and signs in with its code."""

from __future__ import annotations

import re
from base64 import b32decode
from typing import Any

import pytest
from django_otp.oath import totp

from mesochart.conftest import PASSWORD, browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for the secret typed from the page."""
    raw = secret.replace(" ", "")
    return f"{totp(b32decode(raw + '=' * (-len(raw) % 8)), drift=steps_ahead):06d}"


def submit_password(page: Any, live_server: Any, username: str, password: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_manager_unlocks_a_user_locked_by_failed_sign_ins(
    live_server, browser, staff, settings, artifacts
):
    settings.AXES_FAILURE_LIMIT = 3
    locked_out = browser.new_page()
    for _ in range(3):
        submit_password(locked_out, live_server, "practitioner", "not the password")
    submit_password(locked_out, live_server, "practitioner", PASSWORD)  # the right one
    alert = locked_out.locator("form [role=alert]").inner_text()
    assert "Too many failed sign-ins" in alert and "Staff page" in alert
    assert locked_out.url == live_server.url + "/accounts/login/"

    manager = browser.new_page()
    browser_sign_in(manager, live_server, "manager")
    manager.click("nav.mainnav >> text=Staff")
    manager.wait_for_url(live_server.url + "/accounts/staff/")
    manager.click("#staff >> text=Practitioner")
    assert "Locked: too many failed sign-ins" in manager.inner_text("#sign-in")
    manager.screenshot(path=str(artifacts / "staff-locked.png"), full_page=True)
    with manager.expect_navigation():
        manager.click("#sign-in >> text=Unlock sign-in")
    assert "can sign in again from every computer" in manager.inner_text(".messages")
    assert "Not locked." in manager.inner_text("#sign-in")

    submit_password(locked_out, live_server, "practitioner", PASSWORD)
    assert locked_out.url == live_server.url + "/"
    assert "Sessions today" in locked_out.inner_text("main")


def test_prescriber_enrols_an_authenticator_and_signs_in_with_its_code(
    live_server, page, staff, artifacts
):
    submit_password(page, live_server, "prescriber", PASSWORD)
    page.goto(live_server.url + "/patients/")  # anything else leads to the set-up first
    page.wait_for_url(live_server.url + "/accounts/me/two-factor/")
    assert page.locator(".two-factor-setup .qr svg").count() == 1
    secret = page.inner_text("#totp-secret")
    assert re.fullmatch(r"[A-Z2-7 ]+", secret)
    page.screenshot(path=str(artifacts / "two-factor-setup.png"), full_page=True)

    wrong = f"{(int(code_for(secret)) + 1) % 1_000_000:06d}"
    page.fill("#id_code", wrong)
    with page.expect_navigation():
        page.click("form >> text=Confirm")
    error = page.locator("#id_code-error")
    assert "This code is not correct" in error.inner_text()
    assert page.input_value("#id_code") == wrong  # what was typed stays to correct
    assert page.inner_text("#totp-secret") == secret  # the same secret still waits

    page.wait_for_timeout(1100)  # django-otp's throttle: a second after one wrong code
    page.fill("#id_code", code_for(secret))
    with page.expect_navigation():
        page.click("form >> text=Confirm")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.click("text=I have kept them: continue")
    page.wait_for_url(live_server.url + "/")
    page.click("header >> text=Sign out")
    page.wait_for_url(re.compile(r".*/accounts/login/"))

    submit_password(page, live_server, "prescriber", PASSWORD)
    assert page.url == live_server.url + "/accounts/login/code/"
    page.fill("#id_code", "123456" if code_for(secret) != "123456" else "654321")
    with page.expect_navigation():
        page.click("form >> text=Sign in")
    assert "This code is not correct" in page.inner_text("#id_code-error")
    assert page.url == live_server.url + "/accounts/login/code/"
    # The wrong code waits a second (django-otp's throttle) before the next may be tried.
    page.wait_for_timeout(1100)
    page.fill("#id_code", code_for(secret, steps_ahead=1))
    with page.expect_navigation():
        page.click("form >> text=Sign in")
    assert page.url == live_server.url + "/"
    assert "Sessions today" in page.inner_text("main")
