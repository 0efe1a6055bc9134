"""List and chart cost the same number of queries for 3 or 300 patients."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.conftest import create_patient
from mesochart.patients import services

pytestmark = pytest.mark.django_db


def count_queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_patient_list_has_a_constant_query_budget(
    client_as, clinic, staff, django_assert_num_queries
):
    client = client_as("manager")
    for i in range(3):
        create_patient(clinic, staff["manager"], family_name=f"Few{i}")
    few = count_queries(client, reverse("patients:list"))
    for i in range(297):
        create_patient(clinic, staff["manager"], family_name=f"Many{i}")
    with django_assert_num_queries(few):
        client.get(reverse("patients:list"))
    with django_assert_num_queries(few):
        client.get(reverse("patients:list"), {"q": "many", "page": 2})


def test_patient_chart_has_a_constant_query_budget(
    client_as, clinic, staff, django_assert_num_queries
):
    client = client_as("manager")  # sees profile, history and audit trail
    patient = create_patient(clinic, staff["practitioner"])
    few = count_queries(client, reverse("patients:chart", args=[patient.pk]))
    for i in range(30):
        services.do_update_profile(
            staff["practitioner"], clinic, patient, {"notes": f"visit {i}"}, expected_version=i + 1
        )
    for i in range(297):
        create_patient(clinic, staff["manager"], family_name=f"Other{i}")
    with django_assert_num_queries(few):
        response = client.get(reverse("patients:chart", args=[patient.pk]))
    assert "Version 31" in response.content.decode()


def test_registration_runs_a_handful_of_statements_audit_included(clinic, staff):
    from mesochart.audit.models import AuditEvent

    create_patient(clinic, staff["reception"])  # the audit chain head exists from here on
    data = {
        "given_name": "Élodie",
        "family_name": "Moreau",
        "birth_date": date(1990, 1, 1),
        "sex": "female",
        "phone": "+44 7700 900123",
        "email": "elodie@example.org",
    }
    with CaptureQueriesContext(connection) as ctx:
        patient = services.do_create_patient(staff["reception"], clinic, data, {"fitzpatrick": 3})
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    # Record number (one update), duplicate check, patient, its search terms on SQLite,
    # profile, its first version, audit (chain head, event, head update): no existence
    # checks.
    expected = 9 if connection.vendor == "sqlite" else 8
    assert len(statements) == expected, "\n".join(statements)
    assert not [s for s in statements if s.startswith("SELECT 1 AS")]
    assert AuditEvent.objects.filter(action="patient.create", object_id=str(patient.pk)).exists()


def test_registration_still_validates_fields(clinic, staff):
    from django.core.exceptions import ValidationError

    data = {"given_name": "A" * 101, "family_name": "B", "birth_date": date(1990, 1, 1)}
    with pytest.raises(ValidationError) as caught:
        services.do_create_patient(staff["reception"], clinic, {**data, "sex": "female"})
    assert "given_name" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.do_create_patient(
            staff["reception"], clinic, {**data, "given_name": "A", "sex": "female"}, {"bmi": 500}
        )
    assert "bmi" in caught.value.message_dict


def _sessions(patient, actor, n, start=0):
    from datetime import timedelta

    from mesochart.care.models import TreatmentSession

    TreatmentSession.objects.bulk_create(
        TreatmentSession(
            organisation_id=patient.organisation_id,
            clinic_id=patient.clinic_id,
            patient=patient,
            protocol="skin-revitalisation",
            scheduled_for=date(2026, 1, 1) + timedelta(days=start + i),
            created_by=actor,
            check_result={"findings": ["x" * 4000]},  # the large JSON the chart never reads
        )
        for i in range(n)
    )


def test_patient_chart_shows_the_latest_sessions_at_a_constant_cost(
    client_as, clinic, staff, django_assert_num_queries
):
    client = client_as("manager")
    patient = create_patient(clinic, staff["practitioner"])
    _sessions(patient, staff["practitioner"], 3)
    url = reverse("patients:chart", args=[patient.pk])
    few = count_queries(client, url)
    body = client.get(url).content.decode()
    assert body.count("/sessions/") >= 3 and "?all=sessions" not in body
    _sessions(patient, staff["practitioner"], 297, start=3)
    with django_assert_num_queries(few):
        body = client.get(url).content.decode()
    # The latest ten, newest first, and a link to all of them.
    assert "2026-10-27" in body  # day 300
    assert "2026-10-18" in body and "2026-10-17" not in body  # the tenth and eleventh newest
    assert "?all=sessions#treatment" in body
    everything = client.get(url, {"all": "sessions"}).content.decode()
    assert "2026-01-01" in everything and "2026-10-27" in everything
    assert "Show the latest only" in everything


def test_the_chart_never_reads_the_sessions_json(client_as, clinic, staff):
    patient = create_patient(clinic, staff["practitioner"])
    _sessions(patient, staff["practitioner"], 3)
    with CaptureQueriesContext(connection) as ctx:
        client_as("manager").get(reverse("patients:chart", args=[patient.pk]))
    reads = [q["sql"] for q in ctx.captured_queries if 'FROM "care_treatmentsession"' in q["sql"]]
    assert reads and not [sql for sql in reads if "check_result" in sql], reads
