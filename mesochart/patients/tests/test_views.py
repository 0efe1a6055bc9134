from __future__ import annotations

import pytest
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.core.testing import strip_csrf
from mesochart.patients.models import MedicalProfileVersion, Patient

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "p-given_name": "Grace",
    "p-family_name": "Hughes",
    "p-birth_date": "1990-06-15",
    "p-sex": "female",
    "p-email": "grace@example.org",
    "p-phone": "+44 7700 900456",
    "p-address": "",
    "p-preferred_language": "en",
    "m-bmi": "23.4",
    "m-fitzpatrick": "2",
    "m-glogau": "1",
    "m-conditions": ["keloid_tendency"],
    "m-medications": ["antiplatelet"],
    "m-allergies": ["lidocaine"],
    "m-isotretinoin_last_dose": "",
    "m-notes": "",
}


# --- list and search -------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["prescriber", "practitioner", "assistant", "reception", "manager", "auditor"]
)
def test_every_role_sees_the_patient_list(client_as, patient, role):
    response = client_as(role).get(reverse("patients:list"))
    assert response.status_code == 200
    assert patient.mrn in response.content.decode()


def test_outsider_and_neighbour_clinic_see_none_of_the_clinics_patients(client_as, patient):
    for who in ("outsider", "neighbour"):
        response = client_as(who).get(reverse("patients:list"), {"q": "Moreau"})
        assert response.status_code == 200
        assert patient.mrn not in response.content.decode()


def test_anonymous_user_is_sent_to_sign_in(client, patient):
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize("query", ["moreau", "Elena", "elena mor", "1985-04-02", "02/04/1985"])
def test_search_finds_by_name_and_birth_date(client_as, patient, clinic, staff, query):
    create_patient(
        clinic,
        staff["manager"],
        given_name="Hugo",
        family_name="Brooks",
        birth_date="1970-01-01",
        sex="male",
    )
    body = client_as("reception").get(reverse("patients:list"), {"q": query}).content.decode()
    assert "Moreau" in body
    assert "Brooks" not in body


def test_search_by_record_number(client_as, patient, clinic, staff):
    other = create_patient(clinic, staff["manager"], family_name="Brooks")
    body = client_as("reception").get(reverse("patients:list"), {"q": other.mrn}).content.decode()
    assert "Brooks" in body and "Moreau" not in body


def test_search_htmx_request_renders_only_the_results(client_as, patient):
    response = client_as("reception").get(
        reverse("patients:list"), {"q": "moreau"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "Moreau" in body
    assert "<html" not in body


def test_list_pages_through_patients(client_as, clinic, staff, settings):
    settings.PATIENTS_PAGE_SIZE = 5
    for i in range(12):
        create_patient(clinic, staff["manager"], family_name=f"Family{i:02d}")
    client = client_as("reception")
    first = client.get(reverse("patients:list")).content.decode()
    third = client.get(reverse("patients:list"), {"page": 3}).content.decode()
    assert "Family00" in first and "Family05" not in first
    assert "Family10" in third and "page 3 of 3" in third


# --- create ----------------------------------------------------------------


def test_practitioner_registers_a_patient_with_a_profile(client_as, clinic):
    response = client_as("practitioner").post(reverse("patients:create"), NEW_PATIENT)
    patient = Patient.objects.get(family_name="Hughes")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:chart", args=[patient.pk])
    assert patient.clinic == clinic
    assert patient.mrn == "RV-000001"
    assert patient.profile.allergies == ["lidocaine"]
    assert str(patient.profile.bmi) == "23.4"
    assert patient.profile.versions.count() == 1
    assert AuditEvent.objects.filter(action="patient.create", object_id=str(patient.pk)).exists()


def test_record_numbers_are_sequential_per_organisation(
    clinic, neighbour_clinic, other_clinic, staff, neighbour, outsider
):
    a = create_patient(clinic, staff["manager"])
    b = create_patient(neighbour_clinic, neighbour)
    c = create_patient(other_clinic, outsider)
    assert (a.mrn, b.mrn, c.mrn) == ("RV-000001", "RV-000002", "EA-000001")


def test_reception_registers_a_patient_without_seeing_the_medical_profile(client_as):
    form = client_as("reception").get(reverse("patients:create")).content.decode()
    assert "Medical profile" not in form
    data = {k: v for k, v in NEW_PATIENT.items() if k.startswith("p-")}
    response = client_as("reception").post(reverse("patients:create"), data)
    assert response.status_code == 302
    assert Patient.objects.get(family_name="Hughes").profile.version == 1


def test_auditor_may_not_register_patients(client_as):
    assert client_as("auditor").get(reverse("patients:create")).status_code == 403
    assert client_as("auditor").post(reverse("patients:create"), NEW_PATIENT).status_code == 403
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("p-birth_date", "2999-01-01", "Birth date: Birth date cannot be in the future."),
        ("p-given_name", "", "Given name: This field is required."),
        ("p-email", "not-an-email", "Email: Enter a valid email address."),
        ("p-phone", "call me", "Phone: Enter a phone number"),
        ("m-bmi", "8", "BMI: Ensure this value is greater than or equal to 10.0."),
        ("m-conditions", ["vampirism"], "Conditions: Select a valid choice."),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client_as, field, value, message):
    response = client_as("practitioner").post(
        reverse("patients:create"), {**NEW_PATIENT, field: value}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(action="patient.create").exists()


# --- chart ----------------------------------------------------------------


def test_chart_shows_profile_and_history_and_is_audited_as_a_read(client_as, patient, staff):
    response = client_as("practitioner").get(reverse("patients:chart", args=[patient.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Herpes labialis" in body and "Profile history" in body
    read = AuditEvent.objects.filter(action="patient.view_chart", object_id=str(patient.pk)).get()
    assert read.actor == staff["practitioner"]


def test_reception_sees_contacts_but_not_the_medical_profile(client_as, patient):
    body = client_as("reception").get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert patient.phone in body
    assert "Herpes labialis" not in body and "Profile history" not in body


@pytest.mark.parametrize(
    ("role", "sees_audit"),
    [("manager", True), ("auditor", True), ("practitioner", False), ("reception", False)],
)
def test_audit_trail_panel_only_for_managers_and_auditors(client_as, patient, role, sees_audit):
    body = client_as(role).get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert ("Audit trail" in body) is sees_audit
    if sees_audit:
        assert "patient.create" in body


@pytest.mark.parametrize("name", ["patients:chart", "patients:edit", "patients:profile_edit"])
@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_another_clinics_patient_answers_like_a_missing_one(client_as, patient, name, who):
    import uuid

    client = client_as(who)
    theirs = client.get(reverse(name, args=[patient.pk]))
    missing = client.get(reverse(name, args=[uuid.uuid4()]))
    assert theirs.status_code == missing.status_code == 404
    assert strip_csrf(theirs.content) == strip_csrf(missing.content)
    assert not AuditEvent.objects.filter(action="patient.view_chart").exists()


# --- edit demographics ---------------------------------------------------


def test_reception_edits_contacts(client_as, patient):
    data = {k[2:]: v for k, v in NEW_PATIENT.items() if k.startswith("p-")}
    data["phone"] = "+44 7700 900999"
    response = client_as("reception").post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+44 7700 900999"
    event = AuditEvent.objects.get(action="patient.update")
    assert "phone" in event.details["fields"]


def test_auditor_may_not_edit_contacts(client_as, patient):
    assert client_as("auditor").get(reverse("patients:edit", args=[patient.pk])).status_code == 403


def test_bad_contact_edit_keeps_the_saved_record(client_as, patient):
    data = {k[2:]: v for k, v in NEW_PATIENT.items() if k.startswith("p-")}
    data["family_name"] = ""
    response = client_as("reception").post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 400
    assert "Family name: This field is required." in response.content.decode()
    patient.refresh_from_db()
    assert patient.family_name == "Moreau"


# --- medical profile ---------------------------------------------------


def profile_post(**changes):
    data = {k[2:]: v for k, v in NEW_PATIENT.items() if k.startswith("m-")}
    data["version"] = "1"
    data.update(changes)
    return data


def test_practitioner_saves_a_new_profile_version_keeping_the_old(client_as, patient, staff):
    response = client_as("practitioner").post(
        reverse("patients:profile_edit", args=[patient.pk]), profile_post(pregnant="on")
    )
    assert response.status_code == 302
    patient.profile.refresh_from_db()
    assert patient.profile.version == 2 and patient.profile.pregnant
    old, new = MedicalProfileVersion.objects.filter(profile=patient.profile).order_by("version")
    assert old.data["conditions"] == ["herpes_labialis"]
    assert new.changed_by == staff["practitioner"]
    changed = {c["field"]: (c["old"], c["new"]) for c in new.changes}
    assert changed["pregnant"] == (False, True)
    assert changed["conditions"] == (["herpes_labialis"], ["keloid_tendency"])
    chart = (
        client_as("practitioner").get(reverse("patients:chart", args=[patient.pk])).content.decode()
    )
    assert "Version 2" in chart and "Keloid or hypertrophic scar tendency" in chart


@pytest.mark.parametrize("role", ["reception", "manager", "auditor"])
def test_non_clinical_roles_may_not_edit_the_profile(client_as, patient, role):
    url = reverse("patients:profile_edit", args=[patient.pk])
    assert client_as(role).post(url, profile_post(pregnant="on")).status_code == 403
    patient.profile.refresh_from_db()
    assert patient.profile.version == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bmi", "81", "BMI: Ensure this value is less than or equal to 80.0."),
        ("fitzpatrick", "7", "Fitzpatrick phototype: Select a valid choice."),
        ("isotretinoin_last_dose", "2999-01-01", "The last dose cannot be in the future."),
        ("allergies", ["peanuts"], "Allergies (ingredients): Select a valid choice."),
    ],
)
def test_bad_profile_input_names_the_field_and_keeps_the_saved_profile(
    client_as, patient, field, value, message
):
    response = client_as("practitioner").post(
        reverse("patients:profile_edit", args=[patient.pk]), profile_post(**{field: value})
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    patient.profile.refresh_from_db()
    assert patient.profile.version == 1
    assert patient.profile.conditions == ["herpes_labialis"]


def test_saving_over_someone_elses_newer_version_is_refused_without_losing_input(
    client_as, patient
):
    url = reverse("patients:profile_edit", args=[patient.pk])
    client_as("prescriber").post(url, profile_post(notes="first"))
    response = client_as("practitioner").post(url, profile_post(notes="second"))
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else saved this profile" in body
    assert "second" in body  # the practitioner's entry is still in the form
    patient.profile.refresh_from_db()
    assert (patient.profile.version, patient.profile.notes) == (2, "first")


# --- screening panel ------------------------------------------------------


def test_chart_screens_the_profile_against_every_protocol(client_as, clinic, staff):
    patient = create_patient(
        clinic, staff["practitioner"], profile={"bmi": "31.0", "conditions": ["pacemaker"]}
    )
    body = (
        client_as("practitioner").get(reverse("patients:chart", args=[patient.pk])).content.decode()
    )
    screening = body.split('id="screening"')[1].split("</section>")[0]
    assert "contra.bmi" in screening  # submental DCA: BMI >= 30 (label)
    assert "contra.pacemaker" in screening  # needle-free / RF microneedling
    assert "Skin revitalisation" in screening


def test_reception_does_not_see_the_screening(client_as, patient):
    body = client_as("reception").get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert 'id="screening"' not in body
