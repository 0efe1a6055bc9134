"""Idle sign-out: the time-left and keep-alive endpoints, the message, and the typed work
kept when a POST arrives after the timeout (the script could not warn: a laptop slept)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesochart.accounts.idle import KEPT_MAX_CHARS, KEPT_SECONDS, SESSION_KEPT_KEY
from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD
from mesochart.core.testing import sign_in_with_password

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
REMAINING = reverse("accounts:idle_remaining")
KEEP_ALIVE = reverse("accounts:idle_keepalive")


def sign_in(client: Client, username: str, next_url: str = "") -> Any:
    url = LOGIN + (f"?next={next_url}" if next_url else "")
    response = sign_in_with_password(client, username, PASSWORD, path=url)
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def remaining(client: Client) -> int:
    response = client.get(REMAINING)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return int(response.json()["remaining_seconds"])


def kept_script(html: str) -> dict[str, Any] | None:
    match = re.search(r'<script id="idle-kept" type="application/json">(.*?)</script>', html)
    return json.loads(match.group(1)) if match else None


@pytest.fixture
def travel() -> Any:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def addendum_urls() -> tuple[str, str]:
    """A signed session's page and the POST-only URL of its addendum form. The middleware
    answers before any view runs, so no session needs to exist."""
    session_id = uuid.uuid4()
    return (
        reverse("care:session", args=[session_id]),
        reverse("care:session_addendum", args=[session_id]),
    )


def timed_out_post(client: Client, url: str, data: dict[str, Any], referer: str | None) -> Any:
    headers = {"HTTP_REFERER": referer} if referer else {}
    return client.post(url, data, **headers)


# --- time left and keep-alive ------------------------------------------------------------


def test_asking_how_long_is_left_does_not_count_as_activity(client, staff, settings, travel):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    sign_in(client, "reception")
    travel.shift(timedelta(minutes=10))
    assert remaining(client) == 5 * 60
    travel.shift(timedelta(minutes=4, seconds=30))
    assert remaining(client) == 30
    travel.shift(timedelta(seconds=31))
    assert remaining(client) == 0
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_how_long_is_left_is_zero_when_not_signed_in(client, db):
    assert remaining(client) == 0


def test_stay_signed_in_counts_as_activity(client, staff, settings, travel):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    sign_in(client, "reception")
    travel.shift(timedelta(minutes=14, seconds=10))
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 200 and response.json() == {"remaining_seconds": 15 * 60}
    travel.shift(timedelta(minutes=14))
    assert remaining(client) == 60
    assert client.get(reverse("patients:list")).status_code == 200


def test_stay_signed_in_needs_a_post_with_a_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff["reception"])
    assert client.get(KEEP_ALIVE).status_code == 405
    assert client.post(KEEP_ALIVE).status_code == 403
    client.get(reverse("core:dashboard"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.post(KEEP_ALIVE, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_stay_signed_in_after_the_timeout_signs_out(client, staff, settings, travel):
    sign_in(client, "reception")
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES, seconds=1))
    response = client.post(KEEP_ALIVE)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


# --- the message -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (1, "You were signed out after 1 minute without activity."),
        (15, "You were signed out after 15 minutes without activity."),
    ],
)
def test_the_sign_out_message_counts_minutes_correctly(
    client, staff, settings, travel, minutes, text
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = minutes
    sign_in(client, "reception")
    travel.shift(timedelta(minutes=minutes, seconds=1))
    response = client.get(reverse("patients:list"), follow=True)
    assert response.redirect_chain[0][0].startswith(LOGIN)
    assert text in response.content.decode()


# --- where the sign-in page returns to -----------------------------------------------------


def test_an_htmx_request_that_times_out_returns_to_the_page_not_the_fragment(
    client, staff, settings, travel
):
    sign_in(client, "reception")
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES + 1))
    response = client.get(
        reverse("patients:list") + "?q=fer&fragment=1",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/patients/?q=fer",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == LOGIN + "?next=%2Fpatients%2F%3Fq%3Dfer"


def test_an_htmx_request_from_another_site_returns_to_the_dashboard(
    client, staff, settings, travel
):
    sign_in(client, "reception")
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES + 1))
    _, addendum = addendum_urls()
    response = client.post(
        addendum,
        {"text": "never kept: htmx"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="https://evil.example/patients/",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == LOGIN + "?next=%2F"
    assert SESSION_KEPT_KEY not in client.session  # htmx posts are the script's to keep


# --- typed work kept from a late POST --------------------------------------------------------


def test_a_post_after_the_timeout_keeps_the_text_and_returns_to_the_page_it_came_from(
    staff, settings, travel
):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies["csrftoken"].value
    client.post(
        LOGIN, {"username": "practitioner", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    page, addendum = addendum_urls()
    token = client.cookies["csrftoken"].value  # rotated at sign-in
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES, seconds=1))
    response = timed_out_post(
        client,
        addendum,
        {"text": "Patient called: mild swelling.", "csrfmiddlewaretoken": token},
        referer="http://testserver" + page + "#addenda",
    )
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={page.replace('/', '%2F')}"
    kept = client.session[SESSION_KEPT_KEY]
    assert kept["user"] == str(staff["practitioner"].pk)
    assert kept["action"] == addendum and kept["page"] == page
    assert kept["fields"] == {"text": ["Patient called: mild swelling."]}
    assert "_auth_user_id" not in client.session
    assert client.session.get_expiry_age() == KEPT_SECONDS  # the anonymous session ends with it
    assert AuditEvent.objects.get(action="auth.logout").details == {"reason": "idle timeout"}


def test_kept_fields_leave_out_the_csrf_token_passwords_and_what_does_not_fit(
    client, staff, settings, travel
):
    sign_in(client, "practitioner")
    page, addendum = addendum_urls()
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES, seconds=1))
    timed_out_post(
        client,
        addendum,
        {
            "csrfmiddlewaretoken": "x" * 32,
            "new_password": "hunter2hunter2",
            "signature": "data:image/png;base64," + "A" * KEPT_MAX_CHARS,
            "text": "Swelling settled.",
            "zones": ["submental", "jowl_left"],
            "empty": "",
        },
        referer="http://testserver" + page,
    )
    assert client.session[SESSION_KEPT_KEY]["fields"] == {
        "text": ["Swelling settled."],
        "zones": ["submental", "jowl_left"],
    }


def test_a_post_without_a_valid_csrf_token_is_signed_out_but_keeps_nothing(staff, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff["practitioner"])
    page, addendum = addendum_urls()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.get(reverse("core:dashboard"))
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES, seconds=1))
        response = timed_out_post(
            client, addendum, {"text": "forged"}, referer="http://testserver" + page
        )
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert SESSION_KEPT_KEY not in client.session
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "referer", [None, "https://evil.example/care/", "http://testserver/accounts/login/"]
)
def test_a_post_without_a_page_of_this_site_to_return_to_goes_to_the_dashboard(
    client, staff, settings, travel, referer
):
    sign_in(client, "practitioner")
    _, addendum = addendum_urls()
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES, seconds=1))
    response = timed_out_post(client, addendum, {"text": "Kept anyway."}, referer=referer)
    assert response["Location"] == LOGIN + "?next=%2F"
    assert client.session[SESSION_KEPT_KEY]["page"] == "/"


def edit_timed_out(client: Client, patient: Any, settings: Any, travel: Any) -> str:
    """Reception edits a patient's address, times out, and submits: the edit page's URL."""
    sign_in(client, "reception")
    page = reverse("patients:edit", args=[patient.pk])
    assert client.get(page).status_code == 200
    travel.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES, seconds=1))
    response = timed_out_post(
        client,
        page,
        {"given_name": "Elena", "address": "2 Low Road"},
        referer="http://testserver" + page,
    )
    assert response["Location"] == LOGIN + "?next=" + page.replace("/", "%2F")
    return page


def test_after_signing_in_again_the_page_renders_the_kept_fields_once(
    client, staff, patient, settings, travel
):
    page = edit_timed_out(client, patient, settings, travel)
    travel.shift(timedelta(minutes=5))
    assert sign_in(client, "reception", next_url=page)["Location"] == page
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE  # a normal session
    # Another page first (or an htmx fragment): the kept fields wait for theirs.
    assert kept_script(client.get(reverse("core:dashboard")).content.decode()) is None
    html = client.get(page).content.decode()
    assert kept_script(html) == {
        "action": page,
        "fields": {"given_name": ["Elena"], "address": ["2 Low Road"]},
    }
    assert "What you had typed before you were signed out is back in the form" in html
    assert kept_script(client.get(page).content.decode()) is None
    assert SESSION_KEPT_KEY not in client.session


def test_kept_fields_are_never_given_to_another_user(client, staff, patient, settings, travel):
    page = edit_timed_out(client, patient, settings, travel)
    sign_in(client, "manager", next_url=page)
    assert SESSION_KEPT_KEY not in client.session
    assert kept_script(client.get(page).content.decode()) is None
    client.post(reverse("accounts:logout"))
    sign_in(client, "reception", next_url=page)
    assert kept_script(client.get(page).content.decode()) is None


def test_kept_fields_expire_after_an_hour(client, staff, patient, settings, travel):
    page = edit_timed_out(client, patient, settings, travel)
    travel.shift(timedelta(minutes=59))
    sign_in(client, "reception", next_url=page)
    assert SESSION_KEPT_KEY in client.session
    travel.shift(timedelta(minutes=2))
    assert kept_script(client.get(page).content.decode()) is None
    assert SESSION_KEPT_KEY not in client.session


def test_an_anonymous_session_holding_kept_fields_ends_with_them(
    client, staff, patient, settings, travel
):
    page = edit_timed_out(client, patient, settings, travel)
    travel.shift(timedelta(minutes=61))
    sign_in(client, "reception", next_url=page)
    assert kept_script(client.get(page).content.decode()) is None


# --- what the page gives the script ------------------------------------------------------------


def test_signed_in_pages_carry_the_timeout_the_user_and_the_warning(client, staff, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 20
    sign_in(client, "reception")
    html = client.get(reverse("core:dashboard")).content.decode()
    assert 'data-idle-seconds="1200"' in html
    assert f'data-user="{staff["reception"].pk}"' in html
    assert "js/idle.js" in html and 'role="alertdialog"' in html and "Stay signed in" in html
    assert f'data-remaining-url="{REMAINING}"' in html and f'action="{KEEP_ALIVE}"' in html


def test_the_sign_in_page_has_no_idle_script(client, db):
    html = client.get(LOGIN).content.decode()
    assert "js/idle.js" not in html and "data-idle-seconds" not in html


def test_activity_is_written_to_the_session_at_most_every_30_seconds(staff, travel):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mesochart.accounts.idle import ACTIVITY_WRITE_SECONDS, SESSION_ACTIVITY_KEY

    client = Client()
    sign_in(client, "reception")
    client.get(reverse("patients:list"))
    first = client.session[SESSION_ACTIVITY_KEY]

    def session_writes() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("patients:list")).status_code == 200
        return len(
            [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "django_session')]
        )

    travel.shift(ACTIVITY_WRITE_SECONDS - 1)
    assert session_writes() == 0 and client.session[SESSION_ACTIVITY_KEY] == first
    travel.shift(1)
    assert session_writes() == 1 and client.session[SESSION_ACTIVITY_KEY] > first
    # The timeout counts from the activity written: 15 minutes after it, signed out.
    travel.shift(ACTIVITY_WRITE_SECONDS - 1)
    client.get(reverse("patients:list"))
    travel.shift(15 * 60 - (ACTIVITY_WRITE_SECONDS - 1) + 1)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and LOGIN in response["Location"]


def test_the_headers_notification_count_is_not_activity(staff, travel):
    from mesochart.accounts.idle import SESSION_ACTIVITY_KEY

    client = Client()
    sign_in(client, "reception")
    first = client.session[SESSION_ACTIVITY_KEY]
    travel.shift(60)
    assert client.get(reverse("messaging:notification_count")).status_code == 200
    assert client.session[SESSION_ACTIVITY_KEY] == first
    travel.shift(15 * 60 - 60 + 1)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and LOGIN in response["Location"]
