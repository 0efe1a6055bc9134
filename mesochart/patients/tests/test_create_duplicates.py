"""Registration page: possible duplicates warn first, "register anyway" needs a reason."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.patients.models import Patient

from .test_views import NEW_PATIENT

pytestmark = pytest.mark.django_db

URL = reverse("patients:create")
# Elena Moreau's name and birth date (the ``patient`` fixture), typed differently, with
# contacts of her own.
SAME_NAME = {
    **NEW_PATIENT,
    "p-given_name": " élena ",
    "p-family_name": "MOREAU",
    "p-birth_date": "1985-04-02",
    "m-notes": "Prefers morning appointments",
}
DEMOGRAPHICS = {k: v for k, v in SAME_NAME.items() if k.startswith("p-")}


class FormValues(HTMLParser):
    """The values a browser would submit from the page's first form (no button)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(name, a.get("value") or "on")
            else:
                self._add(name, a.get("value") or "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value") or "")
        elif tag == "textarea":
            self._textarea = name
            self._add(name, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][-1] += data.removeprefix("\n")


def form_values(body: str) -> dict[str, list[str]]:
    parser = FormValues()
    parser.feed(body)
    return parser.values


def warning(body: str) -> str:
    assert 'id="duplicates"' in body, "no duplicate warning on the page"
    return body.split('id="duplicates"')[1].split("</section>")[0]


def anyway(data, reason, *seen):
    return {**data, "d-anyway": "1", "d-reason": reason, "d-seen": [str(p.pk) for p in seen]}


def test_a_possible_duplicate_is_shown_and_nothing_is_saved(client_as, patient):
    response = client_as("reception").post(URL, DEMOGRAPHICS)
    assert response.status_code == 409
    box = warning(response.content.decode())
    assert "This person may already be registered: 1 possible match" in box
    assert "Nothing has been saved yet" in box
    assert patient.mrn in box and "Moreau, Elena" in box and "1985-04-02" in box
    assert "same name and birth date" in box
    assert f'href="{reverse("patients:chart", args=[patient.pk])}"' in box
    assert f"Open record {patient.mrn}" in box
    assert "This is a different person: register anyway" in box
    assert list(Patient.objects.all()) == [patient]
    assert AuditEvent.objects.filter(action="patient.create").count() == 1  # the fixture's


def test_the_warning_comes_before_the_form(client_as, patient):
    body = client_as("reception").post(URL, DEMOGRAPHICS).content.decode()
    assert body.index('id="duplicates"') < body.index("Identity and contacts")


def test_the_warning_keeps_everything_typed_demographics_and_profile(client_as, patient):
    response = client_as("practitioner").post(URL, SAME_NAME)
    assert response.status_code == 409
    kept = form_values(response.content.decode())
    for name, value in SAME_NAME.items():
        expected = value if isinstance(value, list) else [value]
        if name == "m-isotretinoin_last_dose":
            expected = [""]
        assert kept.get(name) == expected, name
    assert kept["d-seen"] == [str(patient.pk)]


def test_each_match_is_listed_with_why_it_matched(client_as, clinic, staff):
    by_phone = create_patient(clinic, staff["reception"], given_name="Anna", email="")
    by_email = create_patient(
        clinic, staff["reception"], given_name="Paul", phone="", email="grace@example.org"
    )
    data = {**DEMOGRAPHICS, "p-given_name": "Grace", "p-phone": "07700 900123"}
    response = client_as("reception").post(URL, data)
    assert response.status_code == 409
    box = warning(response.content.decode())
    assert "2 possible matches" in box
    rows = box.split('<tr class="duplicate">')[1:]
    assert [by_phone.mrn in rows[0], by_email.mrn in rows[1]] == [True, True]
    assert "same phone" in rows[0] and "same email" not in rows[0]
    assert "same email" in rows[1] and "same phone" not in rows[1]
    for row, who in zip(rows, (by_phone, by_email), strict=True):
        assert reverse("patients:chart", args=[who.pk]) in row


def test_the_warning_shows_contacts_masked(client_as, patient):
    box = warning(client_as("reception").post(URL, DEMOGRAPHICS).content.decode())
    assert "••• 0123" in box and "e•••@example.org" in box
    assert "900123" not in box and "elena@example.org" not in box


def test_register_anyway_with_a_reason_creates_the_patient_and_audits_why(
    client_as, patient, staff
):
    data = anyway(SAME_NAME, "Different person: the twin sister", patient)
    response = client_as("practitioner").post(URL, data)
    assert response.status_code == 302
    twin = Patient.objects.exclude(pk=patient.pk).get()
    assert response["Location"] == reverse("patients:chart", args=[twin.pk])
    assert (twin.given_name, twin.profile.notes) == ("élena", "Prefers morning appointments")
    event = AuditEvent.objects.get(action="patient.create", object_id=str(twin.pk))
    assert event.actor == staff["practitioner"]
    assert event.details["possible_duplicates"] == [str(patient.pk)]
    assert event.details["duplicate_reason"] == "Different person: the twin sister"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Why this is a different person: Give the reason to register this patient anyway."),
        ("  twin ", "Why this is a different person: Say in at least 3 words why"),
    ],
)
def test_register_anyway_without_a_real_reason_names_the_field_and_saves_nothing(
    client_as, patient, reason, message
):
    response = client_as("reception").post(URL, anyway(DEMOGRAPHICS, reason, patient))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in warning(body)
    assert form_values(body)["p-given_name"] == [" élena "]
    assert list(Patient.objects.all()) == [patient]


def test_register_anyway_warns_again_when_a_new_match_appeared(client_as, patient, clinic, staff):
    other = create_patient(
        clinic, staff["reception"], given_name="Hugo", phone="+44 7700 900456", email=""
    )
    data = anyway(DEMOGRAPHICS, "Not her, checked the address", patient)  # seen: Elena only
    response = client_as("reception").post(URL, data)
    assert response.status_code == 409
    box = warning(response.content.decode())
    assert "Another possible match appeared: check it before continuing." in box
    assert other.mrn in box and patient.mrn in box
    assert form_values(response.content.decode())["d-reason"] == ["Not her, checked the address"]
    assert Patient.objects.count() == 2


def test_pressing_register_again_without_choosing_register_anyway_warns_again(client_as, patient):
    data = {**DEMOGRAPHICS, "d-reason": "Twin sister, own email", "d-seen": [str(patient.pk)]}
    assert client_as("reception").post(URL, data).status_code == 409
    assert Patient.objects.count() == 1


def test_the_same_person_in_another_clinic_does_not_warn(
    client_as, clinic, neighbour_clinic, other_clinic, neighbour, outsider
):
    create_patient(neighbour_clinic, neighbour)  # same organisation, other clinic
    create_patient(other_clinic, outsider)  # other organisation
    response = client_as("reception").post(URL, DEMOGRAPHICS)
    assert response.status_code == 302
    created = Patient.objects.get(clinic=clinic)
    assert "possible_duplicates" not in (
        AuditEvent.objects.get(action="patient.create", object_id=str(created.pk)).details
    )


def test_neighbour_sees_no_warning_about_this_clinics_patient(client_as, patient, neighbour_clinic):
    response = client_as("neighbour").post(URL, DEMOGRAPHICS)
    assert response.status_code == 302
    assert Patient.objects.filter(clinic=neighbour_clinic).count() == 1


def test_invalid_input_is_reported_before_any_duplicate_check(client_as, patient):
    response = client_as("reception").post(URL, {**DEMOGRAPHICS, "p-sex": ""})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Sex: This field is required." in body and 'id="duplicates"' not in body


def test_the_warning_costs_the_same_queries_for_one_match_or_many(
    client_as, patient, clinic, staff, django_assert_num_queries
):
    client = client_as("practitioner")
    data = {**SAME_NAME, "p-phone": "07700 900123"}  # Elena's phone
    with CaptureQueriesContext(connection) as one:
        assert client.post(URL, data).status_code == 409
    for i in range(6):
        create_patient(clinic, staff["reception"], given_name=f"Other{i}")  # her phone too
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.post(URL, data)
    assert "7 possible matches" in response.content.decode()
