"""Prescription before administration: a prescription-only protocol's session starts only
against a prescriber's prescription, and the chart is checked against it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from mesochart.accounts.models import Membership
from mesochart.audit.models import AuditEvent
from mesochart.care.models import Prescription, SessionStatus, TreatmentSession
from mesochart.care.services import charting, lifecycle, plans, signing
from mesochart.conftest import ROLES
from mesochart.errors import InvalidInput, NotAllowed

from .factories import sign
from .session_factories import DCA_BRUSH, add_points, codes, dca_session, receive, set_brush

pytestmark = pytest.mark.django_db


def member(user: Any) -> Membership:
    return Membership.objects.select_related("clinic").get(user=user)


@pytest.fixture
def lot(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"], quantity="200")


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any, templates: Any) -> Any:
    sign(clinic, staff["practitioner"], patient)
    return patient


def planned(clinic: Any, staff: Any, patient: Any, protocol: str = "submental-dca") -> Any:
    return lifecycle.do_create_session(
        staff["practitioner"], clinic, patient, protocol=protocol, scheduled_for=clinic.today()
    )


def draft(clinic: Any, **changes: Any) -> plans.PrescriptionDraft:
    fields: dict[str, Any] = {
        "products": ("dca-10mg-ml",),
        "zones": ("submental",),
        "max_volume_ml": Decimal("4"),
        "max_points": 20,
        "sessions": 1,
        "valid_until": clinic.today() + timedelta(days=14),
        **changes,
    }
    return plans.PrescriptionDraft(**fields)


def test_a_prescription_only_session_cannot_start_before_a_prescription(
    clinic: Any, staff: Any, consented: Any
) -> None:
    session = planned(clinic, staff, consented)
    with pytest.raises(lifecycle.PrescriptionRequired) as exc:
        lifecycle.do_start_session(staff["practitioner"], session)
    assert exc.value.field == "prescription" and exc.value.status == 409
    session.refresh_from_db()
    assert session.status == SessionStatus.PLANNED and session.started_at is None


def test_a_protocol_without_prescription_only_products_starts_at_once(
    clinic: Any, staff: Any, consented: Any
) -> None:
    session = planned(clinic, staff, consented, "skin-booster")
    session = lifecycle.do_start_session(staff["practitioner"], session)
    assert session.status == SessionStatus.IN_PROGRESS and session.prescription is None


def test_only_a_prescriber_prescribes_and_it_is_audited(
    clinic: Any, staff: Any, consented: Any
) -> None:
    with pytest.raises(NotAllowed):
        plans.do_prescribe(
            staff["practitioner"],
            member(staff["practitioner"]),
            consented,
            "submental-dca",
            draft(clinic),
        )
    rx = plans.do_prescribe(
        staff["prescriber"], member(staff["prescriber"]), consented, "submental-dca", draft(clinic)
    )
    assert rx.prescribed_by == staff["prescriber"] and rx.max_volume_ml == Decimal("4")
    event = AuditEvent.objects.get(action="prescription.create")
    assert event.details["zones"] == ["submental"] and event.details["max_points"] == 20


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_volume_ml": Decimal("12")}, "max_volume_ml"),  # label: 10 mL per session
        ({"max_points": 51}, "max_points"),  # label: 50 injections per session
        ({"zones": ("cheek_left",)}, "zones"),
        ({"zones": ()}, "zones"),
        ({"products": ("ha-skin-booster",)}, "products"),
        ({"valid_until": "yesterday"}, "valid_until"),
    ],
)
def test_a_prescription_never_exceeds_the_label_or_leaves_the_protocol(
    clinic: Any, staff: Any, consented: Any, changes: dict[str, Any], field: str
) -> None:
    if changes.get("valid_until") == "yesterday":
        changes = {"valid_until": clinic.today() - timedelta(days=1)}
    with pytest.raises(InvalidInput) as exc:
        plans.do_prescribe(
            staff["prescriber"],
            member(staff["prescriber"]),
            consented,
            "submental-dca",
            draft(clinic, **changes),
        )
    assert exc.value.field == field
    assert not Prescription.objects.exists()


def test_the_session_starts_against_the_prescription_and_uses_up_its_sessions(
    clinic: Any, staff: Any, consented: Any
) -> None:
    rx = plans.do_prescribe(
        staff["prescriber"], member(staff["prescriber"]), consented, "submental-dca", draft(clinic)
    )
    first = lifecycle.do_start_session(staff["practitioner"], planned(clinic, staff, consented))
    assert first.prescription == rx
    second = planned(clinic, staff, consented)
    with pytest.raises(lifecycle.PrescriptionRequired):
        lifecycle.do_start_session(staff["practitioner"], second)


def test_a_revoked_or_expired_prescription_does_not_start_a_session(
    clinic: Any, staff: Any, consented: Any
) -> None:
    rx = plans.do_prescribe(
        staff["prescriber"], member(staff["prescriber"]), consented, "submental-dca", draft(clinic)
    )
    with pytest.raises(NotAllowed):
        plans.do_revoke_prescription(staff["practitioner"], member(staff["practitioner"]), rx, "x")
    plans.do_revoke_prescription(
        staff["prescriber"], member(staff["prescriber"]), rx, "Changed plan"
    )
    with pytest.raises(lifecycle.PrescriptionRequired):
        lifecycle.do_start_session(staff["practitioner"], planned(clinic, staff, consented))
    assert plans.active_prescription(consented, "submental-dca", clinic.today()) is None


def test_charting_outside_the_prescription_blocks_signing(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    plans.do_prescribe(
        staff["prescriber"],
        member(staff["prescriber"]),
        consented,
        "submental-dca",
        draft(clinic, max_volume_ml=Decimal("2"), max_points=None),
    )
    session = lifecycle.do_start_session(staff["practitioner"], planned(clinic, staff, consented))
    set_brush(staff["practitioner"], session, {**DCA_BRUSH, "lot": str(lot.pk)})
    add_points(staff["practitioner"], session, 10)
    assert "prescription.volume" not in codes(session)  # 2.0 mL: as prescribed
    add_points(staff["practitioner"], session, 1)
    found = codes(session)
    assert found["prescription.volume"] == "block"
    assert "dose.max_volume" not in found  # the label's 10 mL is not reached
    with pytest.raises(signing.SessionBlocked) as exc:
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert any("prescription allows at most 2 mL" in r for r in exc.value.reasons)


def test_a_zone_not_prescribed_is_a_block_the_prescriber_cannot_override(
    clinic: Any, staff: Any, consented: Any, lot: Any, templates: Any
) -> None:
    sign(clinic, staff["practitioner"], consented, kind="off_label")
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    session.prescription.zones = ["submental"]  # type: ignore[union-attr]
    session.prescription.save(update_fields=["zones"])  # type: ignore[union-attr]
    add_points(staff["practitioner"], session, 1, zone="jowl_left")
    from mesochart.care.services import check

    finding = next(f for f in check.run_check(session).findings if f["code"] == "prescription.zone")
    assert finding["severity"] == "block" and not finding["overridable"]
    with pytest.raises(NotAllowed):
        charting.do_override(
            staff["prescriber"],
            session,
            code="prescription.zone",
            wheres=[finding["where"]],
            reason="Patient asked",
        )


def test_a_prescription_at_the_labels_limit_adds_no_second_finding(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=51)
    found = codes(session)
    assert found["dose.max_points"] == "block"
    assert "prescription.points" not in found and "prescription.volume" not in found


def test_revoking_after_the_start_blocks_signing(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    assert session.prescription is not None
    plans.do_revoke_prescription(
        staff["prescriber"], member(staff["prescriber"]), session.prescription, "Adverse event"
    )
    session = TreatmentSession.objects.get(pk=session.pk)
    assert codes(session)["prescription.missing"] == "block"
    with pytest.raises(signing.SessionBlocked) as exc:
        signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert any("revoked or has expired" in r for r in exc.value.reasons)


def test_the_co_signature_after_treatment_stays_for_supervision(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    session = signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    assert session.awaiting_cosign


# --- pages ------------------------------------------------------------------------------------


def test_the_planned_session_page_says_a_prescriber_must_prescribe(
    client_as: Any, clinic: Any, staff: Any, consented: Any
) -> None:
    session = planned(clinic, staff, consented)
    url = reverse("care:session", args=[session.pk])
    html = client_as("practitioner").get(url).content.decode()
    assert 'id="prescription-needed"' in html and 'id="prescribe-link"' not in html
    assert 'id="start-session" disabled' in html
    html = client_as("prescriber").get(url).content.decode()
    assert 'id="prescribe-link"' in html


def test_starting_without_a_prescription_through_the_page_keeps_it_planned_with_the_reason(
    client_as: Any, clinic: Any, staff: Any, consented: Any
) -> None:
    session = planned(clinic, staff, consented)
    client = client_as("practitioner")
    response = client.post(reverse("care:session_start", args=[session.pk]))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "a prescriber must prescribe it" in html
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.PLANNED


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_the_prescription_form(client_as: Any, consented: Any, role: str) -> None:
    url = reverse("care:prescription_create", args=[consented.pk]) + "?protocol=submental-dca"
    response = client_as(role).get(url)
    assert response.status_code == (200 if role == "prescriber" else 403)


def test_a_prescriber_prescribes_from_the_form_and_returns_to_the_session(
    client_as: Any, clinic: Any, staff: Any, consented: Any
) -> None:
    session = planned(clinic, staff, consented)
    back = reverse("care:session", args=[session.pk])
    url = reverse("care:prescription_create", args=[consented.pk])
    client = client_as("prescriber")
    page = client.get(url, {"protocol": "submental-dca", "next": back}).content.decode()
    assert 'value="10"' in page and 'value="50"' in page  # the label's limits as defaults
    data = {
        "protocol": "submental-dca",
        "next": back,
        "products": ["dca-10mg-ml"],
        "zones": ["submental"],
        "max_volume_ml": "12",
        "max_points": "50",
        "sessions": "2",
        "valid_until": (clinic.today() + timedelta(days=30)).isoformat(),
    }
    response = client.post(url, data)
    assert (
        response.status_code == 400
        and "The label allows at most 10 mL" in response.content.decode()
    )
    assert not Prescription.objects.exists()
    response = client.post(url, {**data, "max_volume_ml": "8"})
    assert response.status_code == 302 and response["Location"] == back
    rx = Prescription.objects.get()
    assert rx.max_volume_ml == Decimal("8.000") and rx.sessions == 2
    response = client_as("practitioner").post(reverse("care:session_start", args=[session.pk]))
    assert TreatmentSession.objects.get(pk=session.pk).prescription == rx


def test_a_protocol_without_prescription_only_products_has_no_prescription_form(
    client_as: Any, consented: Any
) -> None:
    url = reverse("care:prescription_create", args=[consented.pk]) + "?protocol=skin-booster"
    assert client_as("prescriber").get(url).status_code == 400


def test_the_plan_page_lists_prescriptions_and_offers_to_prescribe(
    client_as: Any, clinic: Any, staff: Any, consented: Any
) -> None:
    plan = plans.do_create_plan(
        staff["prescriber"], clinic, consented, protocol="submental-dca", start=clinic.today()
    )
    plans.do_prescribe(
        staff["prescriber"],
        member(staff["prescriber"]),
        consented,
        "submental-dca",
        draft(clinic),
        plan=plan,
    )
    html = client_as("prescriber").get(reverse("care:plan_detail", args=[plan.pk])).content.decode()
    assert 'id="prescriptions"' in html and 'id="prescribe-plan"' in html
    section = html[html.index('id="prescriptions"') :]
    assert "Deoxycholic acid 10 mg/mL" in section and "Submental" in section
    assert "dca-10mg-ml" not in section
