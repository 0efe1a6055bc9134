"""What the rooms of ``care/services`` promise: one door for a session's status, the
engine fed its own records (the same result as through the contract's JSON), every rule
asked of its owner (the clinic's day, the tuned surveillance window), "Start now" only
for today's sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from mesochart.accounts.models import Clinic
from mesochart.audit.models import AuditEvent
from mesochart.care.models import FollowUp, FollowUpKind, SessionStatus, TreatmentSession
from mesochart.care.services import check, lifecycle, signing
from mesochart.errors import Conflict
from mesochart.library.services import do_tune_parameter, library_for
from mesochart.outcomes.services import surveillance_window
from mesochart.protocols import check_session, parse_session
from mesochart.sterility.tests.factories import make_pack, make_steriliser, released_cycle

from .factories import sign
from .session_factories import dca_session, receive, set_brush, started

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"], quantity="200")


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any, templates: Any) -> Any:
    sign(clinic, staff["practitioner"], patient)
    return patient


def test_a_status_change_the_transitions_forbid_is_refused_and_nothing_is_saved(
    clinic: Any, staff: Any, consented: Any
) -> None:
    session = lifecycle.do_create_session(
        staff["practitioner"],
        clinic,
        consented,
        protocol="skin-booster",
        scheduled_for=clinic.today(),
    )
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict) as exc:
        lifecycle.set_session_status(
            staff["practitioner"], session, SessionStatus.SIGNED, event="sign"
        )
    assert exc.value.field == "status"
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.PLANNED
    assert AuditEvent.objects.count() == before


def test_every_status_change_writes_its_audit_event(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.accounts.models import Membership

    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    signing.do_sign_session(
        staff["practitioner"], Membership.objects.get(user=staff["practitioner"]), session
    )
    actions = list(
        AuditEvent.objects.filter(object_id=str(session.pk))
        .filter(action__in=["session.create", "session.start", "session.sign"])
        .values_list("action", flat=True)
    )
    assert actions == ["session.create", "session.start", "session.sign"]


def test_the_engine_gets_its_own_records_and_agrees_with_the_contract_json(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=3)
    pack = make_pack(
        released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"]),
        staff["manager"],
    )
    from mesochart.care.services import charting

    charting.do_add_pack(staff["practitioner"], session, pack.code)
    set_brush(
        staff["practitioner"],
        session,
        {"kind": "microneedling", "device": "pen", "needle_length_mm": "0.5"},
    )
    charting.do_add_zone_entry(staff["practitioner"], session, zone="submental", points=1)
    state = check.load_chart(session)
    typed = check.engine_session(state)
    library = library_for(clinic)
    assert parse_session(typed.as_dict(), library) == typed
    assert check_session(typed, library=library) == check_session(typed.as_dict(), library=library)
    result = check.run_check(session, state=state)
    assert result.engine_input == typed.as_dict()


def test_the_clinics_day_comes_from_the_clinic(db: Any, organisation: Any) -> None:
    tokyo = Clinic.objects.create(organisation=organisation, name="Tokyo", timezone="Asia/Tokyo")
    moment = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
    assert tokyo.local_day(moment).isoformat() == "2026-12-02"
    with time_machine.travel(moment, tick=False):
        assert tokyo.today().isoformat() == "2026-12-02"


def test_a_clinic_tuned_surveillance_window_is_the_same_in_care_and_outcomes(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.accounts.models import Membership

    do_tune_parameter(
        staff["manager"], clinic, "followups.infection_surveillance_days", 120, "Clinic policy"
    )
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    session = signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    window = FollowUp.objects.get(session=session, kind=FollowUpKind.INFECTION_SURVEILLANCE)
    outcomes_window = surveillance_window(consented)
    assert outcomes_window is not None
    assert window.window_end == session.day + timedelta(days=120)
    assert outcomes_window.ends_on == window.window_end and outcomes_window.days == 120


def test_starting_a_session_planned_for_another_day_makes_it_todays_and_keeps_the_plan_day(
    clinic: Any, staff: Any, consented: Any
) -> None:
    planned_for = clinic.today() + timedelta(days=7)
    session = lifecycle.do_create_session(
        staff["practitioner"], clinic, consented, protocol="skin-booster", scheduled_for=planned_for
    )
    session = lifecycle.do_start_session(staff["practitioner"], session)
    assert session.scheduled_for == clinic.today() == session.performed_on
    event = AuditEvent.objects.get(action="session.start", object_id=str(session.pk))
    assert event.details["planned_for"] == planned_for.isoformat()


def test_start_now_is_refused_for_a_session_of_another_day(
    client_as: Any, clinic: Any, consented: Any
) -> None:
    url = reverse("care:session_create", args=[consented.pk])
    next_week = (clinic.today() + timedelta(days=7)).isoformat()
    client = client_as("practitioner")
    response = client.post(
        url, {"protocol": "skin-booster", "scheduled_for": next_week, "start_now": "on"}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "Start now is only for today" in html
    assert not TreatmentSession.objects.exists()
    response = client.post(url, {"protocol": "skin-booster", "scheduled_for": next_week})
    assert response.status_code == 302
    session = TreatmentSession.objects.get()
    assert (
        session.status == SessionStatus.PLANNED and session.scheduled_for.isoformat() == next_week
    )
    page = client.get(response["Location"]).content.decode()
    assert 'id="planned-other-day"' in page


def test_the_new_session_form_offers_start_now_for_today(
    client_as: Any, clinic: Any, consented: Any
) -> None:
    html = (
        client_as("practitioner")
        .get(reverse("care:session_create", args=[consented.pk]))
        .content.decode()
    )
    assert f'data-today="{clinic.today().isoformat()}"' in html
    assert 'name="start_now"' in html and "checked" in html


def test_the_signed_record_keeps_the_zones_and_products_the_history_reads(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.accounts.models import Membership

    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    session = signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    stored = TreatmentSession.objects.get(pk=session.pk)
    assert stored.charted_zones == ["submental"] and stored.charted_products == ["dca-10mg-ml"]
    assert stored.performed_on == clinic.today()
    nxt = started(clinic, staff["prescriber"], consented, "skin-booster")
    (entry,) = check.history_for(consented, exclude=nxt.pk)
    assert entry.zones == ("submental",) and entry.products == ("dca-10mg-ml",)
    assert entry.date == clinic.today()


def test_the_migration_gives_earlier_sessions_their_day_zones_and_products(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    import importlib

    from django.apps import apps

    from mesochart.accounts.models import Membership

    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    planned = lifecycle.do_create_session(
        staff["practitioner"],
        clinic,
        consented,
        protocol="skin-booster",
        scheduled_for=clinic.today(),
    )
    # As the rows were before the migration.
    TreatmentSession.objects.update(performed_on=None, charted_zones=[], charted_products=[])
    migration = importlib.import_module(
        "mesochart.care.migrations.0004_prescriptions_session_history"
    )
    migration.backfill(apps, None)
    signed = TreatmentSession.objects.get(pk=session.pk)
    assert signed.performed_on == clinic.today()
    assert signed.charted_zones == ["submental"] and signed.charted_products == ["dca-10mg-ml"]
    untouched = TreatmentSession.objects.get(pk=planned.pk)
    assert untouched.performed_on is None and untouched.charted_zones == []


def test_a_device_the_library_does_not_know_reaches_the_engine_as_needled(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.care.models import ChartEntry
    from mesochart.care.services import charting

    session = started(clinic, staff["practitioner"], consented, "skin-booster")
    set_brush(staff["practitioner"], session, {"kind": "microneedling", "device": "pen"})
    charting.do_add_zone_entry(staff["practitioner"], session, zone="forehead", points=1)
    ChartEntry.objects.filter(session=session).update(device="an old free-text device")
    state = check.load_chart(session)
    (row,) = check.engine_session(state).microneedling
    assert row.device is None
    check.run_check(session, state=state)  # no error: the engine sees a needled pass
