from __future__ import annotations

import base64
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from mesochart.accounts.models import Membership, Role, User
from mesochart.audit.services import verify_chain
from mesochart.core.demo import DEMO_PASSWORD
from mesochart.patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_on(settings):
    """`mesochart demo` runs with DEBUG on (as `make run` does)."""
    settings.DEBUG = True


def test_demo_loads_two_clinics_every_role_and_40_patients_once(capsys):
    call_command("demo")
    out = capsys.readouterr().out
    call_command("demo")
    again = capsys.readouterr().out
    assert Patient.objects.count() == 40
    assert Patient.objects.values("clinic").distinct().count() == 2
    assert {m.role for m in Membership.objects.all()} == {r.value for r in Role}
    for role in Role:
        assert role.value in out
    assert DEMO_PASSWORD in out
    # The main clinic's public booking page is printed and answers.
    booking = re.search(r"Online booking for [^:]+: \S+(/book/[0-9a-f-]+/)", out)
    assert booking is not None
    assert Client().get(booking.group(1)).status_code == 200
    assert "0 patients created this run" in again
    assert User.objects.get(username="practitioner").check_password(DEMO_PASSWORD)
    assert verify_chain().ok


def test_demo_has_stock_sterility_and_consents_and_running_it_again_adds_nothing():
    from mesochart.audit.models import AuditEvent
    from mesochart.care.models import SignedConsent
    from mesochart.sterility.models import Pack
    from mesochart.stock.models import Lot, StockMovement

    call_command("demo")

    def counts():
        return (
            Lot.objects.count(),
            StockMovement.objects.count(),
            Pack.objects.count(),
            SignedConsent.objects.count(),
        )

    before = counts()
    events = AuditEvent.objects.count()
    call_command("demo")
    assert counts() == before
    assert all(n > 0 for n in before)
    assert AuditEvent.objects.count() == events


def test_demo_profiles_are_varied():
    call_command("demo")
    profiles = [p.profile for p in Patient.objects.select_related("profile")]
    assert len({p.fitzpatrick for p in profiles}) >= 4
    assert any(p.conditions for p in profiles)
    assert any(p.allergies for p in profiles)
    assert any(p.version > 1 for p in profiles)


def test_demo_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("demo")
    assert not User.objects.exists()
    call_command("demo", "--force")
    assert User.objects.filter(username="practitioner").exists()


def test_demo_refuses_beside_data_that_is_not_the_demo_unless_forced(staff):
    with pytest.raises(CommandError, match="not the demo's"):
        call_command("demo")
    assert not Patient.objects.exists()
    call_command("demo", "--force")
    assert Patient.objects.count() == 40


def test_demo_runs_again_over_its_own_data(capsys):
    call_command("demo")
    call_command("demo")
    assert "0 patients created this run" in capsys.readouterr().out


def test_demo_prescribers_and_managers_get_through_two_factor_with_printed_codes(capsys):
    from django.test import Client
    from django.urls import reverse
    from django_otp.oath import totp

    call_command("demo")
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()[1:2] == ["secret"]}
    assert set(lines) == {"prescriber", "manager"}
    codes = re.findall(r"recovery codes ((?:[a-z2-7]{8} ?){10})", out)
    assert len(codes) == 2
    manager_codes = codes[list(lines).index("manager")].split()
    client = Client()
    login = {"username": "manager", "password": DEMO_PASSWORD}
    assert client.post(reverse("accounts:login"), login)["Location"] == reverse(
        "accounts:login_code"
    )
    done = client.post(reverse("accounts:login_code"), {"code": manager_codes[0]})
    assert done["Location"] == reverse("core:dashboard")
    assert client.get(reverse("core:dashboard")).status_code == 200
    # The printed secret is what an authenticator app would be given.
    secret = lines["prescriber"].split("secret ")[1].replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    prescriber = Client()
    prescriber.post(reverse("accounts:login"), {**login, "username": "prescriber"})
    response = prescriber.post(reverse("accounts:login_code"), {"code": f"{totp(key):06d}"})
    assert response["Location"] == reverse("core:dashboard")
    # Running the demo again keeps the secret and prints the codes left.
    call_command("demo")
    again = capsys.readouterr().out
    assert lines["prescriber"] in again
    assert manager_codes[0] not in again and " ".join(manager_codes[1:]) in again


def test_demo_has_a_week_of_appointments_across_practitioners_and_rooms():
    from mesochart.scheduling.models import Appointment

    call_command("demo")
    appointments = list(Appointment.objects.all())
    assert len(appointments) >= 40
    assert len({a.practitioner_id for a in appointments}) == 3
    assert len({a.room_id for a in appointments}) >= 3
    assert any(a.device_id for a in appointments)
    days = {a.starts_at.date() for a in appointments}
    assert len(days) >= 5
    before = len(appointments)
    call_command("demo")
    assert Appointment.objects.count() == before
