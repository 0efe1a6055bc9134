"""Two-factor sign-in: enrolment, the code step, recovery codes, throttling, the rule."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mesochart.accounts import two_factor
from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SETUP = reverse("accounts:two_factor_setup")
CODE = reverse("accounts:login_code")
DASHBOARD = reverse("core:dashboard")


def sign_in(client: Client, username: str, password: str = PASSWORD, next_url: str = ""):
    url = reverse("accounts:login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": username, "password": password})


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for ``secret`` (base32, as on the set-up page)."""
    raw = secret.replace(" ", "")
    key = b32decode(raw + "=" * (-len(raw) % 8))
    return f"{totp(key, drift=steps_ahead):06d}"


def secret_on(html: str) -> str:
    match = re.search(r'<code class="mono" id="totp-secret">([A-Z2-7 ]+)</code>', html)
    assert match, "no secret on the page"
    return match.group(1)


def enrol(client: Client) -> tuple[str, list[str]]:
    """Through the set-up page as the user would: returns the secret and recovery codes."""
    page = client.get(SETUP)
    assert page.status_code == 200
    secret = secret_on(page.content.decode())
    done = client.post(SETUP, {"code": code_for(secret)})
    assert done.status_code == 200, done.content.decode()[:400]
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    return secret, codes


def test_a_prescriber_must_set_up_two_factor_before_anything_else(client, staff):
    assert sign_in(client, "prescriber").status_code == 302
    for url in (DASHBOARD, reverse("patients:list"), reverse("accounts:account")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == SETUP, url
    htmx = client.get(reverse("patients:list"), HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == SETUP
    html = client.get(SETUP).content.decode()
    assert "Your clinic asks prescribers and managers" in html
    assert "<svg" in html and "<path" in html  # the QR code, inline
    assert 'href="/patients/"' not in html  # no menu while held here
    assert client.post(reverse("accounts:logout")).status_code == 302


@pytest.mark.parametrize("role", ["practitioner", "assistant", "reception", "auditor"])
def test_other_roles_are_not_obliged(client, staff, role):
    sign_in(client, role)
    assert client.get(DASHBOARD).status_code == 200


def test_enrolment_shows_qr_and_secret_and_a_wrong_code_is_refused_on_the_field(client, staff):
    sign_in(client, "prescriber")
    html = client.get(SETUP).content.decode()
    secret = secret_on(html)
    device = TOTPDevice.objects.get(user=staff["prescriber"])
    assert not device.confirmed
    assert device.config_url.startswith("otpauth://totp/Mesochart%3Aprescriber?secret=")
    wrong = f"{(int(code_for(secret)) + 1) % 1_000_000:06d}"
    response = client.post(SETUP, {"code": wrong})
    assert response.status_code == 400
    assert "Code from the app: This code is not correct" in response.content.decode()
    assert secret_on(response.content.decode()) == secret  # the same secret, still waiting
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get(DASHBOARD)["Location"] == SETUP
    assert AuditEvent.objects.filter(action="auth.code_failed").exists()


def test_the_qr_code_decodes_to_the_authenticator_url(client, staff):
    import cv2

    from mesochart.sterility.tests.test_views import svg_to_image

    sign_in(client, "prescriber")
    html = client.get(SETUP).content.decode()
    svg = re.search(r'<div class="qr"[^>]*>(<svg.*?</svg>)', html, re.S).group(1)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(svg_to_image(svg))
    device = TOTPDevice.objects.get(user=staff["prescriber"])
    assert text == device.config_url
    assert secret_on(html).replace(" ", "") in text


def test_enrolment_confirms_with_a_code_and_shows_ten_recovery_codes_once(client, staff):
    sign_in(client, "prescriber")
    _, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get(DASHBOARD).status_code == 200
    assert TOTPDevice.objects.get(user=staff["prescriber"]).confirmed
    event = AuditEvent.objects.get(action="auth.two_factor_enrolled")
    assert event.actor == staff["prescriber"] and event.details == {"recovery_codes": 10}
    assert not any(code in str(event.details) for code in codes)
    assert not any(
        code in client.get(reverse("accounts:account")).content.decode() for code in codes
    )


def test_sign_in_asks_for_the_code_after_the_password(client, staff):
    sign_in(client, "prescriber")
    secret, _ = enrol(client)
    client.post(reverse("accounts:logout"))

    response = sign_in(client, "prescriber", next_url="/patients/")
    assert response.status_code == 302 and response["Location"] == CODE
    assert client.get(DASHBOARD)["Location"].startswith(reverse("accounts:login"))  # not yet
    assert AuditEvent.objects.filter(action="auth.password_accepted").exists()
    done = client.post(CODE, {"code": code_for(secret, steps_ahead=1)})
    assert done.status_code == 302 and done["Location"] == "/patients/"
    assert client.get(DASHBOARD).status_code == 200
    login = AuditEvent.objects.filter(action="auth.login").order_by("seq").last()
    assert login.details == {"second_factor": "totp"}


def test_a_wrong_code_is_refused_visibly_and_a_used_code_does_not_work_twice(client, staff):
    sign_in(client, "prescriber")
    secret, _ = enrol(client)  # used the current code
    client.post(reverse("accounts:logout"))
    sign_in(client, "prescriber")
    replay = client.post(CODE, {"code": code_for(secret)})
    assert replay.status_code == 400
    assert "Code: This code is not correct (or was already used)" in replay.content.decode()
    assert client.get(DASHBOARD).status_code == 302
    failed = AuditEvent.objects.filter(action="auth.code_failed").order_by("seq").last()
    assert failed.object_id == str(staff["prescriber"].pk) and failed.actor is None


def test_wrong_codes_are_throttled(client, staff):
    sign_in(client, "prescriber")
    secret, _ = enrol(client)
    client.post(reverse("accounts:logout"))
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False) as traveller:
        sign_in(client, "prescriber")
        for _ in range(3):
            client.post(CODE, {"code": "000000"})
            traveller.shift(timedelta(seconds=0.1))
        response = client.post(CODE, {"code": code_for(secret)})
        assert response.status_code == 429
        assert "Too many wrong codes. Wait" in response.content.decode()
        assert (
            AuditEvent.objects.filter(action="auth.code_failed")
            .order_by("seq")
            .last()
            .details["throttled"]
        )
        traveller.shift(timedelta(seconds=5))
        assert client.post(CODE, {"code": code_for(secret)})["Location"] == DASHBOARD


def test_a_recovery_code_signs_in_once(client, staff):
    sign_in(client, "prescriber")
    _, codes = enrol(client)
    client.post(reverse("accounts:logout"))
    sign_in(client, "prescriber")
    assert client.post(CODE, {"code": codes[0].upper()})["Location"] == DASHBOARD
    login = AuditEvent.objects.filter(action="auth.login").order_by("seq").last()
    assert login.details == {"second_factor": "recovery_code", "recovery_codes_left": 9}
    client.post(reverse("accounts:logout"))
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        sign_in(client, "prescriber")
        again = client.post(CODE, {"code": codes[0]})
        assert again.status_code == 400
        assert client.post(CODE, {"code": codes[1]}).status_code == 429  # throttled: wait
    with time_machine.travel(timezone.now() + timedelta(seconds=20)):
        assert client.post(CODE, {"code": codes[1]})["Location"] == DASHBOARD


def test_new_recovery_codes_replace_the_old_ones(client, staff):
    sign_in(client, "practitioner")  # not obliged, sets it up anyway
    _, old = enrol(client)
    page = client.post(reverse("accounts:recovery_codes_new"))
    new = re.findall(r"<li>([a-z2-7]{8})</li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)
    assert AuditEvent.objects.filter(action="auth.recovery_codes_renewed").exists()


def test_a_voluntary_authenticator_is_asked_for_at_every_sign_in(client, staff):
    sign_in(client, "practitioner")
    secret, _ = enrol(client)
    client.post(reverse("accounts:logout"))
    assert sign_in(client, "practitioner")["Location"] == CODE
    assert client.post(CODE, {"code": code_for(secret, steps_ahead=1)})["Location"] == DASHBOARD


def test_the_code_step_expires_and_needs_the_password_first(client, staff):
    assert client.get(CODE)["Location"] == reverse("accounts:login")
    sign_in(client, "prescriber")
    secret, _ = enrol(client)
    client.post(reverse("accounts:logout"))
    with time_machine.travel(timezone.now()) as traveller:
        sign_in(client, "prescriber")
        traveller.shift(timedelta(seconds=two_factor.PENDING_SECONDS + 1))
        response = client.post(CODE, {"code": code_for(secret, steps_ahead=1)}, follow=True)
        assert response.redirect_chain[-1][0] == reverse("accounts:login")
        assert "The sign-in took too long" in response.content.decode()
    assert client.get(DASHBOARD).status_code == 302


def test_an_unverified_session_of_an_enrolled_user_is_sent_back_to_sign_in(client, staff):
    """A session signed in before the user enrolled elsewhere: sign in again with a code."""
    sign_in(client, "prescriber")
    other = Client()
    sign_in(other, "prescriber")
    enrol(other)
    response = client.get(SETUP)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert client.get(DASHBOARD).status_code == 302


def test_the_account_page_shows_the_two_factor_state(client, staff):
    sign_in(client, "prescriber")
    enrol(client)
    html = client.get(reverse("accounts:account")).content.decode()
    assert "On: sign-in asks for a code" in html and "10 recovery codes left" in html
