"""In real Chromium: htmx forms outside the chair screen show the server's refusal where
the form is, whether the answer is a fragment with the error (400) or a page that cannot
be swapped in (403)."""

from __future__ import annotations

from typing import Any

import pytest

from mesochart.conftest import browser_sign_in
from mesochart.sterility.tests.factories import make_steriliser, released_cycle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, live_server: Any, username: str) -> None:
    browser_sign_in(page, live_server, username)


def test_a_refused_htmx_form_shows_the_error_beside_its_field(
    live_server: Any, page: Any, clinic: Any, staff: Any
) -> None:
    cycle = released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"])
    sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/sterility/cycles/{cycle.pk}/")
    page.fill("#pack-form input[name=count]", "0")
    with page.expect_response(lambda r: "/packs/" in r.url) as answer:
        page.click("#pack-form button[type=submit]")
    assert answer.value.status == 400
    page.wait_for_selector("#pack-form .has-error")
    assert "Instrument set" in page.inner_text("#pack-form .has-error")


def test_a_403_answer_to_an_htmx_form_is_shown_next_to_the_form(
    live_server: Any, page: Any, clinic: Any, staff: Any
) -> None:
    cycle = released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"])
    sign_in(page, live_server, "practitioner")
    page.goto(f"{live_server.url}/sterility/cycles/{cycle.pk}/")
    # The practitioner's role is taken away while the page is open.
    from mesochart.accounts.models import Membership

    Membership.objects.filter(user=staff["practitioner"]).update(role="reception")
    page.fill("#pack-form input[name=set_name]", "Mesotherapy set")
    page.click("#pack-form button[type=submit]")
    page.wait_for_selector("[data-htmx-error]")
    text = page.inner_text("[data-htmx-error]")
    assert "403" in text and "Your role may not" in text
