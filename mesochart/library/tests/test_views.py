from __future__ import annotations

import pytest
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.library import services
from mesochart.library.models import ClinicParameter

pytestmark = pytest.mark.django_db

FOREHEAD = "zones[forehead].needle_max_mm"
DCA_POINTS = "ingredients[deoxycholic_acid].limits.max_points_per_session"


@pytest.mark.parametrize(
    "url",
    ["library:index", "library:zones", "library:products", "library:rules", "library:settings"],
)
@pytest.mark.parametrize("role", ["reception", "auditor", "practitioner"])
def test_every_role_browses_the_library(client_as, url, role):
    assert client_as(role).get(reverse(url)).status_code == 200


def test_protocol_page_shows_rules_with_evidence_and_source(client_as):
    body = (
        client_as("practitioner")
        .get(reverse("library:protocol", args=["submental-dca"]))
        .content.decode()
    )
    assert "Submental deoxycholic acid" in body
    assert "dose.max_points" in body and "Kybella" in body
    assert 'class="ev ev-L"' in body


def test_unknown_protocol_is_not_found(client_as):
    assert (
        client_as("practitioner").get(reverse("library:protocol", args=["botox"])).status_code
        == 404
    )


def test_zone_page_shows_snomed_codes_from_the_reference(client_as):
    body = client_as("reception").get(reverse("library:zones")).content.decode()
    assert "34926004" in body  # skin of submental area


def test_prescriber_tunes_a_practice_default_and_it_is_audited(client_as, clinic, staff):
    response = client_as("prescriber").post(
        reverse("library:tune"),
        {"param_id": FOREHEAD, "value": "0.5", "reason": "thin skin population"},
    )
    assert response.status_code == 302
    row = ClinicParameter.objects.get(clinic=clinic, param_id=FOREHEAD)
    assert (row.value, row.set_by) == (0.5, staff["prescriber"])
    event = AuditEvent.objects.get(action="protocols.tune")
    assert event.details["new"] == 0.5 and event.details["reason"] == "thin skin population"
    assert services.library_for(clinic).param(FOREHEAD).value == 0.5


def test_tuning_in_one_clinic_leaves_other_clinics_on_the_default(
    client_as, clinic, other_clinic, staff
):
    services.do_tune_parameter(staff["manager"], clinic, FOREHEAD, 0.5, "policy")
    default = services.library_for(other_clinic).param(FOREHEAD).value
    assert default != 0.5
    body = client_as("outsider").get(reverse("library:settings")).content.decode()
    assert "policy" not in body


def test_a_label_limit_cannot_be_tuned(client_as, clinic):
    response = client_as("manager").post(
        reverse("library:tune"), {"param_id": DCA_POINTS, "value": "60", "reason": "more"}
    )
    assert response.status_code == 400
    assert "cannot be tuned by a clinic" in response.content.decode()
    assert not ClinicParameter.objects.exists()
    assert not AuditEvent.objects.filter(action="protocols.tune").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"param_id": FOREHEAD, "value": "0.5", "reason": ""}, "Reason: This field is required."),
        (
            {"param_id": FOREHEAD, "value": "-1", "reason": "x"},
            "Value: Ensure this value is greater than or equal to 0",
        ),
        ({"param_id": FOREHEAD, "value": "0", "reason": "x"}, "must be a positive number"),
        (
            {"param_id": "zones[moon].needle_max_mm", "value": "1", "reason": "x"},
            "Unknown parameter",
        ),
    ],
)
def test_bad_tuning_input_names_the_field_and_saves_nothing(client_as, data, message):
    response = client_as("manager").post(reverse("library:tune"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClinicParameter.objects.exists()


@pytest.mark.parametrize("role", ["practitioner", "assistant", "reception", "auditor"])
def test_only_prescribers_and_managers_tune(client_as, role):
    response = client_as(role).post(
        reverse("library:tune"), {"param_id": FOREHEAD, "value": "0.5", "reason": "x"}
    )
    assert response.status_code == 403
    assert not ClinicParameter.objects.exists()


def test_reset_returns_to_the_default_and_is_audited(client_as, clinic, staff):
    services.do_tune_parameter(staff["manager"], clinic, FOREHEAD, 0.5, "policy")
    response = client_as("manager").post(
        reverse("library:reset"), {"param_id": FOREHEAD, "reason": "back"}
    )
    assert response.status_code == 302
    assert not ClinicParameter.objects.exists()
    assert AuditEvent.objects.filter(action="protocols.reset", object_id=FOREHEAD).exists()
