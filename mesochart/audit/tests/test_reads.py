"""Every view of clinical data writes one read event (actor, clinic, object); a refused read
(another clinic's object answers 404) writes none."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.care.tests.factories import sign
from mesochart.outcomes.tests.factories import make_session, photo_consent, record_ae, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def things(clinic, staff, patient) -> dict[str, Any]:
    consent = photo_consent(clinic, staff, patient)
    treatment = sign(clinic, staff["practitioner"], patient)
    photo = upload(clinic, staff, patient)
    session = make_session(clinic, staff, patient)
    event = record_ae(clinic, staff, patient)
    return {
        "patient": patient,
        "consent": consent,
        "treatment": treatment,
        "photo": photo,
        "session": session,
        "event": event,
    }


# (url name, fixture key of its argument, read action, fixture key of the logged object)
OBJECT_READS = [
    ("care:session", "session", "read.treatmentsession", "session"),
    ("care:aftercare", "session", "read.treatmentsession", "session"),
    ("care:calendar", "patient", "read.patient", "patient"),
    ("care:consent_detail", "consent", "read.signedconsent", "consent"),
    ("care:signature", "treatment", "read.signedconsent", "treatment"),
    ("care:patient_consents", "patient", "read.patient", "patient"),
    ("outcomes:adverse_event", "event", "read.adverseevent", "event"),
    ("outcomes:patient_outcomes", "patient", "read.patient", "patient"),
    ("outcomes:timeline", "patient", "read.patient", "patient"),
    ("outcomes:trends", "patient", "read.patient", "patient"),
    ("outcomes:detail", "photo", "read.photo", "photo"),
    ("outcomes:compare", "photo", "read.photo", "photo"),
    ("patients:edit", "patient", "read.patient", "patient"),
    ("patients:profile_edit", "patient", "read.patient", "patient"),
]

ROLE_FOR = {"patients:edit": "reception"}


def reads_of(obj: Any) -> Any:
    return AuditEvent.objects.filter(action__startswith="read.", object_id=str(obj.pk))


@pytest.mark.parametrize(("name", "arg", "action", "logged"), OBJECT_READS)
def test_each_view_of_clinical_data_writes_a_read_event(
    client_as, clinic, staff, things, name, arg, action, logged
):
    role = ROLE_FOR.get(name, "prescriber")
    response = client_as(role).get(reverse(name, args=[things[arg].pk]))
    assert response.status_code == 200, name
    event = reads_of(things[logged]).get()
    assert event.action == action
    assert event.actor == staff[role]
    assert event.clinic_id == clinic.pk
    assert event.object_type == things[logged]._meta.label_lower
    if logged != "patient":
        assert event.details["patient"] == str(things["patient"].pk)


@pytest.mark.parametrize(("name", "arg", "action", "logged"), OBJECT_READS)
@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_a_refused_read_writes_no_read_event(client_as, things, name, arg, action, logged, who):
    assert client_as(who).get(reverse(name, args=[things[arg].pk])).status_code == 404
    assert not reads_of(things[logged]).exists()
    assert not reads_of(things["patient"]).exists()


def test_a_permission_refusal_writes_no_read_event(client_as, things):
    response = client_as("reception").get(reverse("care:session", args=[things["session"].pk]))
    assert response.status_code == 403
    assert not reads_of(things["session"]).exists()


def test_the_search_result_is_logged_not_the_searched_name(client_as, staff, clinic, patient):
    client_as("reception").get(reverse("patients:list"), {"q": patient.family_name})
    event = AuditEvent.objects.get(action="read.patient_search")
    assert event.actor == staff["reception"] and event.clinic_id == clinic.pk
    assert event.details["patients"] == [str(patient.pk)]
    assert patient.family_name not in str(event.details)


def test_another_clinics_search_logs_none_of_this_clinics_patients(client_as, patient):
    client_as("outsider").get(reverse("patients:list"), {"q": patient.family_name})
    event = AuditEvent.objects.get(action="read.patient_search")
    assert event.details.get("patients", []) == []


def test_a_report_csv_download_is_logged(client_as, staff, clinic, things):
    url = reverse("outcomes:report_csv") + "?table=ae-by-protocol"
    assert client_as("manager").get(url).status_code == 200
    event = AuditEvent.objects.get(action="read.report_csv")
    assert event.actor == staff["manager"] and event.clinic_id == clinic.pk
    assert event.details == {"table": "ae-by-protocol"}


def test_a_write_on_the_chair_screen_is_not_a_read(client_as, things):
    session = things["session"]
    client_as("practitioner").post(reverse("care:session_start", args=[session.pk]))
    assert not reads_of(session).exists()


def test_the_follow_up_day_list_is_logged(client_as, staff, clinic, things):
    assert client_as("assistant").get(reverse("care:follow_ups")).status_code == 200
    event = AuditEvent.objects.get(action="read.follow_ups")
    assert event.actor == staff["assistant"] and event.clinic_id == clinic.pk
