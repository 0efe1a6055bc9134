from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesochart.accounts.models import Membership, User
from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD

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
    assert User.objects.get(username="practitioner").failed_logins == 1


def test_unknown_user_gets_the_same_message(client, db):
    response = sign_in(client, "nobody", "wrong")
    assert response.status_code == 400
    assert "Username or password is not correct." in response.content.decode()


def test_account_locks_after_repeated_failures_even_for_the_right_password(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 5
    for _ in range(5):
        sign_in(client, "practitioner", "wrong")
    response = sign_in(client, "practitioner", PASSWORD)
    assert response.status_code == 400
    assert "locked after repeated failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.lockout").count() == 1


def test_four_failures_do_not_lock(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 5
    for _ in range(4):
        sign_in(client, "practitioner", "wrong")
    assert sign_in(client, "practitioner", PASSWORD).status_code == 302
    assert User.objects.get(username="practitioner").failed_logins == 0


def test_lock_expires_after_the_lockout_period(client, staff, settings):
    settings.LOCKOUT_MINUTES = 15
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(settings.LOGIN_MAX_FAILURES):
            sign_in(client, "practitioner", "wrong")
        traveller.shift(timedelta(minutes=14))
        assert sign_in(client, "practitioner", PASSWORD).status_code == 400
        traveller.shift(timedelta(minutes=2))
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
    client.force_login(staff["manager"])
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
