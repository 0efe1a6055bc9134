"""Shared fixtures: a clinic with one persona per role, and an outsider.

alice.. are named by role: ``prescriber``, ``practitioner``, ``assistant``,
``reception``, ``manager``, ``auditor``; ``outsider`` is a manager of a clinic
of ANOTHER organisation; ``neighbour`` works in a second clinic of the SAME
organisation. Neither may see anything of ``clinic``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from mesochart.accounts.models import Clinic, Membership, Organisation, Role, User
from mesochart.core.testing import (
    enrol_two_factor,
    fresh_recovery_code,
    login_with_two_factor,
    needs_two_factor,
)
from mesochart.patients import services as patient_services
from mesochart.patients.models import Patient

PASSWORD = "correct horse battery"
ROLES = [r.value for r in Role]


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    """Uploads and signatures of a test go to its own temporary folder, never var/."""
    settings.MEDIA_ROOT = tmp_path / "private-media"


@pytest.fixture(autouse=True)
def _audit_key(settings: Any, tmp_path: Any) -> None:
    """A fixed audit key and a checkpoint file of the test's own, never var/."""
    settings.AUDIT_HMAC_KEY = "test-audit-key-not-secret"
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    """Background tasks run at once, in the test's own process and database."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def browser_sign_in(page: Any, live_server: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form in the browser and wait for the dashboard.

    A user whose clinic requires a second factor (prescribers and managers, by default)
    gets a real authenticator first and passes the code step with a fresh recovery code."""
    user = User.objects.filter(username=username).first()
    needs_code = user is not None and needs_two_factor(user)
    if needs_code:
        enrol_two_factor(user)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    if needs_code:
        page.wait_for_url(live_server.url + "/accounts/login/code/")
        page.fill("#id_code", fresh_recovery_code(user))
        page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def make_user(username: str, clinic: Clinic, role: str) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.title()
    )
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


@pytest.fixture
def organisation(db: Any) -> Organisation:
    return Organisation.objects.create(name="Riverside Group", mrn_prefix="RV")


@pytest.fixture
def clinic(organisation: Organisation) -> Clinic:
    # The model's defaults, as for a real clinic: prescribers and managers must use a
    # second factor (client_as and browser_sign_in pass it for them).
    return Clinic.objects.create(
        organisation=organisation, name="Riverside", timezone="Europe/London"
    )


@pytest.fixture
def neighbour_clinic(organisation: Organisation) -> Clinic:
    return Clinic.objects.create(
        organisation=organisation, name="Harbour", timezone="Europe/London"
    )


@pytest.fixture
def other_clinic(db: Any) -> Clinic:
    other = Organisation.objects.create(name="Elsewhere Aesthetics", mrn_prefix="EA")
    return Clinic.objects.create(organisation=other, name="Elsewhere", timezone="Europe/Paris")


@pytest.fixture
def staff(clinic: Clinic) -> dict[str, User]:
    return {role: make_user(role, clinic, role) for role in ROLES}


@pytest.fixture
def outsider(other_clinic: Clinic) -> User:
    return make_user("outsider", other_clinic, Role.MANAGER)


@pytest.fixture
def neighbour(neighbour_clinic: Clinic) -> User:
    return make_user("neighbour", neighbour_clinic, Role.MANAGER)


@pytest.fixture
def client_as(staff: dict[str, User], outsider: User, neighbour: User) -> Callable[[str], Client]:
    people = {**staff, "outsider": outsider, "neighbour": neighbour}

    def make(name: str) -> Client:
        client = Client()
        login_with_two_factor(client, people[name])
        return client

    return make


PATIENT_DATA: dict[str, Any] = {
    "given_name": "Elena",
    "family_name": "Moreau",
    "birth_date": date(1985, 4, 2),
    "sex": "female",
    "email": "elena@example.org",
    "phone": "+44 7700 900123",
    "address": "1 High St",
    "preferred_language": "fr",
}


def create_patient(clinic: Clinic, actor: User, **overrides: Any) -> Patient:
    profile = overrides.pop("profile", {"fitzpatrick": 3, "conditions": ["herpes_labialis"]})
    return patient_services.do_create_patient(actor, clinic, {**PATIENT_DATA, **overrides}, profile)


@pytest.fixture
def patient(clinic: Clinic, staff: dict[str, User]) -> Patient:
    return create_patient(clinic, staff["practitioner"])


# --- browser tests (Playwright driving Debian's Chromium) -------------------

import os  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# calls from the live server thread are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def chromium_or_skip() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        reason = f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: browser tests must run)")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {
        "executable_path": chromium_or_skip(),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            # A synthetic camera (test pattern) for the capture guide's getUserMedia path.
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
        ],
    }


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + (e.sourceFile || document.location.pathname) + ":" + e.lineNumber);
});
"""


def watch_csp(page: Any) -> list[str]:
    """Collect every Content-Security-Policy violation of ``page`` (all its documents)."""
    violations: list[str] = []
    page.add_init_script(CSP_LISTENER)
    page.on(
        "console",
        lambda msg: (
            violations.append(msg.text)
            if "Content Security Policy" in msg.text or msg.text.startswith("CSP violation")
            else None
        ),
    )
    return violations


@pytest.fixture(autouse=True)
def _no_csp_violation_in_browser_tests(request: Any) -> Any:
    """Every browser test fails on a Content-Security-Policy violation of its page.

    The policy forbids eval: give ``page.wait_for_function`` a function ("() => ..."), not
    an expression string, or the test itself causes a violation."""
    if request.node.get_closest_marker("browser") is None or "page" not in request.fixturenames:
        yield
        return
    violations = watch_csp(request.getfixturevalue("page"))
    yield
    assert not violations, violations
