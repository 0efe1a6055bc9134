from __future__ import annotations

import pytest

from mesochart.care import services
from mesochart.care.demo import load_care_demo
from mesochart.care.models import SignedConsent
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
    assert services.consent_codes(patients[0]) == ["treatment", "photo"]
    assert services.consent_codes(patients[7]) == []
    assert SignedConsent.objects.first().witness == staff["practitioner"]
