"""In real Chromium: a refused or throttled sign-in is said on the sign-in form itself."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_wrong_password_then_throttle_are_shown_on_the_form(live_server, page, staff, settings):
    settings.AXES_FAILURE_LIMIT = 2
    page.goto(live_server.url + "/accounts/login/")
    for expected in ("Username or password is not correct.", "Too many failed sign-ins"):
        page.fill("#id_username", "practitioner")
        page.fill("#id_password", "not the password")
        with page.expect_navigation():
            page.click("button[type=submit]")
        alert = page.locator("form [role=alert]")
        alert.wait_for()
        assert expected in alert.inner_text()
        assert page.locator("#id_username").input_value() == "practitioner"
