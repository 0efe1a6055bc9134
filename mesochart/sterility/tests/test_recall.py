"""Recall by pack and by cycle returns RecallRows, in a fixed number of queries."""

from __future__ import annotations

import pytest

from mesochart.conftest import create_patient
from mesochart.sterility import services
from mesochart.sterility.recall import rows_for_cycle, rows_for_pack

from .factories import DAY, at, make_steriliser, released_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def traced(clinic, staff):
    actor = staff["manager"]
    autoclave = make_steriliser(clinic, actor)
    cycle = released_cycle(autoclave, actor, 42)
    other_cycle = released_cycle(autoclave, actor, 43)
    packs = services.do_create_packs(actor, cycle, set_name="Meso tray", count=3)
    other_pack = services.do_create_packs(actor, other_cycle, set_name="Meso tray")[0]
    patients = [create_patient(clinic, actor, given_name=f"P{i}") for i in range(3)]
    for i, (pack, patient) in enumerate(zip(packs, patients, strict=True)):
        services.do_use_pack(actor, clinic, pack, patient, at(clinic, DAY, 14, i))
    services.do_use_pack(actor, clinic, other_pack, patients[0], at(clinic, DAY, 16))
    return {"steriliser": autoclave, "cycle": cycle, "packs": packs, "patients": patients}


def test_recall_by_pack_finds_the_one_patient(clinic, traced):
    pack, patient = traced["packs"][1], traced["patients"][1]
    rows = rows_for_pack(clinic.organisation_id, pack.code)
    assert [r.patient_id for r in rows] == [patient.pk]
    row = rows[0]
    assert row.mrn == patient.mrn and row.lot == pack.code and row.product == "Meso tray"
    assert row.via == f"pack {pack.code}" and row.clinic_name == clinic.name
    assert row.as_dict()["patient_id"] == str(patient.pk)


def test_recall_by_cycle_number_finds_every_patient_of_the_load(clinic, traced):
    rows = rows_for_cycle(clinic.organisation_id, 42, steriliser=traced["steriliser"])
    assert {r.patient_id for r in rows} == {p.pk for p in traced["patients"]}
    assert len(rows) == 3  # not the pack of cycle 43
    assert all(r.via.startswith("cycle C-42") for r in rows)


def test_recall_by_cycle_id_or_code_gives_the_same_rows(clinic, traced):
    by_id = rows_for_cycle(clinic.organisation_id, traced["cycle"].pk)
    by_text = rows_for_cycle(clinic.organisation_id, str(traced["cycle"].pk))
    by_code = rows_for_cycle(clinic.organisation_id, "C-42", traced["steriliser"].pk)
    assert by_id == by_text == by_code
    assert rows_for_cycle(clinic.organisation_id, "nonsense") == []


def test_recall_of_another_organisation_finds_nothing(other_clinic, traced):
    assert rows_for_pack(other_clinic.organisation_id, traced["packs"][0].code) == []
    assert rows_for_cycle(other_clinic.organisation_id, traced["cycle"].pk) == []


def test_recall_queries_do_not_grow_with_rows(clinic, traced, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows_for_pack(clinic.organisation_id, traced["packs"][0].code)
    with django_assert_num_queries(2):
        assert len(rows_for_cycle(clinic.organisation_id, traced["cycle"].pk)) == 3
