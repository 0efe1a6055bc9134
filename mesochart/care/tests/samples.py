"""Objects of ``clinic`` for every id parameter of the care URLs (see the URL walker)."""

from __future__ import annotations

from typing import Any

from mesochart.care.models import FollowUp, Prescription, SessionItem, SessionPack
from mesochart.care.services import charting, consents, plans, signing
from mesochart.sterility.tests.factories import (
    make_item_lot,
    make_pack,
    make_steriliser,
    released_cycle,
)

from .factories import sign
from .session_factories import dca_session, receive


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    templates = consents.ensure_default_templates(clinic, staff["manager"])
    consent = sign(clinic, staff["practitioner"], patient)
    lot = receive(clinic, staff["manager"], lot_number="WALK-1")
    session = dca_session(clinic, staff["prescriber"], patient, lot, points=1)
    pack = make_pack(
        released_cycle(
            make_steriliser(clinic, staff["manager"], name="Care walker", serial="SN-CW"),
            staff["manager"],
        ),
        staff["manager"],
    )
    charting.do_add_pack(staff["prescriber"], session, pack.code)
    item_lot = make_item_lot(clinic, staff["manager"], lot="WALK-ITEM")
    charting.do_add_item(staff["prescriber"], session, item_lot)
    signed = dca_session(clinic, staff["prescriber"], patient, lot, points=1)
    from mesochart.accounts.models import Membership

    signed = signing.do_sign_session(
        staff["prescriber"], Membership.objects.get(user=staff["prescriber"]), signed
    )
    plan = plans.do_create_plan(
        staff["prescriber"],
        clinic,
        patient,
        protocol="skin-booster",
        start=clinic.today(),
    )
    return {
        "template_id": templates[0].pk,
        "consent_id": consent.pk,
        "session_id": session.pk,
        "plan_id": plan.pk,
        "entry_id": session.entries.first().pk,  # type: ignore[union-attr]
        "lot_id": lot.pk,
        "row_id": SessionPack.objects.get(session=session).pk,
        "follow_up_id": FollowUp.objects.filter(session=signed).first().pk,  # type: ignore[union-attr]
        "item_id": SessionItem.objects.get(session=session).pk,
        "prescription_id": Prescription.objects.filter(patient=patient).first().pk,  # type: ignore[union-attr]
    }
