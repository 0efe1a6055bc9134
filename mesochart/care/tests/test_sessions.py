"""Treatment sessions: states, charting, live checks, overrides, sign-off, follow-ups."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from mesochart.accounts.models import Membership
from mesochart.audit.models import AuditEvent
from mesochart.care import maps
from mesochart.care.models import (
    ChartEntry,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    SessionStatus,
    TreatmentPlan,
)
from mesochart.care.services import charting, check, followups, lifecycle, plans, signing
from mesochart.care.tests.factories import sign
from mesochart.care.workspace import totals as workspace_totals
from mesochart.conftest import create_patient
from mesochart.errors import Conflict, InvalidInput, NotAllowed
from mesochart.library.services import library_for
from mesochart.protocols import load_library
from mesochart.sterility import services as sterility
from mesochart.sterility.models import Pack, PackStatus
from mesochart.sterility.tests.factories import make_pack, make_steriliser, released_cycle
from mesochart.stock import services as stock
from mesochart.stock.models import MovementKind, StockMovement, Unit

from .session_factories import (
    DCA_BRUSH,
    add_point,
    add_points,
    codes,
    dca_session,
    override_all,
    post_points,
    receive,
    set_brush,
    started,
)

pytestmark = pytest.mark.django_db


def member(user: Any) -> Membership:
    return Membership.objects.get(user=user)


@pytest.fixture
def lot(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"])


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any, templates: Any) -> Any:
    sign(clinic, staff["practitioner"], patient)
    return patient


# --- states -------------------------------------------------------------------------


def test_starting_a_session_stores_the_screening_of_the_current_profile(
    clinic: Any, staff: Any, patient: Any
) -> None:
    session = started(clinic, staff["practitioner"], patient)
    assert session.status == SessionStatus.IN_PROGRESS
    assert session.screening["profile_version"] == patient.profile.version
    assert session.screening["result"]["protocol"] == "submental-dca"
    assert session.screening["result"]["verdict"] in ("ok", "warn", "block")
    assert session.started_by == staff["practitioner"]


def test_a_session_joins_the_active_plan_of_its_protocol(
    clinic: Any, staff: Any, patient: Any
) -> None:
    plan = plans.do_create_plan(
        staff["prescriber"],
        clinic,
        patient,
        protocol="submental-dca",
        start=clinic.today(),
    )
    session = started(clinic, staff["practitioner"], patient)
    assert session.plan == plan
    with pytest.raises(InvalidInput) as exc:
        plans.do_create_plan(
            staff["prescriber"],
            clinic,
            patient,
            protocol="submental-dca",
            start=clinic.today(),
        )
    assert exc.value.field == "protocol"


def test_a_planned_session_cannot_be_charted_until_started(
    clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    session = lifecycle.do_create_session(
        staff["practitioner"],
        clinic,
        patient,
        protocol="submental-dca",
        scheduled_for=clinic.today(),
    )
    x, y = maps.zone_centroid("face", "submental")
    with pytest.raises(Conflict):
        add_point(staff["practitioner"], session, x, y)
    assert not ChartEntry.objects.exists()


def test_unknown_protocol_is_refused_naming_the_field(
    clinic: Any, staff: Any, patient: Any
) -> None:
    with pytest.raises(InvalidInput) as exc:
        lifecycle.do_create_session(
            staff["practitioner"],
            clinic,
            patient,
            protocol="botox",
            scheduled_for=clinic.today(),
        )
    assert exc.value.field == "protocol"


def test_cancelling_needs_a_reason_and_closes_the_session(
    clinic: Any, staff: Any, patient: Any
) -> None:
    session = started(clinic, staff["practitioner"], patient)
    with pytest.raises(InvalidInput) as exc:
        lifecycle.do_cancel_session(staff["practitioner"], session, " ")
    assert exc.value.field == "reason"
    session = lifecycle.do_cancel_session(staff["practitioner"], session, "Patient unwell")
    assert session.status == SessionStatus.CANCELLED
    with pytest.raises(Conflict):
        lifecycle.do_start_session(staff["practitioner"], session)


# --- charting ------------------------------------------------------------------------


def test_a_click_becomes_a_point_with_the_zone_resolved_on_the_server(
    clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["assistant"], patient, lot)
    x, y = maps.zone_centroid("face", "submental")
    entry = add_point(staff["assistant"], session, x, y)
    assert entry.zone == "submental"
    assert (entry.x, entry.y) == (round(x, 4), round(y, 4))
    assert entry.lot == lot and entry.product == "dca-10mg-ml"
    assert entry.volume_ml == Decimal("0.200") and entry.needle_gauge == 30
    assert AuditEvent.objects.filter(action="session.point_add").count() == 1


@pytest.mark.parametrize(
    ("x", "y"), [("1.5", "0.5"), ("0.5", "-0.1"), ("abc", "0.5"), ("0.01", "0.01")]
)
def test_bad_coordinates_are_refused_naming_the_map(
    clinic: Any, staff: Any, patient: Any, lot: Any, x: str, y: str
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot)
    with pytest.raises(InvalidInput) as exc:
        post_points(staff["practitioner"], session, [(x, y)])
    assert exc.value.field == "map"
    assert not ChartEntry.objects.exists()


def test_moving_a_point_re_resolves_its_zone_and_delete_removes_it(
    clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    dca_session(clinic, staff["practitioner"], patient, lot, points=1)
    entry = ChartEntry.objects.get()
    x, y = maps.zone_centroid("face", "jowl_left")
    entry = charting.do_move_point(staff["practitioner"], entry, charting.MapPoint("face", x, y))
    assert entry.zone == "jowl_left"
    charting.do_delete_entry(staff["practitioner"], entry)
    assert not ChartEntry.objects.exists()


def test_brush_values_are_validated_naming_the_field(
    clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot)
    for data, field in [
        ({"volume_ml": "lots"}, "volume_ml"),
        ({"volume_ml": "-1"}, "volume_ml"),
        ({"needle_gauge": "9"}, "needle_gauge"),
        ({"technique": "tickle"}, "technique"),
        ({"lot": "not-a-uuid"}, "lot"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            set_brush(staff["practitioner"], session, data)
        assert exc.value.field == field
    session.refresh_from_db()
    assert session.brush["volume_ml"] == "0.200"  # what was saved before is kept


def test_a_lot_of_another_clinic_cannot_be_charted(
    clinic: Any, staff: Any, patient: Any, lot: Any, other_clinic: Any, outsider: Any
) -> None:
    foreign = receive(other_clinic, outsider, lot_number="X-1")
    session = dca_session(clinic, staff["practitioner"], patient, lot)
    with pytest.raises(InvalidInput) as exc:
        set_brush(staff["practitioner"], session, {"lot": str(foreign.pk)})
    assert exc.value.field == "lot"


# --- the live check -------------------------------------------------------------------


def test_fifty_dca_points_pass_and_the_fifty_first_blocks(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=50)
    assert "dose.max_points" not in codes(session)
    assert check.run_check(session).verdict == "ok"
    add_points(staff["practitioner"], session, 1)
    assert codes(session)["dose.max_points"] == "block"
    charting.do_delete_entry(staff["practitioner"], ChartEntry.objects.last())
    assert "dose.max_points" not in codes(session)


def test_totals_per_product_and_zone(clinic: Any, staff: Any, consented: Any, lot: Any) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=3)
    add_points(staff["practitioner"], session, 2, zone="jowl_right")
    totals = workspace_totals(library_for(clinic), session.protocol, check.session_entries(session))
    assert totals.points == 5
    (dca,) = totals.by_product
    assert (dca["ml"], dca["points"], dca["lots"]) == (Decimal("1.000"), 5, ["K1234"])
    assert {z["zone"]: z["points"] for z in totals.by_zone} == {"submental": 3, "jowl_right": 2}
    assert any("max_points" in limit["id"] for limit in totals.limits)


def test_missing_consent_blocks_and_a_quarantined_lot_blocks(
    clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=2)
    assert codes(session)["consent.missing"] == "block"
    stock.do_quarantine_lot(staff["manager"], clinic, lot, "fridge excursion")
    assert codes(session)["lot.quarantined"] == "block"


def test_engine_input_follows_the_contract(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    data = check.engine_session(check.load_chart(session)).as_dict()
    assert data["protocol"] == "submental-dca"
    assert data["consents"] == ["treatment"]
    assert data["injections"][0] == {
        "zone": "submental",
        "product": "dca-10mg-ml",
        "lot": "K1234",
        "expiry": lot.expiry.isoformat(),
        "technique": "point",
        "points": 1,
        "volume_ml": 0.2,
        "depth_mm": 6.0,
        "needle_gauge": 30,
        "needle_length_mm": 13.0,
        "components": [],
    }


# --- overrides ------------------------------------------------------------------------------


def test_a_warning_needs_a_prescribers_override_before_signing(
    clinic: Any, staff: Any, templates: Any, lot: Any
) -> None:
    patient = create_patient(
        clinic, staff["practitioner"], profile={"medications": ["antiplatelet"]}
    )
    sign(clinic, staff["practitioner"], patient)
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=2)
    assert codes(session)["contra.anticoagulant"] == "warn"
    with pytest.raises(signing.SessionBlocked):
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    with pytest.raises(InvalidInput) as exc:
        charting.do_override(
            staff["prescriber"],
            session,
            code="contra.anticoagulant",
            wheres=["patient.medications"],
            reason="",
        )
    assert exc.value.field == "reason"
    result = check.run_check(session)
    finding = next(f for f in result.findings if f["code"] == "contra.anticoagulant")
    charting.do_override(
        staff["prescriber"],
        session,
        code=finding["code"],
        wheres=[finding["where"]],
        reason="Aspirin for primary prevention; pressure applied after each point",
    )
    session = signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    signed = {f["code"]: f for f in session.check_result["findings"]}
    assert signed["contra.anticoagulant"]["override"]["reason"].startswith("Aspirin")
    assert AuditEvent.objects.filter(action="session.override").exists()


def test_a_label_limit_cannot_be_overridden(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=51)
    finding = next(f for f in check.run_check(session).findings if f["code"] == "dose.max_points")
    assert finding["overridable"] is False
    with pytest.raises(NotAllowed):
        charting.do_override(
            staff["prescriber"],
            session,
            code="dose.max_points",
            wheres=[finding["where"]],
            reason="Patient insists on more points",
        )


# --- signing ---------------------------------------------------------------------------------


def test_signing_consumes_stock_per_entry_and_creates_follow_ups(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=50)
    session = signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert session.status == SessionStatus.SIGNED
    moves = StockMovement.objects.filter(kind=MovementKind.ADMINISTERED, session_ref=session.pk)
    assert moves.count() == 50
    assert set(moves.values_list("entry_ref", flat=True)) == set(
        session.entries.values_list("pk", flat=True)
    )
    assert lot.on_hand_now() == Decimal("10.00")
    day = session.day
    follow_ups = {f.kind: f for f in FollowUp.objects.filter(session=session)}
    assert follow_ups[FollowUpKind.EARLY_CHECK].due == day + timedelta(days=3)
    surveillance = follow_ups[FollowUpKind.INFECTION_SURVEILLANCE]
    assert surveillance.window_end == day + timedelta(days=84)
    assert follow_ups[FollowUpKind.NEXT_SESSION].due > day
    assert follow_ups[FollowUpKind.FIRST_ASSESSMENT].due > day


def test_a_signed_session_never_changes_only_addenda(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=1)
    session = signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    x, y = maps.zone_centroid("face", "submental")
    with pytest.raises(Conflict):
        add_point(staff["practitioner"], session, x, y)
    with pytest.raises(Conflict):
        charting.do_delete_entry(staff["practitioner"], session.entries.get())
    with pytest.raises(Conflict):
        set_brush(staff["practitioner"], session, {"volume_ml": "0.1"})
    with pytest.raises(Conflict):
        lifecycle.do_cancel_session(staff["practitioner"], session, "oops")
    addendum = signing.do_add_addendum(staff["assistant"], session, "Mild swelling noted.")
    assert addendum.session == session
    assert session.entries.count() == 1


def test_signing_is_refused_with_every_reason_and_changes_nothing(
    clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=51)
    with pytest.raises(signing.SessionBlocked) as exc:
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    text = " ".join(exc.value.reasons)
    assert "treatment consent" in text and "51" in text
    session.refresh_from_db()
    assert session.status == SessionStatus.IN_PROGRESS
    assert not StockMovement.objects.filter(kind=MovementKind.ADMINISTERED).exists()
    assert not FollowUp.objects.exists()


def test_nothing_is_half_signed_when_a_pack_fails_at_the_last_step(
    clinic: Any, staff: Any, consented: Any, lot: Any, other_clinic: Any
) -> None:
    steriliser = make_steriliser(clinic, staff["manager"])
    pack = make_pack(released_cycle(steriliser, staff["manager"]), staff["manager"])
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=3)
    charting.do_add_pack(staff["practitioner"], session, pack.code)
    # The pack is used for another patient after it was added here.
    other = create_patient(clinic, staff["practitioner"], given_name="Ana")
    sterility.do_use_pack(staff["practitioner"], clinic, pack, other, timezone.now())
    assert codes(session)["sterility.pack_used"] == "block"
    with pytest.raises(signing.SessionBlocked):
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert not StockMovement.objects.filter(
        kind=MovementKind.ADMINISTERED, session_ref=session.pk
    ).exists()


def test_signing_uses_the_pack_and_vial_lots_in_the_same_transaction(
    clinic: Any, staff: Any, consented: Any
) -> None:
    vials = receive(clinic, staff["manager"], lot_number="V-9", quantity="8", unit=Unit.VIAL)
    steriliser = make_steriliser(clinic, staff["manager"])
    pack = make_pack(released_cycle(steriliser, staff["manager"]), staff["manager"])
    session = dca_session(clinic, staff["practitioner"], consented, vials, points=10)
    charting.do_add_pack(staff["practitioner"], session, pack.code.lower())
    supply = session.supplies.get()
    assert supply.quantity == 1
    charting.do_set_supply(staff["practitioner"], session, vials.pk, Decimal("2"))
    signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert vials.on_hand_now() == Decimal("6.00")
    pack.refresh_from_db()
    assert pack.status == PackStatus.USED
    assert Pack.objects.get(pk=pack.pk).used_at is not None


def test_stock_run_out_between_charting_and_signing_rolls_everything_back(
    clinic: Any, staff: Any, consented: Any
) -> None:
    small = receive(clinic, staff["manager"], lot_number="S-1", quantity="1")
    steriliser = make_steriliser(clinic, staff["manager"])
    pack = make_pack(released_cycle(steriliser, staff["manager"]), staff["manager"])
    session = dca_session(clinic, staff["practitioner"], consented, small, points=4)
    charting.do_add_pack(staff["practitioner"], session, pack.code)
    assert codes(session).get("stock.insufficient") is None
    other = create_patient(clinic, staff["practitioner"], given_name="Ana")
    stock.do_administer(staff["practitioner"], clinic, small, other, Decimal("0.5"), "submental")
    assert codes(session)["stock.insufficient"] == "block"
    with pytest.raises(signing.SessionBlocked):
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    pack.refresh_from_db()
    assert pack.status == PackStatus.AVAILABLE


def test_prescription_only_needs_a_prescriber_co_sign(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    session = signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert session.awaiting_cosign
    with pytest.raises(NotAllowed):
        signing.do_cosign(staff["practitioner"], member(staff["practitioner"]), session)
    session = signing.do_cosign(staff["prescriber"], member(staff["prescriber"]), session)
    assert session.cosigned_by == staff["prescriber"] and session.cosigned_at is not None
    assert not session.awaiting_cosign


def test_a_prescriber_signing_needs_no_second_signature(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    session = signing.do_sign_session(staff["prescriber"], member(staff["prescriber"]), session)
    assert session.cosign_required and not session.awaiting_cosign


def test_an_assistant_cannot_sign(clinic: Any, staff: Any, consented: Any, lot: Any) -> None:
    session = dca_session(clinic, staff["assistant"], consented, lot, points=2)
    with pytest.raises(NotAllowed):
        signing.do_sign_session(staff["assistant"], member(staff["assistant"]), session)


def test_history_feeds_the_interval_rule_of_the_next_session(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    first = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    signing.do_sign_session(staff["prescriber"], member(staff["prescriber"]), first)
    second = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    assert codes(second)["interval.too_short"] == "block"


def test_a_new_signed_session_closes_the_previous_next_session_reminder(
    clinic: Any, staff: Any, templates: Any
) -> None:
    patient = create_patient(clinic, staff["practitioner"], profile={})
    sign(clinic, staff["practitioner"], patient)
    lot = receive(clinic, staff["manager"], product="ha-nonxl-vitamins", lot_number="HV-1")
    brush = {"kind": "injection", "technique": "papule", "lot": str(lot.pk), "volume_ml": "0.05"}
    for _ in range(2):
        session = started(clinic, staff["practitioner"], patient, "skin-revitalisation")
        set_brush(staff["practitioner"], session, brush)
        add_points(staff["practitioner"], session, 3, zone="cheek_left")
        override_all(staff["prescriber"], session, "Same-day demonstration of the reminder rule")
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    reminders = FollowUp.objects.filter(kind=FollowUpKind.NEXT_SESSION)
    assert reminders.filter(status=FollowUpStatus.OPEN).count() == 1
    assert reminders.filter(status=FollowUpStatus.DONE).count() == 1


def test_follow_up_board_lists_due_overdue_and_open_windows(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    signing.do_sign_session(staff["prescriber"], member(staff["prescriber"]), session)
    today = clinic.today()
    assert followups.follow_up_board(clinic, today).due == []
    board = followups.follow_up_board(clinic, today + timedelta(days=5))
    assert [f.kind for f in board.due] == [FollowUpKind.EARLY_CHECK]
    assert len(board.surveillance) == 1
    late = followups.follow_up_board(clinic, today + timedelta(days=90))
    assert FollowUpKind.INFECTION_SURVEILLANCE in [f.kind for f in late.due]
    done = followups.do_complete_follow_up(staff["reception"], board.due[0], "No swelling.")
    assert done.status == FollowUpStatus.DONE
    with pytest.raises(Conflict):
        followups.do_complete_follow_up(staff["reception"], done)


def test_plan_schedule_counts_signed_sessions(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    plan = plans.do_create_plan(
        staff["prescriber"],
        clinic,
        consented,
        protocol="submental-dca",
        start=clinic.today(),
        goals="Less fullness under the chin",
    )
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    signing.do_sign_session(staff["prescriber"], member(staff["prescriber"]), session)
    course = plans.plan_schedule(plan)
    assert course.sessions_done == 1
    assert course.schedule[0].earliest >= clinic.today() + timedelta(days=28)
    plan = plans.do_close_plan(staff["prescriber"], plan, "completed", "")
    assert TreatmentPlan.objects.get(pk=plan.pk).status == "completed"
    with pytest.raises(InvalidInput):
        plans.do_close_plan(staff["prescriber"], plan, "stopped", "")


def test_a_mixture_prepared_at_the_chair_is_charted_and_traced_to_its_lots(
    clinic: Any, staff: Any, templates: Any
) -> None:
    patient = create_patient(clinic, staff["practitioner"], profile={})
    sign(clinic, staff["practitioner"], patient)
    vitamins = receive(clinic, staff["manager"], product="ha-nonxl-vitamins", lot_number="HV-2")
    lido = receive(clinic, staff["manager"], product="ha-nonxl-lidocaine", lot_number="HL-2")
    session = started(clinic, staff["practitioner"], patient, "skin-revitalisation")
    with pytest.raises(InvalidInput) as exc:
        charting.do_prepare_mixture(
            staff["practitioner"],
            session,
            "revitalisation-lidocaine-mix",
            [(vitamins, Decimal("1"))],
        )
    assert exc.value.field == "components"
    prep = charting.do_prepare_mixture(
        staff["practitioner"],
        session,
        "revitalisation-lidocaine-mix",
        [(vitamins, Decimal("1.5")), (lido, Decimal("1"))],
    )
    assert vitamins.on_hand_now() == Decimal("18.50")
    set_brush(
        staff["practitioner"],
        session,
        {"kind": "injection", "technique": "papule", "lot": f"prep:{prep.pk}", "volume_ml": "0.05"},
    )
    add_points(staff["practitioner"], session, 4, zone="cheek_left")
    entry = ChartEntry.objects.filter(session=session).first()
    assert entry is not None and entry.preparation == prep
    assert entry.product == "revitalisation-lidocaine-mix"
    data = check.engine_session(check.load_chart(session)).as_dict()
    assert {c["lot"] for c in data["injections"][0]["components"]} == {"HV-2", "HL-2"}
    override_all(staff["prescriber"], session, "Reviewed by the prescriber for this test")
    signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    moves = StockMovement.objects.filter(session_ref=session.pk, preparation=prep)
    assert moves.count() == 4
    from mesochart.stock.recall import rows_for_lot

    rows = rows_for_lot(clinic.organisation_id, "HV-2")
    assert patient.mrn in {row.mrn for row in rows}


def test_the_lot_can_be_scanned_or_typed(clinic: Any, staff: Any, patient: Any, lot: Any) -> None:
    session = started(clinic, staff["practitioner"], patient)
    session = set_brush(staff["practitioner"], session, {"scan": "k1234"})
    assert session.brush["lot"] == str(lot.pk)
    gtin = "09506000134352"  # a valid GTIN-14 (check digit 2)
    stock.do_map_gtin(staff["manager"], clinic, gtin, "dca-10mg-ml")
    session = set_brush(staff["practitioner"], session, {"scan": f"(01){gtin}(10)K1234"})
    assert session.brush["lot"] == str(lot.pk)
    with pytest.raises(InvalidInput) as exc:
        set_brush(staff["practitioner"], session, {"scan": "NOPE-1"})
    assert exc.value.field == "scan"


def test_an_adverse_event_after_a_session_feeds_the_engine_history(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.outcomes import services as outcomes
    from mesochart.outcomes.tests.factories import ae_data

    first = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    first = signing.do_sign_session(staff["prescriber"], member(staff["prescriber"]), first)
    outcomes.do_record_adverse_event(
        staff["prescriber"],
        clinic,
        consented,
        ae_data(event_type="necrosis", onset=clinic.today(), session=first),
    )
    history = check.history_for(consented)
    assert history[0].adverse_events == ("necrosis",)
    second = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    assert codes(second)["contra.prior_necrosis"] == "block"


def test_findings_about_a_lot_point_at_its_entry_in_the_engine_input(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=1)
    set_brush(staff["practitioner"], session, {"kind": "microneedling", "device": "pen"})
    charting.do_add_zone_entry(staff["practitioner"], session, zone="submental", points=1)
    set_brush(staff["practitioner"], session, {**DCA_BRUSH, "lot": str(lot.pk)})
    add_points(staff["practitioner"], session, 1)
    entries = check.session_entries(session)
    assert list(check.engine_paths(load_library(), entries).values()) == [
        "injections[0]",
        "microneedling[0]",
        "injections[1]",
    ]
    stock.do_quarantine_lot(staff["manager"], clinic, lot, "fridge excursion")
    wheres = [
        f["where"] for f in check.run_check(session).findings if f["code"] == "lot.quarantined"
    ]
    assert wheres == ["injections[0].lot", "injections[1].lot"]
    assert check.concerns("injections[1].lot", "injections[1]")
    assert not check.concerns("injections[10].lot", "injections[1]")


def test_sessions_awaiting_co_signature_are_listed_only_to_roles_that_may_open_them(
    clinic: Any, staff: Any, consented: Any, lot: Any, client_as: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    for role, listed in [("prescriber", True), ("practitioner", True), ("reception", False)]:
        page = client_as(role).get("/").content.decode()
        assert ("Awaiting prescriber co-signature" in page) is listed, role
        assert ('id="cosign"' in page) is listed, role
