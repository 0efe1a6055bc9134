from __future__ import annotations

import pytest

from mesochart.care.demo import load_care_demo
from mesochart.care.models import SignedConsent
from mesochart.care.services import consents
from mesochart.conftest import create_patient

pytestmark = pytest.mark.django_db


def test_the_demo_signs_treatment_and_photo_consents_once(clinic, staff):
    patients = [
        create_patient(clinic, staff["practitioner"], given_name=f"Demo{i}", family_name="Person")
        for i in range(8)
    ]
    assert load_care_demo(clinic, staff["manager"], patients) == 12
    assert load_care_demo(clinic, staff["manager"], patients) == 0
    assert SignedConsent.objects.count() == 12
    assert consents.consent_codes(patients[0]) == ["treatment", "photo"]
    assert consents.consent_codes(patients[7]) == []
    assert SignedConsent.objects.first().witness == staff["practitioner"]


def test_the_demo_signs_sessions_across_protocols_once(clinic, staff):
    from mesochart.care.demo import load_session_demo
    from mesochart.care.models import FollowUp, SessionStatus, TreatmentSession
    from mesochart.stock.demo import load_stock_demo
    from mesochart.stock.models import MovementKind, StockMovement

    patients = [
        create_patient(
            clinic, staff["practitioner"], given_name=f"Demo{i}", family_name="Person", profile={}
        )
        for i in range(8)
    ]
    load_stock_demo(clinic, staff["manager"], patients[6:])
    load_care_demo(clinic, staff["manager"], patients)
    assert load_session_demo(clinic, staff["manager"], patients) == 3
    assert load_session_demo(clinic, staff["manager"], patients) == 0
    signed = TreatmentSession.objects.filter(status=SessionStatus.SIGNED)
    assert sorted(signed.values_list("protocol", flat=True)) == [
        "skin-booster",
        "skin-revitalisation",
        "submental-dca",
    ]
    assert TreatmentSession.objects.filter(status=SessionStatus.PLANNED).count() == 1
    assert StockMovement.objects.filter(
        kind=MovementKind.ADMINISTERED, session_ref__in=signed.values("pk")
    ).exists()
    assert FollowUp.objects.filter(session__in=signed).count() >= 9
