"""Staff notifications raised where the events happen: a fridge excursion, a session
awaiting co-signature or a prescription, a cluster alert, a message not delivered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.accounts.models import Membership
from mesochart.audit.models import AuditEvent
from mesochart.care.services import lifecycle, signing
from mesochart.care.tests import conftest as care_fixtures
from mesochart.care.tests.factories import sign
from mesochart.care.tests.session_factories import dca_session, receive
from mesochart.messaging import notifications
from mesochart.messaging.models import Notification, NotificationKind
from mesochart.stock import services as stock

pytestmark = pytest.mark.django_db

templates = care_fixtures.templates  # the consent templates a treatment needs


def member(user: Any) -> Membership:
    return Membership.objects.select_related("clinic", "user").get(user=user)


def test_a_fridge_excursion_notifies_the_staff_who_look_after_the_fridge(
    clinic, staff, client_as, django_capture_on_commit_callbacks
):
    fridge = stock.do_create_fridge(staff["manager"], clinic, "Treatment room")
    with django_capture_on_commit_callbacks(execute=True):
        stock.do_record_reading(staff["assistant"], clinic, fridge, timezone.now(), Decimal("11.5"))
        stock.do_record_reading(staff["assistant"], clinic, fridge, timezone.now(), Decimal("5"))
    [note] = Notification.objects.all()
    assert note.kind == NotificationKind.FRIDGE_EXCURSION
    assert "Treatment room" in note.title and "11.5" in note.title
    assert note.link == reverse("stock:fridge_detail", args=[fridge.pk])
    assert notifications.unread_count(member(staff["practitioner"])) == 1
    assert notifications.unread_count(member(staff["reception"])) == 0

    client = client_as("practitioner")
    count = client.get(reverse("messaging:notification_count")).content.decode()
    assert ">1<" in count
    page = client.get(reverse("messaging:notifications")).content.decode()
    assert "Treatment room" in page and 'class="unread"' in page
    assert AuditEvent.objects.filter(action="read.notifications").exists()
    assert client.post(reverse("messaging:notifications_read")).status_code == 302
    assert notifications.unread_count(member(staff["practitioner"])) == 0
    assert notifications.unread_count(member(staff["manager"])) == 1  # read per person
    assert AuditEvent.objects.filter(action="notification.read").exists()
    assert client_as("reception").get(reverse("messaging:notifications")).status_code == 200
    assert (
        "Treatment room"
        not in client_as("reception").get(reverse("messaging:notifications")).content.decode()
    )


def test_another_clinics_staff_never_see_the_notification(
    clinic, staff, neighbour, outsider, django_capture_on_commit_callbacks, client_as
):
    fridge = stock.do_create_fridge(staff["manager"], clinic, "Room 2")
    with django_capture_on_commit_callbacks(execute=True):
        stock.do_record_reading(staff["assistant"], clinic, fridge, timezone.now(), Decimal("12"))
    assert notifications.unread_count(member(neighbour)) == 0
    assert notifications.unread_count(member(outsider)) == 0
    assert (
        "Room 2"
        not in client_as("neighbour").get(reverse("messaging:notifications")).content.decode()
    )


def test_a_rolled_back_write_notifies_nobody(clinic, staff, django_capture_on_commit_callbacks):
    from django.db import transaction

    fridge = stock.do_create_fridge(staff["manager"], clinic, "Room 3")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                stock.do_record_reading(
                    staff["assistant"], clinic, fridge, timezone.now(), Decimal("12")
                )
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert not Notification.objects.exists()


@pytest.mark.usefixtures("templates")
def test_a_prescription_only_session_notifies_prescribers_twice_over(
    clinic, staff, patient, django_capture_on_commit_callbacks
):
    sign(clinic, staff["practitioner"], patient)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.do_create_session(
            staff["practitioner"],
            clinic,
            patient,
            protocol="submental-dca",
            scheduled_for=clinic.today(),
        )
    [note] = Notification.objects.all()
    assert note.kind == NotificationKind.AWAITING_PRESCRIPTION and "Elena Moreau" in note.title
    assert notifications.unread_count(member(staff["prescriber"])) == 1
    assert notifications.unread_count(member(staff["manager"])) == 0

    lot = receive(clinic, staff["manager"], quantity="200")
    with django_capture_on_commit_callbacks(execute=True):
        session = dca_session(clinic, staff["practitioner"], patient, lot, points=2)
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    cosign = Notification.objects.get(kind=NotificationKind.AWAITING_COSIGN)
    assert cosign.link == reverse("care:session", args=[session.pk])
    assert notifications.unread_count(member(staff["prescriber"])) >= 2


def test_a_skin_booster_session_needs_no_prescription_notification(
    clinic, staff, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.do_create_session(
            staff["practitioner"],
            clinic,
            patient,
            protocol="skin-booster",
            scheduled_for=clinic.today(),
        )
    assert not Notification.objects.exists()


def test_a_cluster_alert_notifies_once(clinic, staff, django_capture_on_commit_callbacks):
    from mesochart.outcomes.models import ClusterAlert

    alert = ClusterAlert.objects.create(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        kind="lot",
        object_id=clinic.pk,
        label="Lot V-77",
        first_onset=clinic.today(),
        last_onset=clinic.today(),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    from mesochart.audit.services import record

    with django_capture_on_commit_callbacks(execute=True):
        record("cluster_alert.raise", actor=None, clinic=clinic, obj=alert)
        record("cluster_alert.raise", actor=None, clinic=clinic, obj=alert)
    [note] = Notification.objects.all()
    assert note.kind == NotificationKind.CLUSTER_ALERT and "Lot V-77" in note.title
    assert notifications.unread_count(member(staff["auditor"])) == 1
    assert notifications.unread_count(member(staff["practitioner"])) == 0


def test_the_header_loads_the_unread_count(client_as):
    page = client_as("reception").get(reverse("core:dashboard")).content.decode()
    assert 'id="notifications-link"' in page
    assert reverse("messaging:notification_count") in page
