"""Every user's own account: change the password, sign out every other session."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "an entirely new passphrase"
ACCOUNT = reverse("accounts:account")


def sign_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


@pytest.mark.parametrize("role", ["practitioner", "reception", "auditor", "manager"])
def test_every_role_reaches_their_account_page_from_the_header(client_as, role):
    client = client_as(role)
    assert f'href="{ACCOUNT}"' in client.get(reverse("core:dashboard")).content.decode()
    html = client.get(ACCOUNT).content.decode()
    assert "Change my password" in html and "Sign out everywhere else" in html


def test_account_page_needs_a_sign_in(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )


def test_changing_the_password_keeps_this_session_and_ends_the_others(client, staff):
    assert sign_in(client, "practitioner").status_code == 302
    other = Client()
    assert sign_in(other, "practitioner").status_code == 302
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get(reverse("core:dashboard")).status_code == 200
    assert other.get(reverse("core:dashboard")).status_code == 302
    assert sign_in(Client(), "practitioner").status_code == 400
    assert sign_in(Client(), "practitioner", NEW_PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(
        action="auth.password_changed", actor=staff["practitioner"]
    ).exists()


def test_a_wrong_old_password_is_refused_naming_the_field(client_as, staff):
    response = client_as("practitioner").post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert "Old password: Your old password was entered incorrectly" in response.content.decode()
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_a_weak_new_password_is_refused(client_as):
    response = client_as("practitioner").post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert response.status_code == 400
    assert "too common" in response.content.decode()


def test_sign_out_everywhere_else_ends_every_other_session_only(client, staff):
    sign_in(client, "reception")
    laptop, phone = Client(), Client()
    sign_in(laptop, "reception")
    sign_in(phone, "reception")
    colleague = Client()
    sign_in(colleague, "practitioner")
    assert client.post(reverse("accounts:sign_out_elsewhere")).status_code == 302
    assert client.get(reverse("core:dashboard")).status_code == 200
    assert laptop.get(reverse("core:dashboard")).status_code == 302
    assert phone.get(reverse("core:dashboard")).status_code == 302
    assert colleague.get(reverse("core:dashboard")).status_code == 200
    assert sign_in(laptop, "reception").status_code == 302  # the password still works
    assert AuditEvent.objects.filter(action="auth.sessions_revoked", actor=staff["reception"])
    assert client.get(reverse("accounts:sign_out_elsewhere")).status_code == 405
