"""Malformed requests get a 4xx naming the field, and lose nothing already saved."""

from __future__ import annotations

import logging
import os

import pytest
from django.urls import reverse

from mesochart.care.services import consents
from mesochart.care.tests.factories import sign, template_of
from mesochart.patients.models import Patient
from mesochart.stock.models import Fridge

pytestmark = pytest.mark.django_db


def test_a_nul_character_in_a_query_is_refused_naming_the_parameter(client_as):
    response = client_as("manager").get(reverse("stock:fefo"), {"product": "ha\x00x"})
    assert response.status_code == 400
    assert "product: contains a NUL character" in response.content.decode()


def test_a_nul_character_in_a_form_is_refused_and_nothing_is_saved(client_as, clinic, patient):
    before = Patient.objects.get(pk=patient.pk)
    response = client_as("manager").post(
        reverse("patients:edit", args=[patient.pk]),
        {"given_name": "Eve\x00lyn", "family_name": before.family_name},
    )
    assert response.status_code == 400
    assert "given_name: contains a NUL character" in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).given_name == before.given_name


def test_a_nul_character_in_a_field_name_is_refused(client_as):
    response = client_as("manager").post(reverse("stock:fridge_list"), {"na\x00me": "x"})
    assert response.status_code == 400
    assert not Fridge.objects.filter(name="x").exists()


def test_an_empty_post_to_take_consent_names_the_missing_fields(client_as, clinic, staff, patient):
    consents.ensure_default_templates(clinic, staff["manager"])
    template = template_of(clinic, "treatment")
    url = reverse("care:consent_take", args=[patient.pk]) + f"?template={template.pk}"
    response = client_as("practitioner").post(url, {})
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required" in body
    assert not patient.consents.exists()


def test_an_empty_post_is_a_submission_not_a_first_visit(client_as, clinic):
    """A form posted with nothing in it (every box unticked) is validated and refused with
    its errors, not shown again as if it had never been sent."""
    response = client_as("manager").post(reverse("stock:fridge_list"), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_a_signature_missing_from_the_media_folder_is_a_404_and_an_operator_log(
    client_as, clinic, staff, patient, caplog
):
    consents.ensure_default_templates(clinic, staff["manager"])
    consent = sign(clinic, staff["practitioner"], patient)
    os.remove(consent.signature.path)
    with caplog.at_level(logging.ERROR, logger="mesochart.core.http"):
        response = client_as("practitioner").get(reverse("care:signature", args=[consent.pk]))
    assert response.status_code == 404
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
