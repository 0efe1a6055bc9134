"""The duplicate check: match keys, ``possible_duplicates`` and what the create service audits."""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from mesochart.audit.models import AuditEvent
from mesochart.conftest import PATIENT_DATA, create_patient
from mesochart.errors import InvalidInput
from mesochart.patients import keys, services
from mesochart.patients.duplicates import (
    MatchReason,
    duplicate_candidates,
    mask_email,
    mask_phone,
    possible_duplicates,
)
from mesochart.patients.models import Patient

pytestmark = pytest.mark.django_db

ELENA = {k: PATIENT_DATA[k] for k in ("given_name", "family_name", "birth_date", "phone", "email")}
NOBODY = {
    "given_name": "Grace",
    "family_name": "Hughes",
    "birth_date": date(1990, 6, 15),
    "phone": "+44 7700 900456",
    "email": "grace@example.org",
}


def typed(**changes):
    """What reception typed: someone unknown, except for ``changes``."""
    return {**NOBODY, **changes}


def reasons_for(clinic, data):
    return {d.patient.mrn: d.reasons for d in possible_duplicates(clinic, data)}


# --- keys (pure) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Élodie", "elodie"),
        ("MOREAU", "moreau"),
        ("  Anne   Marie ", "anne marie"),
        ("Müller-Lüdenscheidt", "muller-ludenscheidt"),
        ("Straße", "strasse"),
        ("Søren", "søren"),  # no decomposition: kept
    ],
)
def test_fold_ignores_case_accents_and_extra_spaces(text, folded):
    assert keys.fold(text) == folded


def test_name_key_is_family_then_given_and_empty_without_both():
    assert keys.name_key(" Moreau", "Élodie ") == "moreau|elodie"
    assert keys.name_key("Moreau", "  ") == ""


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("+44 7700 900123", "700900123"),
        ("07700 900123", "700900123"),
        ("0044 (0)7700-900.123", "700900123"),
        ("+33 6 12 34 56 78", "612345678"),
        ("06 12 34 56 78", "612345678"),
        ("900 123", "900123"),  # fewer than 9 digits: all of them
        ("", ""),
    ],
)
def test_phone_key_is_the_last_nine_digits(phone, key):
    assert keys.phone_key(phone) == key


def test_email_key_ignores_case_and_surrounding_spaces():
    assert keys.email_key(" Elena.Moreau@Example.ORG ") == "elena.moreau@example.org"


def test_contacts_are_masked_for_the_warning():
    assert mask_phone("+44 7700 900123") == "••• 0123"
    assert mask_phone("") == ""
    assert mask_email("elena@example.org") == "e•••@example.org"
    assert mask_email("") == ""


# --- possible_duplicates ----------------------------------------------------


@pytest.mark.parametrize(
    ("given", "family"),
    [("Elena", "Moreau"), ("elena", "MOREAU"), ("  Éléna ", " moreau"), ("ELENA", "Moréau")],
)
def test_same_name_and_birth_date_matches_whatever_the_case_accents_and_spaces(
    patient, clinic, given, family
):
    found = reasons_for(
        clinic, typed(given_name=given, family_name=family, birth_date=date(1985, 4, 2))
    )
    assert found == {patient.mrn: (MatchReason.NAME_AND_BIRTH_DATE,)}


def test_accents_typed_at_registration_match_a_record_saved_without(clinic, staff):
    saved = create_patient(clinic, staff["reception"], given_name="Elodie", family_name="Moreau")
    found = reasons_for(
        clinic, typed(given_name="Élodie", family_name="MOREAU", birth_date=date(1985, 4, 2))
    )
    assert found == {saved.mrn: (MatchReason.NAME_AND_BIRTH_DATE,)}


@pytest.mark.parametrize(
    "data",
    [
        typed(given_name="Elena", family_name="Moreau", birth_date=date(1985, 4, 3)),
        typed(given_name="Elena", family_name="Moreaux", birth_date=date(1985, 4, 2)),
        typed(given_name="Moreau", family_name="Elena", birth_date=date(1985, 4, 2)),
    ],
)
def test_name_without_the_same_birth_date_or_a_different_name_is_no_match(patient, clinic, data):
    assert possible_duplicates(clinic, data) == []


@pytest.mark.parametrize(
    "phone", ["+44 7700 900123", "07700 900123", "0044 7700-900-123", "(0)7700 900 123"]
)
def test_same_phone_matches_in_any_format(patient, clinic, phone):
    assert reasons_for(clinic, typed(phone=phone)) == {patient.mrn: (MatchReason.PHONE,)}


def test_phones_differing_in_the_last_nine_digits_do_not_match(patient, clinic):
    assert possible_duplicates(clinic, typed(phone="+44 7701 900123")) == []


def test_a_short_phone_matches_only_the_same_digits(clinic, staff):
    short = create_patient(clinic, staff["reception"], phone="900 123", email="")
    assert reasons_for(clinic, typed(phone="900-123")) == {short.mrn: (MatchReason.PHONE,)}
    # "+44 7700 900123" ends with 900123 but has 9+ digits: compared on 9, not 6
    assert possible_duplicates(clinic, typed(phone="+44 7700 900123")) == []


def test_same_email_matches_ignoring_case(patient, clinic):
    found = reasons_for(clinic, typed(email="ELENA@Example.org"))
    assert found == {patient.mrn: (MatchReason.EMAIL,)}


def test_every_reason_is_listed_when_several_match(patient, clinic):
    found = reasons_for(clinic, ELENA)
    assert found == {
        patient.mrn: (MatchReason.NAME_AND_BIRTH_DATE, MatchReason.PHONE, MatchReason.EMAIL)
    }


def test_several_patients_are_each_listed_with_their_own_reason(clinic, staff):
    by_phone = create_patient(clinic, staff["reception"], given_name="Anna", email="")
    by_email = create_patient(
        clinic, staff["reception"], given_name="Paul", phone="", email="grace@example.org"
    )
    found = reasons_for(clinic, typed(phone="07700 900123"))
    assert found == {by_phone.mrn: (MatchReason.PHONE,), by_email.mrn: (MatchReason.EMAIL,)}


def test_empty_contacts_match_nothing(clinic, staff):
    create_patient(clinic, staff["reception"], phone="", email="")
    assert possible_duplicates(clinic, typed(phone="", email="")) == []


def test_nothing_to_match_on_costs_no_query(clinic, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert possible_duplicates(clinic, {"given_name": "Grace", "phone": "", "email": ""}) == []


def test_patients_of_another_clinic_never_match_even_in_the_same_organisation(
    clinic, neighbour_clinic, other_clinic, neighbour, outsider
):
    theirs = create_patient(neighbour_clinic, neighbour)
    create_patient(other_clinic, outsider)
    assert neighbour_clinic.organisation_id == clinic.organisation_id
    assert possible_duplicates(clinic, ELENA) == []
    assert [d.patient for d in possible_duplicates(neighbour_clinic, ELENA)] == [theirs]


def test_the_check_is_one_query_however_many_patients_match(
    clinic, staff, django_assert_num_queries
):
    create_patient(clinic, staff["reception"])
    with django_assert_num_queries(1):
        assert len(possible_duplicates(clinic, ELENA)) == 1
    for i in range(5):
        create_patient(clinic, staff["reception"], given_name=f"Sibling{i}")
    with django_assert_num_queries(1):
        found = possible_duplicates(clinic, ELENA)
    assert len(found) == 6
    assert [d.patient.mrn for d in found] == sorted(d.patient.mrn for d in found)


def test_the_check_reads_through_the_clinic_indexes_not_the_whole_table(patient, clinic):
    crowd = []
    for i in range(2000):
        other = Patient(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            mrn=f"CROWD-{i:05d}",
            given_name=f"Given{i}",
            family_name=f"Family{i}",
            birth_date=date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
            sex="female",
            phone=f"+44 7800 {i:06d}",
            email=f"p{i}@example.org",
        )
        other.set_match_keys()
        crowd.append(other)
    Patient.objects.bulk_create(crowd)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")  # statistics, as a live database has them
    candidates = duplicate_candidates(clinic, ELENA)
    assert candidates is not None
    plan = candidates.explain()
    # One index search per key (name and birth date, phone, email), each on the clinic.
    if connection.vendor == "postgresql":
        assert "Seq Scan" not in plan, plan
        assert plan.count("Index Cond: ((clinic_id = ") == 3, plan
    else:
        reads = [line for line in plan.splitlines() if " patients_patient" in line]
        assert len(reads) == 3, plan
        assert all("SEARCH patients_patient USING INDEX patient_dup_" in r for r in reads), plan
        assert all("(clinic_id=? AND " in r for r in reads), plan


# --- keys kept in step --------------------------------------------------------


def test_keys_follow_every_edit_of_name_phone_and_email(patient, clinic, staff):
    services.do_update_patient(
        staff["reception"],
        clinic,
        patient,
        {"family_name": "Dubois", "phone": "+44 7700 900999", "email": "e.dubois@example.org"},
    )
    patient.refresh_from_db()
    assert (patient.name_key, patient.phone_key, patient.email_key) == (
        "dubois|elena",
        "700900999",
        "e.dubois@example.org",
    )
    assert possible_duplicates(clinic, ELENA) == []
    moved = typed(given_name="Elena", family_name="DUBOIS", birth_date=date(1985, 4, 2))
    assert reasons_for(clinic, moved) == {patient.mrn: (MatchReason.NAME_AND_BIRTH_DATE,)}


def test_migration_backfills_the_keys_of_existing_patients(patient, clinic):
    Patient.objects.update(name_key="", phone_key="", email_key="")  # as before the migration
    assert possible_duplicates(clinic, ELENA) == []
    migration = importlib.import_module("mesochart.patients.migrations.0002_patient_match_keys")
    migration.backfill_match_keys(apps, None)
    patient.refresh_from_db()
    assert (patient.name_key, patient.phone_key, patient.email_key) == (
        "moreau|elena",
        "700900123",
        "elena@example.org",
    )
    assert len(possible_duplicates(clinic, ELENA)[0].reasons) == 3


# --- the create service -----------------------------------------------------


def create_event(patient):
    return AuditEvent.objects.get(action="patient.create", object_id=str(patient.pk))


def test_creating_with_a_reason_audits_the_possible_duplicates_and_the_reason(
    patient, clinic, staff
):
    twin = services.do_create_patient(
        staff["reception"],
        clinic,
        {**PATIENT_DATA, "given_name": "Elena", "email": ""},
        duplicate_reason="  twin sister,\n shares the family phone ",
    )
    details = create_event(twin).details
    assert details["possible_duplicates"] == [str(patient.pk)]
    assert details["duplicate_reason"] == "twin sister, shares the family phone"
    assert details["mrn"] == twin.mrn


def test_programmatic_creation_of_a_possible_duplicate_still_works_and_is_audited(
    patient, clinic, staff
):
    again = create_patient(clinic, staff["practitioner"])  # demo data, imports, tests
    assert Patient.objects.filter(clinic=clinic).count() == 2
    details = create_event(again).details
    assert details["possible_duplicates"] == [str(patient.pk)]
    assert "duplicate_reason" not in details


def test_creation_without_a_match_audits_no_duplicates(clinic, staff):
    details = create_event(create_patient(clinic, staff["reception"])).details
    assert "possible_duplicates" not in details and "duplicate_reason" not in details


@pytest.mark.parametrize("reason", ["", "   ", "twin", "twin sister"])
def test_a_reason_of_fewer_than_three_words_is_refused_and_nothing_saved(
    patient, clinic, staff, reason
):
    with pytest.raises(InvalidInput) as refused:
        services.do_create_patient(
            staff["reception"], clinic, PATIENT_DATA, duplicate_reason=reason
        )
    assert refused.value.field == "duplicate_reason"
    assert refused.value.code == "invalid"
    assert Patient.objects.count() == 1


def test_docs_name_every_match_reason():
    docs = (Path(__file__).resolve().parents[3] / "docs" / "patients.md").read_text()
    for reason in MatchReason:
        assert f"| {reason.label} |" in docs, reason.label
