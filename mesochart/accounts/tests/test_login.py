from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesochart.accounts.models import Membership
from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD
from mesochart.core.testing import login_with_two_factor

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_staff_signs_in_and_lands_on_today(client, staff, clinic):
    response = sign_in(client, "practitioner", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("core:dashboard")
    page = client.get(reverse("core:dashboard")).content.decode()
    assert clinic.name in page and "Sessions today" in page
    assert AuditEvent.objects.filter(action="auth.login", actor=staff["practitioner"]).exists()


def test_sign_in_returns_to_the_requested_page_but_never_offsite(client, staff):
    url = reverse("accounts:login") + "?next=/patients/"
    assert (
        client.post(url, {"username": "reception", "password": PASSWORD})["Location"]
        == "/patients/"
    )
    client.logout()
    url = reverse("accounts:login") + "?next=https://evil.example/"
    assert client.post(url, {"username": "reception", "password": PASSWORD})["Location"] == "/"


def test_wrong_password_is_refused_with_a_clear_message(client, staff):
    response = sign_in(client, "practitioner", "wrong")
    assert response.status_code == 400
    assert "Username or password is not correct." in response.content.decode()


def test_unknown_user_gets_the_same_message(client, db):
    response = sign_in(client, "nobody", "wrong")
    assert response.status_code == 400
    assert "Username or password is not correct." in response.content.decode()


def sign_in_from(client: Client, address: str, username: str, password: str):
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def error_text(response) -> str:
    """The refusal shown on the page, without the CSRF token and the typed username."""
    return response.content.decode().split('class="alert error"', 1)[1].split("</div>", 1)[0]


def test_account_is_throttled_for_the_address_that_failed_even_with_the_right_password(
    client, staff, settings
):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(5):
        sign_in_from(client, "198.51.100.7", "practitioner", "wrong")
    response = sign_in_from(client, "198.51.100.7", "practitioner", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_passwords_from_other_addresses_never_lock_the_owner_out(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for attacker in range(3):
        for _ in range(10):
            sign_in_from(Client(), f"203.0.113.{attacker + 1}", "practitioner", "wrong")
    response = sign_in_from(client, "192.0.2.10", "practitioner", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff["practitioner"].pk)


def test_known_and_unknown_usernames_get_identical_answers_at_every_attempt(
    client, staff, settings
):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(7):
        known = sign_in_from(Client(), "198.51.100.8", "practitioner", "wrong")
        unknown = sign_in_from(Client(), "198.51.100.9", "nobody-here", "wrong")
        assert known.status_code == unknown.status_code
        assert error_text(known) == error_text(unknown)
    assert known.status_code == 429


def test_every_failed_sign_in_is_audited_for_known_and_unknown_usernames(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 2
    sign_in_from(client, "198.51.100.5", "practitioner", "wrong")
    sign_in_from(client, "198.51.100.5", "nobody-here", "wrong")
    sign_in_from(client, "198.51.100.5", "nobody-here", "wrong")
    sign_in_from(client, "198.51.100.5", "nobody-here", "wrong")
    failed = AuditEvent.objects.filter(action="auth.login_failed").order_by("seq")
    assert [(e.details["username"], e.details["throttled"]) for e in failed] == [
        ("practitioner", False),
        ("nobody-here", False),
        ("nobody-here", True),  # the second failure reaches the limit
        ("nobody-here", True),
    ]
    assert {e.details["address"] for e in failed} == {"198.51.100.5"}
    assert failed[0].object_id == str(staff["practitioner"].pk) and failed[1].object_id == ""


def test_four_failures_do_not_lock(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        sign_in(client, "practitioner", "wrong")
    assert sign_in(client, "practitioner", PASSWORD).status_code == 302


def test_throttle_expires_after_the_lockout_period(client, staff, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, "practitioner", "wrong")
        traveller.shift(timedelta(minutes=14))
        refused = sign_in(client, "practitioner", PASSWORD)
        assert (
            refused.status_code == 429
            and "Wait up to 15 minutes before trying again." in refused.text
        )
        traveller.shift(timedelta(minutes=2))
        assert sign_in(client, "practitioner", PASSWORD).status_code == 302


def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(client, staff, settings):
    settings.BEHIND_PROXY = True
    settings.AXES_FAILURE_LIMIT = 2
    for spoofed in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        client.post(
            reverse("accounts:login"),
            {"username": "practitioner", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"{spoofed}, 198.51.100.20",
        )
    events = AuditEvent.objects.filter(action="auth.login_failed")
    assert [e.details["address"] for e in events] == ["198.51.100.20"] * 3
    assert events.order_by("seq").last().details["throttled"] is True


def test_a_manager_unlock_clears_the_throttle(client, staff, clinic, settings):
    from mesochart.accounts.services import do_unlock_user

    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(client, "practitioner", "wrong")
    assert sign_in(client, "practitioner", PASSWORD).status_code == 429
    do_unlock_user(staff["manager"], clinic, staff["practitioner"])
    assert sign_in(client, "practitioner", PASSWORD).status_code == 302


def test_user_without_an_active_membership_cannot_sign_in(client, staff):
    Membership.objects.filter(user=staff["assistant"]).update(is_active=False)
    assert sign_in(client, "assistant", PASSWORD).status_code == 400


def test_logout_needs_post_and_ends_the_session(client, staff):
    sign_in(client, "reception", PASSWORD)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("patients:list")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout").exists()


def test_idle_session_times_out(client, staff, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "reception", PASSWORD)
        traveller.shift(timedelta(minutes=14))
        assert client.get(reverse("patients:list")).status_code == 200
        traveller.shift(timedelta(minutes=16))
        response = client.get(reverse("patients:list"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
        assert client.get(reverse("patients:list")).status_code == 302
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.details == {"reason": "idle timeout"}


def test_idle_timeout_on_an_htmx_request_redirects_the_whole_page(client, staff, settings):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "reception", PASSWORD)
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES + 1))
        response = client.get(reverse("patients:list"), HTTP_HX_REQUEST="true")
        assert response.status_code == 204
        assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_manager_switches_between_their_clinics(client, staff, neighbour_clinic, clinic):
    Membership.objects.create(user=staff["manager"], clinic=neighbour_clinic, role="manager")
    login_with_two_factor(client, staff["manager"])
    assert (
        client.post(reverse("accounts:switch_clinic", args=[neighbour_clinic.pk])).status_code
        == 302
    )
    assert (
        neighbour_clinic.name
        in client.get(reverse("core:dashboard")).content.decode().split("<main")[1]
    )


def test_switching_to_a_clinic_without_membership_is_not_found(client_as, other_clinic):
    response = client_as("manager").post(reverse("accounts:switch_clinic", args=[other_clinic.pk]))
    assert response.status_code == 404
