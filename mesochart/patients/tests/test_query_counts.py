"""List and chart cost the same number of queries for 3 or 300 patients."""

from __future__ import annotations

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
