"""Patient search: what each kind of query finds, that it stays inside the clinic, that the
search index follows every change of name, and that the database answers from an index."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.urls import reverse

from mesochart.conftest import create_patient
from mesochart.patients import keys, services
from mesochart.patients.models import Patient, PatientSearchTerm
from mesochart.patients.search import COUNT_CAP, CappedPaginator, search_patients

pytestmark = pytest.mark.django_db


def found(clinic, query: str) -> list[str]:
    patients = search_patients(Patient.objects.filter(clinic=clinic), query, clinic)
    return [p.family_name for p in patients]


@pytest.fixture
def people(clinic, staff):
    actor = staff["reception"]
    rows = [
        ("Élodie", "Moreau", "+44 7700 900001", "elodie@example.org"),
        ("Anne-Sophie", "Saint-Exupéry", "+33 6 12 34 56 78", ""),
        ("Liam", "O'Brien", "", "liam.obrien@example.org"),
        ("Małgorzata", "Wiśniewska", "", ""),
        ("Hugo", "Hart", "", ""),
        ("Hannah", "Hartley", "", ""),
    ]
    return {
        family: create_patient(
            clinic, actor, given_name=given, family_name=family, phone=phone, email=email
        )
        for given, family, phone, email in rows
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("moreau", ["Moreau"]),
        ("MOREAU", ["Moreau"]),
        ("elodie", ["Moreau"]),  # accents ignored
        ("Élo mor", ["Moreau"]),  # every word a prefix, any order
        ("mor elo", ["Moreau"]),
        ("oreau", []),  # a word's middle is not a match
        ("saint-ex", ["Saint-Exupéry"]),
        ("exupery", ["Saint-Exupéry"]),
        ("saintexupery", ["Saint-Exupéry"]),
        ("sophie", ["Saint-Exupéry"]),
        ("obrien", ["O'Brien"]),
        ("o'brien", ["O'Brien"]),
        ("malgorzata wisn", ["Wiśniewska"]),
        ("hart", ["Hart", "Hartley"]),  # in the list's order: Hart before Hartley
        ("hartl", ["Hartley"]),
        ("moreau hugo", []),  # every word must match the same patient
        ("elodie@example.org", ["Moreau"]),
        ("ELODIE@EXAMPLE.ORG", ["Moreau"]),
        ("elodie@", []),  # an email is found whole
        ("07700 900001", ["Moreau"]),  # the phone's match key
        ("+44 (0)7700-900-001", ["Moreau"]),
        ("0612345678", ["Saint-Exupéry"]),
        ("%", []),
        ("_", []),
    ],
)
def test_search_finds(clinic, people, query, expected):
    assert found(clinic, query) == expected


def test_search_by_record_number_in_every_form(clinic, people):
    patient = people["Hart"]
    prefix, number = patient.mrn.split("-")
    for query in (patient.mrn, patient.mrn.lower(), f"{prefix}{int(number)}", str(int(number))):
        assert found(clinic, query) == ["Hart"], query


def test_search_never_returns_another_clinics_patient(
    clinic, neighbour_clinic, other_clinic, staff
):
    from mesochart.conftest import make_user

    create_patient(clinic, staff["reception"], family_name="Moreau", email="a@example.org")
    neighbour = make_user("n-reception", neighbour_clinic, "reception")
    elsewhere = make_user("o-reception", other_clinic, "reception")
    for other, actor in ((neighbour_clinic, neighbour), (other_clinic, elsewhere)):
        create_patient(other, actor, family_name="Moreau", email="a@example.org")
    for query in ("moreau", "a@example.org", "07700 900123"):
        assert len(found(clinic, query)) == 1, query
        assert len(found(neighbour_clinic, query)) == 1, query


def test_a_new_name_is_found_and_the_old_one_is_not(clinic, people, staff):
    patient = people["Moreau"]
    services.do_update_patient(
        staff["reception"],
        clinic,
        patient,
        {**{f: getattr(patient, f) for f in services.PATIENT_FIELDS}, "family_name": "Lambert"},
    )
    assert found(clinic, "lambert") == ["Lambert"]
    assert found(clinic, "moreau") == []
    if PatientSearchTerm.in_use():
        terms = set(
            PatientSearchTerm.objects.filter(patient=patient).values_list("term", flat=True)
        )
        assert terms == {"elodie", "lambert"}


def test_search_terms_go_with_the_patient(clinic, people):
    patient = people["Hart"]
    patient.delete()
    assert not PatientSearchTerm.objects.filter(patient_id=patient.pk).exists()
    assert found(clinic, "hart") == ["Hartley"]


def test_search_words_are_folded_and_split():
    assert keys.search_text("Anne-Sophie", "Saint-Exupéry") == (
        " anne sophie annesophie saint exupery saintexupery "
    )
    assert keys.search_text("", "") == ""
    assert keys.sort_name("de Silva", "Ana") == "de silva ana"
    assert keys.sort_name("Hart", "Zoë") < keys.sort_name("Hartley", "Ann")


def test_the_count_is_capped(clinic, staff, settings, client_as):
    class SmallCap(CappedPaginator):
        cap = 4

    for i in range(6):
        create_patient(clinic, staff["reception"], family_name=f"Capped{i}", phone="", email="")
    paginator = SmallCap(Patient.objects.filter(clinic=clinic), 2)
    assert paginator.count == 5 and paginator.capped and paginator.num_pages == 2
    exact = SmallCap(Patient.objects.filter(clinic=clinic, family_name="Capped1"), 2)
    assert exact.count == 1 and not exact.capped and exact.num_pages == 1
    assert COUNT_CAP == 1000


def test_the_list_says_more_than_the_cap(clinic, staff, client_as, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    for i in range(5):
        create_patient(clinic, staff["reception"], family_name=f"Many{i}", phone="", email="")
    body = client_as("reception").get(reverse("patients:list"), {"q": "many"}).content.decode()
    assert "More than 3 patients" in body
    body = client_as("reception").get(reverse("patients:list"), {"q": "many2"}).content.decode()
    assert "1 patient ·" in body


def plan(sql: str, params) -> str:
    """The query plan. PostgreSQL plans a few test rows as it likes (any index is cheap),
    so there the plan is asked with scans and sorts priced out: what remains shows which
    index can serve the query; the benchmark shows the planner choosing it at scale."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


@pytest.mark.parametrize("query", ["moreau", "elo mor", "hart"])
def test_a_name_search_is_answered_from_an_index(clinic, people, query):
    if connection.vendor == "sqlite":
        queryset = search_patients(Patient.objects.filter(clinic=clinic), query, clinic)
        text = plan(*queryset[:25].query.sql_with_params())
        assert "patient_search_term_idx" in text, text
        assert "SCAN patients_patient" not in text, text
    else:
        # The words alone (the clinic's own index would serve a few rows just as well).
        queryset = search_patients(Patient.objects.all(), query, clinic).order_by()
        text = plan(*queryset.values("pk").query.sql_with_params())
        assert "patient_search_trgm_idx" in text, text
        assert "Seq Scan" not in text, text


def test_the_unsearched_list_is_read_in_index_order(clinic, people):
    sql, params = Patient.objects.filter(clinic=clinic)[:25].query.sql_with_params()
    text = plan(sql, params)
    if connection.vendor == "sqlite":
        assert "patient_clinic_sort_idx" in text and "TEMP B-TREE" not in text, text
    else:
        assert "patient_clinic_sort_idx" in text and "Sort" not in text.replace("Sort Key", ""), (
            text
        )


def test_reindex_patients_rebuilds_what_a_bulk_write_left_out(clinic, people):
    from django.core.management import call_command

    Patient.objects.filter(pk=people["Moreau"].pk).update(
        family_name="Lambert", search_text="", sort_name=""
    )
    PatientSearchTerm.objects.all().delete()
    assert found(clinic, "lambert") == []
    call_command("reindex-patients", stdout=io.StringIO())
    assert found(clinic, "lambert") == ["Lambert"]
    assert found(clinic, "hart") == ["Hart", "Hartley"]
    assert Patient.objects.get(pk=people["Moreau"].pk).sort_name == "lambert elodie"
