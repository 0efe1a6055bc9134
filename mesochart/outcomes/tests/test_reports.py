from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.conftest import create_patient
from mesochart.outcomes import reports, services

from .factories import make_lot, make_session, record_ae

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def world(clinic, staff, patient):
    """4 signed sessions (3 skin-booster by the practitioner, 1 submental-dca by the
    prescriber), 2 adverse events, submental scores 3 -> 1 and 2 -> 2."""
    second = create_patient(clinic, staff["manager"], given_name="Ana", family_name="Silva")
    lot = make_lot(clinic, staff, "L-1")
    s1 = make_session(clinic, staff, patient, lots=(lot,))
    make_session(clinic, staff, patient, lots=(lot,))
    make_session(clinic, staff, second)
    dca = make_session(clinic, staff, second, protocol="submental-dca", signer="prescriber")
    make_session(clinic, staff, second, signed_days_ago=None)  # not signed: not counted
    record_ae(clinic, staff, patient, event_type="bruising", session=s1, lots=[lot])
    record_ae(clinic, staff, second, event_type="oedema", session=dca)
    for who, first, last in ((patient, 3, 1), (second, 2, 2)):
        kw = {"protocol": "submental-dca"}
        services.do_record_score(
            staff["prescriber"],
            clinic,
            who,
            scale_id="cr-smfrs",
            value=first,
            timepoint="baseline",
            assessed_on=TODAY - timedelta(days=60),
            **kw,
        )
        services.do_record_score(
            staff["prescriber"],
            clinic,
            who,
            scale_id="cr-smfrs",
            value=last,
            timepoint="end_of_course",
            assessed_on=TODAY,
            **kw,
        )
    services.do_record_score(
        staff["practitioner"],
        clinic,
        patient,
        scale_id="gais-patient",
        value=2,
        timepoint="end_of_course",
        assessed_on=TODAY,
        session=s1,
    )
    return {"lot": lot}


def table(clinic, slug):
    found = reports.table_by_slug(clinic, slug)
    assert found is not None
    return found


def test_adverse_event_rates_per_100_signed_sessions(clinic, world):
    by_protocol = {r[0]: r[1:] for r in table(clinic, "ae-by-protocol").rows}
    assert by_protocol["skin-booster"] == [3, 1, 33.3]
    assert by_protocol["submental-dca"] == [1, 1, 100.0]
    by_user = {r[0]: r[1:] for r in table(clinic, "ae-by-practitioner").rows}
    assert by_user["Practitioner"] == [3, 1, 33.3] and by_user["Prescriber"] == [1, 1, 100.0]
    by_lot = table(clinic, "ae-by-lot").rows
    assert by_lot == [["ha-skin-booster", "L-1", 2, 1, 50.0]]


def test_outcome_deltas_from_baseline_to_last_by_scale(clinic, world):
    rows = {(r[0], r[1]): r for r in table(clinic, "outcomes-by-protocol").rows}
    smfrs = rows[("submental-dca", "CR-SMFRS (Clinician-Reported Submental Fat Rating Scale)")]
    # patients, mean baseline, mean last, mean improvement, responders
    assert smfrs[3:] == [2, 2.5, 1.5, 1.0, 1]
    gais = rows[("skin-booster", "GAIS, rated by the patient")]
    assert gais[3:] == [1, None, 2.0, None, None]
    by_lot = table(clinic, "outcomes-by-lot").rows
    assert [r[:3] for r in by_lot] == [["ha-skin-booster", "L-1", "GAIS, rated by the patient"]]


def test_reports_page_shows_tables_and_bar_charts(client_as, world):
    page = client_as("auditor").get(reverse("outcomes:reports"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="chart"') >= 5 and 'class="bar"' in html
    assert "Adverse events by product lot" in html and "33.3" in html


def test_csv_export_per_table(client_as, world):
    response = client_as("manager").get(reverse("outcomes:report_csv") + "?table=ae-by-protocol")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "ae-by-protocol.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == ["protocol", "signed sessions", "adverse events", "per 100 sessions"]
    assert ["skin-booster", "3", "1", "33.3"] in rows
    missing = client_as("manager").get(reverse("outcomes:report_csv") + "?table=nope")
    assert missing.status_code == 404


def test_csv_of_a_hostile_lot_number_is_defused(client_as, clinic, staff, patient):
    lot = make_lot(clinic, staff, "=CMD()")
    record_ae(clinic, staff, patient, lots=[lot])
    response = client_as("manager").get(reverse("outcomes:report_csv") + "?table=ae-by-lot")
    assert ["ha-skin-booster", "'=CMD()", "0", "1", ""] in csv_rows(response)


def test_reports_are_limited_to_the_active_clinic(clinic, staff, world, other_clinic, outsider):
    assert reports.all_tables(other_clinic)[0].rows == []
    assert all(not t.rows for t in reports.all_tables(other_clinic))


@pytest.mark.parametrize(
    "role", ["prescriber", "practitioner", "assistant", "reception", "manager", "auditor"]
)
def test_report_role_matrix(client_as, role, clinic):
    allowed = role in {"prescriber", "manager", "auditor"}
    client = client_as(role)
    assert client.get(reverse("outcomes:reports")).status_code == (200 if allowed else 403)
    csv_url = reverse("outcomes:report_csv") + "?table=ae-by-protocol"
    assert client.get(csv_url).status_code == (200 if allowed else 403)


def test_outsider_sees_only_their_own_empty_report(client_as, world):
    response = client_as("outsider").get(reverse("outcomes:report_csv") + "?table=ae-by-protocol")
    assert response.status_code == 200 and len(csv_rows(response)) == 1
