from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from mesochart.stock.models import MixturePreparation, MovementKind, StockMovement
from mesochart.stock.recall import rows_for_lot

pytestmark = pytest.mark.django_db


def test_seed_scale_writes_exactly_n_administrations_with_mixtures_and_indexes():
    out, err = io.StringIO(), io.StringIO()
    call_command("seed-scale", administrations=3000, clinics=2, stdout=out, stderr=err)
    assert StockMovement.objects.filter(kind=MovementKind.ADMINISTERED).count() == 3000
    assert MixturePreparation.objects.exists()
    mixed = StockMovement.objects.filter(kind=MovementKind.MIXED).select_related("lot").first()
    assert mixed is not None
    rows = rows_for_lot(mixed.organisation_id, mixed.lot.lot_number)
    assert any(r.via.startswith("mixture") for r in rows)
    assert "3,000 administrations" in out.getvalue()
    assert "administrations" in err.getvalue() and "100.0%" in err.getvalue()
    from django.db import connection

    with connection.cursor() as cursor:
        names = {
            c
            for c, info in connection.introspection.get_constraints(
                cursor, StockMovement._meta.db_table
            ).items()
            if info["index"]
        }
    assert {"movement_lot_kind_idx", "movement_prep_kind_idx", "movement_patient_idx"} <= names


def test_seed_scale_patients_builds_a_chain_with_varied_accented_people_and_match_keys():
    from mesochart.patients import keys
    from mesochart.patients.models import Patient

    out = io.StringIO()
    call_command("seed-scale", patients=300, clinics=3, quiet=True, stdout=out)
    patients = list(Patient.objects.all())
    assert len(patients) == 300
    assert "300 patients" in out.getvalue()
    assert len({p.clinic_id for p in patients}) == 3
    assert len({p.mrn for p in patients}) == 300
    assert any(keys.fold(p.family_name) != p.family_name.lower() for p in patients)
    assert len({(p.given_name, p.family_name) for p in patients}) > 100
    for p in patients:
        assert p.email.isascii() and "@" in p.email and p.phone.startswith("+44 7")
        assert p.name_key == keys.name_key(p.family_name, p.given_name)
        assert p.phone_key == keys.phone_key(p.phone) and p.email_key == keys.email_key(p.email)
    org = patients[0].organisation
    org.refresh_from_db()
    assert org.next_mrn == 301


def test_seed_scale_without_patients_or_administrations_is_refused():
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("seed-scale", stderr=err)
    assert "--patients" in err.getvalue()


def test_seed_scale_sessions_have_their_follow_ups_and_some_photos():
    from mesochart.care.models import FollowUp, FollowUpKind, TreatmentSession
    from mesochart.outcomes.models import Photo
    from mesochart.protocols import load_library

    call_command(
        "seed-scale", administrations=2000, clinics=2, stdout=io.StringIO(), stderr=io.StringIO()
    )
    refs = set(
        StockMovement.objects.filter(kind=MovementKind.ADMINISTERED).values_list(
            "session_ref", flat=True
        )
    )
    sessions = {s.pk: s for s in TreatmentSession.objects.all()}
    assert refs == set(sessions)
    session = next(iter(sessions.values()))
    assert session.status == "signed" and session.protocol in load_library().protocols
    # Each administration's patient is its session's patient.
    movement = StockMovement.objects.filter(session_ref=session.pk).first()
    assert movement.patient_id == session.patient_id
    early = load_library().followups["early_check_days"].number
    check = FollowUp.objects.get(session=session, kind=FollowUpKind.EARLY_CHECK)
    assert (check.due - session.performed_on).days == int(early)
    assert FollowUp.objects.count() == 2 * len(sessions)
    photos = Photo.objects.count()
    assert 0.1 * len(sessions) < photos < 0.5 * len(sessions)
