"""Contract 1.1 on the chart: energy-device and needle-free passes, their modalities in later
sessions' history, and opened multi-dose vials reach the engine while charting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.accounts.models import Membership
from mesochart.care.models import ChartEntry, ConsentKind, SessionVial, TreatmentSession
from mesochart.care.services import charting, check, signing
from mesochart.conftest import create_patient
from mesochart.errors import InvalidInput
from mesochart.stock.models import Container, MovementKind, StockMovement

from .factories import sign
from .session_factories import add_points, receive, set_brush, started

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def member(user: Any) -> Membership:
    return Membership.objects.get(user=user)


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any, templates: Any) -> Any:
    sign(clinic, staff["practitioner"], patient)
    return patient


@pytest.fixture
def serum(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"], product="ha-serum-sterile", lot_number="S55")


def laser_session(
    clinic: Any, actor: Any, patient: Any, serum: Any, modality: str, zone: str = "cheek_left"
) -> TreatmentSession:
    session = started(clinic, actor, patient, "fractional-laser-meso")
    set_brush(
        actor,
        session,
        {
            "kind": "energy",
            "technique": "fractional-laser",
            "modality": modality,
            "device": "Fraxel Dual",
            "energy": "20 mJ",
            "passes": "2",
            "lot": str(serum.pk),
        },
    )
    charting.do_add_zone_entry(actor, session, zone=zone, points=1)
    return session


def findings(session: TreatmentSession, code: str) -> list[dict[str, Any]]:
    return [f for f in check.run_check(session).findings if f["code"] == code]


# --- energy entries ---------------------------------------------------------------------------


def test_an_energy_pass_reaches_the_engine_with_its_modality(
    clinic: Any, staff: Any, consented: Any, serum: Any
) -> None:
    session = laser_session(
        clinic, staff["practitioner"], consented, serum, "fractional-laser-non-ablative"
    )
    result = check.run_check(session)
    assert result.engine_input["energy"] == [
        {
            "zone": "cheek_left",
            "modality": "fractional-laser-non-ablative",
            "device": "Fraxel Dual",
            "passes": 2,
            "topicals": [
                {"product": "ha-serum-sterile", "lot": "S55", "expiry": serum.expiry.isoformat()}
            ],
        }
    ]
    entry = ChartEntry.objects.get(session=session)
    assert entry.modality == "fractional-laser-non-ablative"
    assert result.paths == {entry.pk: "energy[0]"}


def test_a_laser_pass_is_refused_until_its_modality_is_chosen(
    clinic: Any, staff: Any, consented: Any, serum: Any
) -> None:
    actor = staff["practitioner"]
    session = started(clinic, actor, consented, "fractional-laser-meso")
    set_brush(actor, session, {"kind": "energy", "technique": "fractional-laser"})
    with pytest.raises(InvalidInput) as exc:
        charting.do_add_zone_entry(actor, session, zone="cheek_left", points=1)
    assert exc.value.field == "map"
    assert "Ablative fractional laser" in exc.value.message
    assert not ChartEntry.objects.filter(session=session).exists()
    # A modality of another technique is refused by the brush, naming the field.
    with pytest.raises(InvalidInput) as exc:
        set_brush(
            actor,
            session,
            {"kind": "energy", "technique": "fractional-laser", "modality": "rf-microneedling"},
        )
    assert exc.value.field == "modality"


def test_a_technique_with_one_modality_takes_it_without_asking(
    clinic: Any, staff: Any, consented: Any, serum: Any
) -> None:
    actor = staff["practitioner"]
    session = started(clinic, actor, consented, "needle-free")
    set_brush(actor, session, {"kind": "needle_free", "technique": "iontophoresis"})
    charting.do_add_zone_entry(actor, session, zone="forehead", points=1)
    assert check.run_check(session).engine_input["energy"] == [
        {"zone": "forehead", "modality": "iontophoresis", "topicals": []}
    ]


def test_a_pacemaker_blocks_the_needle_free_pass_as_charted(
    clinic: Any, staff: Any, templates: Any
) -> None:
    actor = staff["practitioner"]
    patient = create_patient(clinic, actor, profile={"fitzpatrick": 3, "conditions": ["pacemaker"]})
    sign(clinic, actor, patient)
    session = started(clinic, actor, patient, "needle-free")
    set_brush(actor, session, {"kind": "needle_free", "technique": "sonophoresis"})
    charting.do_add_zone_entry(actor, session, zone="forehead", points=1)
    assert [f["severity"] for f in findings(session, "contra.pacemaker")] == ["block"]


def sign_laser(clinic: Any, staff: Any, patient: Any, serum: Any, modality: str, days_ago: int):
    session = laser_session(clinic, staff["practitioner"], patient, serum, modality)
    session = signing.do_sign_session(staff["practitioner"], member(staff["practitioner"]), session)
    # The session took place ``days_ago`` (the history reads its day).
    TreatmentSession.objects.filter(pk=session.pk).update(
        performed_on=clinic.today() - timedelta(days=days_ago)
    )
    return session


@pytest.mark.parametrize(("days_ago", "blocked"), [(83, True), (84, False)])
def test_an_earlier_ablative_laser_in_the_zone_blocks_for_12_weeks(
    clinic: Any, staff: Any, consented: Any, serum: Any, days_ago: int, blocked: bool
) -> None:
    first = sign_laser(clinic, staff, consented, serum, "fractional-laser-ablative", days_ago)
    assert first.charted_modalities == ["fractional-laser-ablative"]
    history = check.history_for(consented)
    assert history[0].modalities == ("fractional-laser-ablative",)
    session = laser_session(
        clinic, staff["practitioner"], consented, serum, "fractional-laser-non-ablative"
    )
    found = findings(session, "energy.recent_treatment")
    assert [(f["severity"], f["where"]) for f in found] == (
        [("block", "energy[0].zone")] if blocked else []
    )
    # Another zone is not affected.
    other = laser_session(
        clinic,
        staff["practitioner"],
        create_patient(clinic, staff["practitioner"]),
        serum,
        "fractional-laser-non-ablative",
        zone="forehead",
    )
    assert findings(other, "energy.recent_treatment") == []


def test_an_earlier_non_ablative_laser_blocks_for_3_weeks(
    clinic: Any, staff: Any, consented: Any, serum: Any
) -> None:
    sign_laser(clinic, staff, consented, serum, "fractional-laser-non-ablative", 20)
    session = laser_session(
        clinic, staff["practitioner"], consented, serum, "fractional-laser-non-ablative"
    )
    assert [f["severity"] for f in findings(session, "energy.recent_treatment")] == ["block"]
    signed = TreatmentSession.objects.exclude(pk=session.pk).get()
    TreatmentSession.objects.filter(pk=signed.pk).update(
        performed_on=clinic.today() - timedelta(days=21)
    )
    assert findings(session, "energy.recent_treatment") == []


# --- opened vials -----------------------------------------------------------------------------


@pytest.fixture
def lipolytic(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"], product="caffeine-deoxycholate", lot_number="C7")


def lipolytic_session(clinic: Any, actor: Any, patient: Any, lot: Any) -> TreatmentSession:
    session = started(clinic, actor, patient, "contour-lipolytic")
    set_brush(
        actor,
        session,
        {
            "kind": "injection",
            "technique": "point",
            "lot": str(lot.pk),
            "volume_ml": "0.2",
            "depth_mm": "6",
            "needle_gauge": "30",
            "needle_length_mm": "13",
        },
    )
    add_points(actor, session, 2)
    return session


def age_vial(container: Container, days: int) -> None:
    opened = timezone.now() - timedelta(days=days)
    Container.objects.filter(pk=container.pk).update(
        opened_at=opened, beyond_use_date=opened.date() + timedelta(days=28)
    )


def test_a_multi_dose_lot_needs_its_opened_vial(
    clinic: Any, staff: Any, consented: Any, lipolytic: Any
) -> None:
    actor = staff["practitioner"]
    session = lipolytic_session(clinic, actor, consented, lipolytic)
    missing = findings(session, "chart.vial_missing")
    assert [(f["severity"], f["where"]) for f in missing] == [("block", "injections[0].lot")]
    row = charting.do_add_vial(actor, session, f"open:{lipolytic.pk}")
    assert findings(session, "chart.vial_missing") == []
    vials = check.run_check(session).engine_input["vials"]
    assert vials == [
        {
            "product": "caffeine-deoxycholate",
            "lot": "C7",
            "expiry": lipolytic.expiry.isoformat(),
            "multi_dose": True,
            "opened": clinic.today().isoformat(),
        }
    ]
    with pytest.raises(InvalidInput) as exc:
        charting.do_add_vial(actor, session, f"container:{row.container_id}")
    assert exc.value.field == "vial"


@pytest.mark.parametrize(("days", "blocked"), [(28, False), (29, True)])
def test_a_vial_opened_more_than_28_days_ago_blocks(
    clinic: Any, staff: Any, consented: Any, lipolytic: Any, days: int, blocked: bool
) -> None:
    actor = staff["practitioner"]
    session = lipolytic_session(clinic, actor, consented, lipolytic)
    row = charting.do_add_vial(actor, session, f"open:{lipolytic.pk}")
    age_vial(row.container, days)
    found = findings(session, "vial.beyond_use")
    assert [(f["severity"], f["where"]) for f in found] == (
        [("block", "vials[0].opened")] if blocked else []
    )


def test_signing_draws_from_the_recorded_vial(
    clinic: Any, staff: Any, consented: Any, lipolytic: Any
) -> None:
    actor = staff["practitioner"]
    sign(clinic, actor, consented, ConsentKind.OFF_LABEL)
    session = lipolytic_session(clinic, actor, consented, lipolytic)
    row = charting.do_add_vial(actor, session, f"open:{lipolytic.pk}")
    blocking = [f["code"] for f in check.run_check(session).blocking]
    assert blocking == [], blocking
    signing.do_sign_session(actor, member(actor), session)
    moves = StockMovement.objects.filter(kind=MovementKind.ADMINISTERED, session_ref=session.pk)
    assert moves.count() == 2
    assert set(moves.values_list("container_id", flat=True)) == {row.container_id}


def test_a_single_use_lot_has_no_vial_to_record(
    clinic: Any, staff: Any, consented: Any, serum: Any
) -> None:
    actor = staff["practitioner"]
    session = laser_session(clinic, actor, consented, serum, "fractional-laser-non-ablative")
    with pytest.raises(InvalidInput) as exc:
        charting.do_add_vial(actor, session, f"open:{serum.pk}")
    assert exc.value.field == "vial"
    assert not SessionVial.objects.exists()


def test_the_vial_form_refuses_beside_the_packs_and_keeps_the_chart(
    clinic: Any,
    staff: Any,
    consented: Any,
    lipolytic: Any,
    client_as: Any,
    other_clinic: Any,
    outsider: Any,
) -> None:
    session = lipolytic_session(clinic, staff["practitioner"], consented, lipolytic)
    client = client_as("practitioner")
    url = reverse("care:vial_add", args=[session.pk])
    page = client.get(reverse("care:session", args=[session.pk])).content.decode()
    assert f'value="open:{lipolytic.pk}"' in page
    response = client.post(url, {"vial": "container:not-a-uuid"}, **HTMX)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="packs-error"' in body
    assert "Choose an opened vial or a lot to open one from." in body
    # Another clinic's lot is not a choice.
    theirs = receive(other_clinic, outsider, product="caffeine-deoxycholate", lot_number="X9")
    response = client.post(url, {"vial": f"open:{theirs.pk}"}, **HTMX)
    assert response.status_code == 400
    assert not Container.objects.filter(lot=theirs).exists()
    assert ChartEntry.objects.filter(session=session).count() == 2
    response = client.post(url, {"vial": f"open:{lipolytic.pk}"}, **HTMX)
    assert response.status_code == 200
    assert "use by" in response.content.decode()
    row = SessionVial.objects.get(session=session)
    response = client.post(reverse("care:vial_remove", args=[row.pk]), **HTMX)
    assert response.status_code == 200
    assert not SessionVial.objects.exists()


def test_the_migration_gives_sessions_signed_before_it_their_modalities(
    clinic: Any, staff: Any, consented: Any, serum: Any
) -> None:
    """Sessions signed before modalities were charted: the backfill reads their entries'
    techniques, a fractional laser as ablative (the stricter reading)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("mesochart.care.migrations.0006_energy_modalities_vials")
    session = sign_laser(clinic, staff, consented, serum, "fractional-laser-non-ablative", 40)
    ChartEntry.objects.filter(session=session).update(modality="")
    TreatmentSession.objects.filter(pk=session.pk).update(charted_modalities=[])
    unsigned = laser_session(
        clinic, staff["practitioner"], consented, serum, "fractional-laser-non-ablative"
    )
    migration.backfill(apps, None)
    session.refresh_from_db()
    unsigned.refresh_from_db()
    assert session.charted_modalities == ["fractional-laser-ablative"]
    assert unsigned.charted_modalities == []
