"""Session pages through HTTP: roles, htmx fragments, sign-off, aftercare PDF, calendar."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.care import maps
from mesochart.care.models import ChartEntry, SessionStatus, TreatmentSession
from mesochart.care.services import check, signing
from mesochart.conftest import ROLES

from .factories import pdf_text, sign
from .session_factories import DCA_BRUSH, dca_session, prescribe, receive, set_brush

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CHART = {"prescriber", "practitioner", "assistant"}
SIGN = {"prescriber", "practitioner"}
VIEW = {"prescriber", "practitioner", "assistant", "manager", "auditor"}


@pytest.fixture
def lot(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"])


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any, templates: Any) -> Any:
    sign(clinic, staff["practitioner"], patient)
    return patient


def point(zone: str = "submental") -> dict[str, Any]:
    x, y = maps.zone_centroid("face", zone)
    return {"view": "face", "x": x, "y": y}


def test_new_session_form_creates_and_starts(
    client_as: Any, clinic: Any, consented: Any, lot: Any
) -> None:
    prescribe(clinic, consented)
    client = client_as("practitioner")
    url = reverse("care:session_create", args=[consented.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "protocol": "submental-dca",
            "scheduled_for": clinic.today().isoformat(),
            "start_now": "on",
        },
    )
    session = TreatmentSession.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/sessions/{session.pk}/")
    assert session.status == SessionStatus.IN_PROGRESS
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'data-view="face"' in page.content and b'id="brush"' in page.content


def test_session_notes_are_shown_on_the_session_planned_charting_and_signed(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.accounts.models import Membership

    prescribe(clinic, consented)
    client = client_as("prescriber")
    notes = "Patient prefers the left side first.\nBring ice <packs>."
    response = client.post(
        reverse("care:session_create", args=[consented.pk]),
        {"protocol": "submental-dca", "scheduled_for": clinic.today().isoformat(), "notes": notes},
    )
    session = TreatmentSession.objects.get()
    assert session.notes == notes and session.status == SessionStatus.PLANNED
    shown = "Patient prefers the left side first.<br>Bring ice &lt;packs&gt;."
    assert shown in client.get(response["Location"]).content.decode()
    client.post(reverse("care:session_start", args=[session.pk]))
    set_brush(staff["prescriber"], session, {**DCA_BRUSH, "lot": str(lot.pk)})
    client.post(reverse("care:point_add", args=[session.pk]), point(), **HTMX)
    page = client.get(response["Location"]).content.decode()
    assert 'id="brush"' in page and shown in page
    session.refresh_from_db()
    signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    page = client_as("auditor").get(response["Location"]).content.decode()
    assert 'id="signature"' in page and shown in page


def test_new_session_with_a_bad_protocol_names_the_field(client_as: Any, patient: Any) -> None:
    response = client_as("practitioner").post(
        reverse("care:session_create", args=[patient.pk]),
        {"protocol": "botox", "scheduled_for": "2026-11-25"},
    )
    assert response.status_code == 400
    assert b"Protocol" in response.content
    assert not TreatmentSession.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_who_may_chart_a_point(
    client_as: Any, clinic: Any, staff: Any, patient: Any, lot: Any, role: str
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot)
    response = client_as(role).post(reverse("care:point_add", args=[session.pk]), point(), **HTMX)
    assert response.status_code == (200 if role in CHART else 403)
    assert ChartEntry.objects.count() == (1 if role in CHART else 0)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_see_a_session(
    client_as: Any, clinic: Any, staff: Any, patient: Any, lot: Any, role: str
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=1)
    response = client_as(role).get(reverse("care:session", args=[session.pk]))
    assert response.status_code == (200 if role in VIEW else 403)


def test_htmx_point_returns_the_workspace_with_live_findings(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=50)
    client = client_as("practitioner")
    url = reverse("care:point_add", args=[session.pk])
    response = client.post(url, point(), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="workspace"')
    assert 'data-code="dose.max_points"' in html and "pt-blocked" in html
    last = ChartEntry.objects.order_by("-position").first()
    assert last is not None
    response = client.post(reverse("care:entry_delete", args=[last.pk]), **HTMX)
    assert 'data-code="dose.max_points"' not in response.content.decode()


def test_a_point_outside_the_zones_answers_400_naming_the_field(
    client_as: Any, clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot)
    response = client_as("practitioner").post(
        reverse("care:point_add", args=[session.pk]),
        {"view": "face", "x": "0.01", "y": "0.01"},
        **HTMX,
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="map-error"' in html and "outside every treatment zone" in html
    assert not ChartEntry.objects.exists()


def test_workspace_queries_do_not_grow_with_points(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    client = client_as("practitioner")
    url = reverse("care:session", args=[session.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    set_brush(staff["practitioner"], session, {"kind": "injection"})
    from .session_factories import add_points

    session.refresh_from_db()
    set_brush(
        staff["practitioner"],
        session,
        {"kind": "injection", "lot": str(lot.pk), "volume_ml": "0.1", "technique": "point"},
    )
    add_points(staff["practitioner"], session, 30)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_sign_blocked_shows_every_reason_and_signing_redirects(
    client_as: Any, clinic: Any, staff: Any, patient: Any, templates: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=2)
    client = client_as("practitioner")
    url = reverse("care:session_sign", args=[session.pk])
    response = client.post(url, **HTMX)
    assert response.status_code == 409
    assert "No signed treatment consent" in response.content.decode()
    sign(clinic, staff["practitioner"], patient)
    response = client.post(url, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("care:session", args=[session.pk])
    session.refresh_from_db()
    assert session.status == SessionStatus.SIGNED


@pytest.mark.parametrize("role", ROLES)
def test_who_may_sign(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any, role: str
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    response = client_as(role).post(reverse("care:session_sign", args=[session.pk]))
    assert response.status_code == (302 if role in SIGN else 403)
    session.refresh_from_db()
    assert (session.status == SessionStatus.SIGNED) == (role in SIGN)


def test_override_form_needs_a_prescriber(
    client_as: Any, clinic: Any, staff: Any, templates: Any, lot: Any
) -> None:
    from mesochart.conftest import create_patient

    patient = create_patient(
        clinic, staff["practitioner"], profile={"medications": ["antiplatelet"]}
    )
    sign(clinic, staff["practitioner"], patient)
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=1)
    data = {"code": "contra.anticoagulant", "where": "patient.medications", "reason": "Reviewed"}
    url = reverse("care:session_override", args=[session.pk])
    assert client_as("practitioner").post(url, data, **HTMX).status_code == 403
    finding = next(
        f for f in check.run_check(session).findings if f["code"] == "contra.anticoagulant"
    )
    data["where"] = finding["where"]
    response = client_as("prescriber").post(url, {**data, "reason": ""}, **HTMX)
    assert response.status_code == 400
    response = client_as("prescriber").post(url, data, **HTMX)
    assert response.status_code == 200
    assert "Overridden by" in response.content.decode()


def test_aftercare_pdf_is_a_real_pdf_with_the_patients_name(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    from mesochart.accounts.models import Membership

    signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    client = client_as("practitioner")
    page = client.get(reverse("care:aftercare", args=[session.pk]))
    assert page.status_code == 200
    assert "Call the clinic" in page.content.decode()
    response = client.get(reverse("care:aftercare_pdf", args=[session.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert "Elena Moreau" in text and "Aftercare" in text


def test_calendar_lists_the_next_appointments(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=2)
    from mesochart.accounts.models import Membership

    signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    response = client_as("reception").get(reverse("care:calendar", args=[consented.pk]))
    assert response.status_code == 403  # reception sees follow-ups, not the clinical record
    response = client_as("practitioner").get(reverse("care:calendar", args=[consented.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert body.count("BEGIN:VEVENT") == 3  # early check, first assessment, next session
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_dashboard_lists_sessions_today_and_follow_ups(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    dca_session(clinic, staff["practitioner"], consented, lot, points=1)
    html = client_as("reception").get(reverse("core:dashboard")).content.decode()
    assert 'id="sessions-today"' in html and "Elena Moreau" in html
    assert 'id="follow-ups-due"' in html


def test_follow_up_done_by_reception(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["prescriber"], consented, lot, points=1)
    from mesochart.accounts.models import Membership

    signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    follow_up = session.follow_ups.get(kind="early_check")
    url = reverse("care:follow_up_done", args=[follow_up.pk])
    assert client_as("auditor").post(url, {"note": "x"}).status_code == 403
    response = client_as("reception").post(url, {"note": "Called: all well"})
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and follow_up.outcome_note == "Called: all well"


def test_signed_session_page_shows_signature_addenda_and_follow_ups(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=1)
    from mesochart.accounts.models import Membership

    signing.do_sign_session(
        staff["practitioner"], Membership.objects.get(user=staff["practitioner"]), session
    )
    client = client_as("assistant")
    response = client.post(
        reverse("care:session_addendum", args=[session.pk]), {"text": "Patient called: fine."}
    )
    assert response.status_code == 302
    html = client.get(reverse("care:session", args=[session.pk])).content.decode()
    assert "Awaiting a prescriber" in html and "Patient called: fine." in html
    assert 'id="brush"' not in html  # no charting controls on a signed session
    response = client_as("prescriber").post(reverse("care:session_cosign", args=[session.pk]))
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.cosigned_by == staff["prescriber"]


def test_chart_page_shows_the_treatment_card(client_as: Any, patient: Any) -> None:
    html = client_as("practitioner").get(reverse("patients:chart", args=[patient.pk])).content
    assert b'id="treatment"' in html and b'id="new-session-link"' in html


def test_follow_up_done_never_redirects_off_site(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.accounts.models import Membership

    session = dca_session(clinic, staff["prescriber"], consented, lot, points=1)
    signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), session
    )
    follow_up = session.follow_ups.get(kind="early_check")
    response = client_as("reception").post(
        reverse("care:follow_up_done", args=[follow_up.pk]),
        {"note": "ok", "next": "/\\evil.example/"},
    )
    assert response["Location"] == reverse("care:follow_ups")


def test_released_packs_are_offered_to_pick_and_added_by_code(
    client_as: Any, clinic: Any, staff: Any, patient: Any, lot: Any
) -> None:
    from mesochart.sterility.tests.factories import make_pack, make_steriliser, released_cycle

    pack = make_pack(
        released_cycle(make_steriliser(clinic, staff["manager"]), staff["manager"]),
        staff["manager"],
    )
    session = dca_session(clinic, staff["practitioner"], patient, lot)
    client = client_as("assistant")
    html = client.get(reverse("care:session", args=[session.pk])).content.decode()
    assert f'<option value="{pack.code}">' in html
    response = client.post(reverse("care:pack_add", args=[session.pk]), {"pack": pack.code}, **HTMX)
    assert response.status_code == 200 and session.packs.get().pack == pack
    response = client.post(reverse("care:pack_add", args=[session.pk]), {"pack": "NOPE"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and 'id="packs-error"' in html
    assert "No pack “NOPE” in this clinic" in html
