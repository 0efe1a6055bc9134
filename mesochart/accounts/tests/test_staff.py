"""Staff administration by managers: add, roles, deactivate, unlock, password links."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from mesochart.accounts.models import Membership, Role, User
from mesochart.audit.models import AuditEvent
from mesochart.conftest import PASSWORD, make_user
from mesochart.core.testing import enrol_two_factor

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer new secret"


def detail(user: User) -> str:
    return reverse("accounts:staff_detail", args=[user.pk])


def action(name: str, user: User) -> str:
    return reverse(f"accounts:staff_{name}", args=[user.pk])


def sign_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/set-password/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def set_password_through(client: Client, path: str, password: str):
    page = client.get(path)  # Django moves the token into the session and redirects
    assert page.status_code == 302, page.status_code
    form_url = page["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


NEW_STAFF = {
    "username": "nadia",
    "first_name": "Nadia",
    "last_name": "Roux",
    "email": "nadia@example.org",
    "role": Role.PRACTITIONER,
}


# --- the Staff page ---------------------------------------------------------------


def test_manager_sees_the_clinics_staff_and_the_link_in_the_header(client_as, staff, outsider):
    response = client_as("manager").get(reverse("accounts:staff_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert all(user.username in html for user in staff.values())
    assert "outsider" not in html
    assert 'href="/accounts/staff/"' in html


@pytest.mark.parametrize(
    "role", ["prescriber", "practitioner", "assistant", "reception", "auditor"]
)
def test_only_managers_administer_staff(client_as, staff, role):
    client = client_as(role)
    assert client.get(reverse("accounts:staff_list")).status_code == 403
    assert client.get(detail(staff["practitioner"])).status_code == 403
    assert client.post(action("unlock", staff["practitioner"])).status_code == 403
    assert 'href="/accounts/staff/"' not in client.get(reverse("core:dashboard")).content.decode()


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_a_manager_elsewhere_cannot_touch_this_clinics_staff(client_as, staff, who):
    """Another organisation's manager, or the manager of another clinic of the same
    organisation: every page and action on this clinic's staff answers 404."""
    client = client_as(who)
    target = staff["practitioner"]
    assert client.get(detail(target)).status_code == 404
    for name in ("unlock", "deactivate", "reactivate", "password_link", "two_factor_reset"):
        assert client.post(action(name, target)).status_code == 404, name
    membership = Membership.objects.get(user=target)
    remove = reverse("accounts:staff_role_remove", args=[target.pk, membership.pk])
    assert client.post(remove).status_code == 404
    assert Membership.objects.get(pk=membership.pk).is_active
    assert User.objects.get(pk=target.pk).is_active
    assert not AuditEvent.objects.filter(action__startswith="staff.").exists()


def test_a_user_only_in_another_organisation_answers_404_to_this_manager(
    client_as, outsider, neighbour
):
    client = client_as("manager")
    for target in (outsider, neighbour):
        assert client.get(detail(target)).status_code == 404
        for name in ("unlock", "deactivate", "password_link", "two_factor_reset"):
            assert client.post(action(name, target)).status_code == 404, name
        role = client.post(action("role", target), {"role": Role.ASSISTANT})
        assert role.status_code == 404
    assert User.objects.get(pk=outsider.pk).is_active
    assert not AuditEvent.objects.filter(action__startswith="staff.").exists()


# --- adding staff -------------------------------------------------------------------


def test_manager_adds_staff_who_choose_their_password_from_the_emailed_link(
    client_as, clinic, staff
):
    response = client_as("manager").post(
        reverse("accounts:staff_add"), {**NEW_STAFF, "clinic": clinic.pk}
    )
    user = User.objects.get(username="nadia")
    assert response.status_code == 302 and response["Location"] == detail(user)
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).role == Role.PRACTITIONER
    assert [m.to for m in mail.outbox] == [["nadia@example.org"]]
    assert "nadia" in mail.outbox[0].body and clinic.name in mail.outbox[0].subject
    added = AuditEvent.objects.get(action="staff.added")
    assert added.actor == staff["manager"] and added.details["role"] == Role.PRACTITIONER
    assert AuditEvent.objects.get(action="staff.password_link_sent").details["emailed"] is True

    client = Client()
    assert sign_in(client, "nadia", NEW_PASSWORD).status_code == 400  # no password yet
    done = set_password_through(client, link_in(mail.outbox[0]), NEW_PASSWORD)
    assert done.status_code == 302 and done["Location"] == reverse("accounts:login")
    assert AuditEvent.objects.filter(action="auth.password_set", object_id=str(user.pk)).exists()
    assert sign_in(client, "nadia", NEW_PASSWORD).status_code == 302
    # The link works once.
    assert Client().get(link_in(mail.outbox[0]), follow=True).status_code == 404


def test_a_taken_username_is_refused_on_its_field_keeping_what_was_typed(client_as, clinic):
    response = client_as("manager").post(
        reverse("accounts:staff_add"),
        {**NEW_STAFF, "username": "practitioner", "clinic": clinic.pk},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Username: This username is taken" in html
    assert 'value="nadia@example.org"' in html and 'value="Roux"' in html
    assert not User.objects.filter(email="nadia@example.org").exists()
    assert not mail.outbox


def test_staff_cannot_be_added_to_a_clinic_the_manager_does_not_manage(
    client_as, other_clinic, neighbour_clinic
):
    for target in (other_clinic, neighbour_clinic):
        response = client_as("manager").post(
            reverse("accounts:staff_add"), {**NEW_STAFF, "clinic": target.pk}
        )
        assert response.status_code == 400
        assert "Clinic:" in response.content.decode()
    assert not User.objects.filter(username="nadia").exists()


def test_an_email_that_cannot_be_sent_keeps_the_account_and_says_so(client_as, clinic):
    with mock.patch(
        "mesochart.accounts.services.send_mail", side_effect=ConnectionRefusedError("smtp down")
    ):
        response = client_as("manager").post(
            reverse("accounts:staff_add"), {**NEW_STAFF, "clinic": clinic.pk}, follow=True
        )
    assert "the email could not be sent" in response.content.decode()
    assert User.objects.filter(username="nadia").exists()
    assert AuditEvent.objects.get(action="staff.password_link_sent").details["emailed"] is False


# --- roles --------------------------------------------------------------------------


def test_manager_gives_a_role_in_another_clinic_they_manage_and_removes_it(
    client_as, staff, neighbour_clinic
):
    Membership.objects.create(user=staff["manager"], clinic=neighbour_clinic, role=Role.MANAGER)
    target = staff["practitioner"]
    client = client_as("manager")
    response = client.post(
        action("role", target), {"clinic": neighbour_clinic.pk, "role": Role.ASSISTANT}
    )
    assert response.status_code == 302
    given = Membership.objects.get(user=target, clinic=neighbour_clinic)
    assert given.role == Role.ASSISTANT and given.is_active
    remove = reverse("accounts:staff_role_remove", args=[target.pk, given.pk])
    assert client.post(remove).status_code == 302
    given.refresh_from_db()
    assert not given.is_active  # kept for the record
    actions = list(
        AuditEvent.objects.filter(object_id=str(target.pk)).values_list("action", flat=True)
    )
    assert actions[-2:] == ["staff.role_given", "staff.role_removed"]


def test_giving_a_role_replaces_the_role_in_that_clinic(client_as, staff, clinic):
    client_as("manager").post(
        action("role", staff["assistant"]), {"clinic": clinic.pk, "role": Role.PRACTITIONER}
    )
    membership = Membership.objects.get(user=staff["assistant"], clinic=clinic)
    assert membership.role == Role.PRACTITIONER
    event = AuditEvent.objects.get(action="staff.role_given")
    assert event.details["before"] == {"role": Role.ASSISTANT, "active": True}


def test_no_role_in_a_clinic_of_another_organisation_or_one_not_managed(
    client_as, staff, other_clinic, neighbour_clinic
):
    for target in (other_clinic, neighbour_clinic):
        response = client_as("manager").post(
            action("role", staff["practitioner"]), {"clinic": target.pk, "role": Role.MANAGER}
        )
        assert response.status_code == 400
        assert "Clinic:" in response.content.decode()
        assert not Membership.objects.filter(user=staff["practitioner"], clinic=target).exists()


def test_a_manager_cannot_remove_or_lower_their_own_manager_role(client_as, staff, clinic):
    manager = staff["manager"]
    client = client_as("manager")
    membership = Membership.objects.get(user=manager, clinic=clinic)
    remove = reverse("accounts:staff_role_remove", args=[manager.pk, membership.pk])
    assert client.post(remove).status_code == 409
    lowered = client.post(action("role", manager), {"clinic": clinic.pk, "role": Role.RECEPTION})
    assert lowered.status_code == 400 and "your own manager role" in lowered.content.decode()
    membership.refresh_from_db()
    assert membership.is_active and membership.role == Role.MANAGER


# --- deactivate, reactivate ----------------------------------------------------------


def test_deactivated_staff_are_signed_out_and_cannot_sign_in_until_reactivated(client_as, staff):
    target = staff["practitioner"]
    their_session = client_as("practitioner")
    assert their_session.get(reverse("core:dashboard")).status_code == 200
    manager = client_as("manager")
    assert manager.post(action("deactivate", target)).status_code == 302
    target.refresh_from_db()
    assert not target.is_active and User.objects.filter(pk=target.pk).exists()
    assert their_session.get(reverse("core:dashboard")).status_code == 302  # signed out
    assert sign_in(Client(), "practitioner").status_code == 400
    assert "deactivated" in manager.get(reverse("accounts:staff_list")).content.decode()
    assert manager.post(action("reactivate", target)).status_code == 302
    assert sign_in(Client(), "practitioner").status_code == 302
    assert list(
        AuditEvent.objects.filter(action__startswith="staff.").values_list("action", flat=True)
    ) == ["staff.deactivated", "staff.reactivated"]


def test_a_manager_cannot_deactivate_themselves(client_as, staff):
    assert client_as("manager").post(action("deactivate", staff["manager"])).status_code == 409
    assert User.objects.get(pk=staff["manager"].pk).is_active


def test_someone_who_also_works_elsewhere_is_not_deactivated_from_here(
    client_as, staff, other_clinic
):
    Membership.objects.create(user=staff["practitioner"], clinic=other_clinic, role=Role.ASSISTANT)
    response = client_as("manager").post(action("deactivate", staff["practitioner"]))
    assert response.status_code == 409
    assert "Elsewhere" in response.content.decode()
    assert User.objects.get(pk=staff["practitioner"].pk).is_active


# --- unlock, password links ------------------------------------------------------------


def test_manager_sees_a_locked_sign_in_and_unlocks_it(client_as, staff, settings):
    settings.AXES_FAILURE_LIMIT = 2
    target = staff["practitioner"]
    for _ in range(2):
        sign_in(Client(), "practitioner", "wrong")
    locked = sign_in(Client(), "practitioner")
    assert locked.status_code == 429
    assert "A manager can unlock your sign-in sooner: Staff page" in locked.content.decode()
    manager = client_as("manager")
    assert "Locked: too many failed sign-ins" in manager.get(detail(target)).content.decode()
    assert manager.post(action("unlock", target)).status_code == 302
    assert "Not locked." in manager.get(detail(target)).content.decode()
    assert sign_in(Client(), "practitioner").status_code == 302
    event = AuditEvent.objects.get(action="auth.unlock")
    assert event.actor == staff["manager"] and event.details["cleared"] == 1


def test_a_password_link_lets_staff_choose_a_new_password_and_ends_their_sessions(client_as, staff):
    target = staff["reception"]
    User.objects.filter(pk=target.pk).update(email="reception@example.org")
    their_session = client_as("reception")
    response = client_as("manager").post(action("password_link", target))
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["reception@example.org"]]
    assert their_session.get(reverse("core:dashboard")).status_code == 200  # until it is used
    done = set_password_through(Client(), link_in(mail.outbox[0]), NEW_PASSWORD)
    assert done.status_code == 302
    assert sign_in(Client(), "reception").status_code == 400
    assert sign_in(Client(), "reception", NEW_PASSWORD).status_code == 302
    assert their_session.get(reverse("core:dashboard")).status_code == 302  # ended
    events = AuditEvent.objects.filter(action="staff.password_link_sent")
    assert [e.details["purpose"] for e in events] == ["reset"]


def test_a_weak_password_from_the_link_is_refused_naming_the_field(client_as, staff):
    User.objects.filter(pk=staff["reception"].pk).update(email="reception@example.org")
    client_as("manager").post(action("password_link", staff["reception"]))
    client = Client()
    page = client.get(link_in(mail.outbox[0]))
    response = client.post(page["Location"], {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()
    assert sign_in(Client(), "reception").status_code == 302


def test_no_password_link_without_an_email_address(client_as, clinic):
    user = make_user("noemail", clinic, Role.ASSISTANT)
    response = client_as("manager").post(action("password_link", user))
    assert response.status_code == 400 and "no email address" in response.content.decode()
    assert not mail.outbox


# --- two-factor: a manager's reset and the clinic rule ----------------------------------


def test_manager_resets_a_lost_authenticator_and_the_user_must_set_up_again(
    client_as, staff, clinic
):
    target = staff["prescriber"]
    their_session = client_as("prescriber")  # enrolled and verified by the helper
    assert TOTPDevice.objects.filter(user=target).exists()
    assert client_as("manager").post(action("two_factor_reset", target)).status_code == 302
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert not StaticDevice.objects.filter(user=target).exists()
    assert their_session.get(reverse("core:dashboard")).status_code == 302  # signed out
    client = Client()
    assert sign_in(client, "prescriber").status_code == 302
    follow = client.get(reverse("core:dashboard"))
    assert follow.status_code == 302 and follow["Location"] == reverse("accounts:two_factor_setup")
    event = AuditEvent.objects.get(action="staff.two_factor_reset")
    assert event.actor == staff["manager"] and event.details["authenticators_removed"] == 1


def test_manager_turns_the_clinic_two_factor_rule_off_and_on(client_as, staff, clinic):
    client = client_as("manager")
    assert client.post(reverse("accounts:two_factor_rule"), {}).status_code == 302
    clinic.refresh_from_db()
    assert clinic.require_two_factor is False
    prescriber = Client()
    assert sign_in(prescriber, "prescriber").status_code == 302
    assert prescriber.get(reverse("core:dashboard")).status_code == 200  # no set-up asked
    client.post(reverse("accounts:two_factor_rule"), {"require_two_factor": "on"})
    clinic.refresh_from_db()
    assert clinic.require_two_factor is True
    assert prescriber.get(reverse("core:dashboard"))["Location"] == reverse(
        "accounts:two_factor_setup"
    )
    rules = AuditEvent.objects.filter(action="clinic.two_factor_rule").order_by("seq")
    assert [e.details["required"] for e in rules] == [False, True]


def test_an_enrolled_user_shows_as_set_up_on_the_managers_page(client_as, staff):
    enrol_two_factor(staff["practitioner"])
    html = client_as("manager").get(detail(staff["practitioner"])).content.decode()
    assert "Set up (authenticator app)." in html
