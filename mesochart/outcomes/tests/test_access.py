"""Role matrix and outsider 404s of the outcome views; constant queries on list pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.conftest import create_patient
from mesochart.outcomes.models import AdverseEvent, ClusterAlert, OutcomeScore

from .factories import make_lot, make_packs, make_session, record_ae

pytestmark = pytest.mark.django_db

ROLES = ["prescriber", "practitioner", "assistant", "reception", "manager", "auditor"]
CLINICAL = {"prescriber", "practitioner", "assistant"}
READERS = CLINICAL | {"manager", "auditor"}


@pytest.fixture
def objects(clinic, staff, patient):
    second = create_patient(clinic, staff["manager"], given_name="Ana", family_name="Silva")
    lot = make_lot(clinic, staff)
    event = record_ae(clinic, staff, patient, event_type="infection", lots=[lot])
    record_ae(clinic, staff, second, event_type="infection", lots=[lot])
    return {"event": event, "alert": ClusterAlert.objects.get()}


@pytest.mark.parametrize("role", ROLES)
def test_every_view_follows_the_role_matrix(client_as, patient, objects, role):
    event, alert = objects["event"], objects["alert"]
    expected = {
        reverse("outcomes:patient_outcomes", args=[patient.pk]): READERS,
        reverse("outcomes:trends", args=[patient.pk]): READERS,
        reverse("outcomes:score_new", args=[patient.pk]): CLINICAL,
        reverse("outcomes:adverse_event_new", args=[patient.pk]): CLINICAL,
        reverse("outcomes:adverse_event", args=[event.pk]): READERS,
        reverse("outcomes:alerts"): {"prescriber", "manager", "auditor"},
        reverse("outcomes:alert", args=[alert.pk]): {"prescriber", "manager", "auditor"},
        reverse("outcomes:reports"): {"prescriber", "manager", "auditor"},
    }
    client = client_as(role)
    for url, allowed in expected.items():
        assert client.get(url).status_code == (200 if role in allowed else 403), (role, url)
    posts = {
        reverse("outcomes:score_new", args=[patient.pk]): CLINICAL,
        reverse("outcomes:adverse_event_new", args=[patient.pk]): CLINICAL,
        reverse("outcomes:adverse_event", args=[event.pk]): CLINICAL,
        reverse("outcomes:adverse_event_culture", args=[event.pk]): CLINICAL,
        reverse("outcomes:alert", args=[alert.pk]): {"manager"},
    }
    for url, allowed in posts.items():
        status = client.post(url, {}).status_code
        assert (status != 403) is (role in allowed), (role, url, status)


def test_reception_sees_no_clinical_outcome_link_on_the_chart(client_as, patient):
    url = reverse("outcomes:patient_outcomes", args=[patient.pk]).encode()
    assert url in client_as("auditor").get(reverse("patients:chart", args=[patient.pk])).content
    reception = client_as("reception").get(reverse("patients:chart", args=[patient.pk]))
    assert url not in reception.content


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_outsiders_get_404_on_every_view(client_as, patient, objects, who):
    event, alert = objects["event"], objects["alert"]
    client = client_as(who)
    urls = [
        reverse(n, args=[patient.pk])
        for n in (
            "outcomes:patient_outcomes",
            "outcomes:trends",
            "outcomes:score_new",
            "outcomes:adverse_event_new",
        )
    ]
    urls += [
        reverse(n, args=[event.pk])
        for n in ("outcomes:adverse_event", "outcomes:adverse_event_culture")
    ]
    urls.append(reverse("outcomes:alert", args=[alert.pk]))
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"note": "x", "outcome": "recovered"}).status_code == 404, url
    assert AdverseEvent.objects.count() == 2 and not OutcomeScore.objects.exists()
    assert ClusterAlert.objects.get().acknowledged_at is None
    # the outsider's own alert list is empty: nothing of this clinic leaks
    assert str(alert.pk).encode() not in client.get(reverse("outcomes:alerts")).content


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_pages_run_a_constant_number_of_queries(clinic, staff, patient, client_as):
    from django.utils import timezone

    from mesochart.outcomes import services

    client = client_as("manager")
    outcomes_url = reverse("outcomes:patient_outcomes", args=[patient.pk])
    pages = [outcomes_url, reverse("outcomes:alerts"), reverse("outcomes:reports")]

    def add_batch(n):
        lot = make_lot(clinic, staff, f"Q-{n}")
        pack = make_packs(clinic, staff, 1, cycle_number=n)[0]
        session = make_session(clinic, staff, patient, lots=(lot,), packs=(pack,))
        for _ in range(2):
            record_ae(clinic, staff, patient, event_type="nodule", lots=[lot], packs=[pack])
        services.do_record_score(
            staff["practitioner"],
            clinic,
            patient,
            scale_id="gais-clinician",
            value=2,
            timepoint="end_of_course",
            assessed_on=timezone.localdate(),
            session=session,
        )

    add_batch(1)
    before = [count_queries(client, url) for url in pages]
    add_batch(2)
    add_batch(3)
    after = [count_queries(client, url) for url in pages]
    assert before == after
