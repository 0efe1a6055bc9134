"""Helpers for the photo tests: a real face photo, signed photo consents, uploads."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import timezone
from PIL import Image

from mesochart.care.models import ConsentKind
from mesochart.care.services import consents as care_services
from mesochart.care.tests.factories import sign
from mesochart.outcomes import services


@cache
def astronaut_png() -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_with_exif() -> bytes:
    from skimage import data

    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "TrackingSoftware 1.0"  # Software
    exif[0x0132] = "2024:01:02 03:04:05"  # DateTime
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def photo_consent(clinic: Any, staff: Any, patient: Any) -> Any:
    care_services.ensure_default_templates(clinic, staff["manager"])
    return sign(clinic, staff["practitioner"], patient, ConsentKind.PHOTO)


def upload(clinic: Any, staff: Any, patient: Any, data: bytes | None = None, **kw: Any) -> Any:
    return services.do_upload_photo(
        staff["practitioner"],
        clinic,
        patient,
        kw.pop("view", "front"),
        astronaut_png() if data is None else data,
        "astronaut.png",
        **kw,
    )


# --- sessions, lots, packs and adverse events --------------------------------------
# Care's session services are not written yet: sessions are made with the ORM here.


def make_session(
    clinic: Any,
    staff: Any,
    patient: Any,
    *,
    protocol: str = "skin-booster",
    signed_days_ago: int | None = 10,
    signer: str = "practitioner",
    lots: tuple[Any, ...] = (),
    zone: str = "cheek_left",
    topical_lot: Any = None,
    preparation: Any = None,
    packs: tuple[Any, ...] = (),
) -> Any:
    from mesochart.care.models import ChartEntry, SessionPack, SessionStatus, TreatmentSession

    now = timezone.now()
    signed_at = None if signed_days_ago is None else now - timedelta(days=signed_days_ago)
    session = TreatmentSession.objects.create(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        patient=patient,
        protocol=protocol,
        scheduled_for=(signed_at or now).date(),
        status=SessionStatus.SIGNED if signed_at else SessionStatus.IN_PROGRESS,
        signed_at=signed_at,
        signed_by=staff[signer] if signed_at else None,
        created_by=staff[signer],
    )
    for lot in lots:
        ChartEntry.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            session=session,
            zone=zone,
            product=lot.product,
            lot=lot,
            created_by=staff[signer],
        )
    if topical_lot is not None or preparation is not None:
        ChartEntry.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            session=session,
            kind="microneedling",
            zone=zone,
            topical_lot=topical_lot,
            preparation=preparation,
            created_by=staff[signer],
        )
    for pack in packs:
        SessionPack.objects.create(session=session, pack=pack, added_by=staff[signer])
    return session


def make_follow_up(
    clinic: Any, session: Any, kind: str = "final_assessment", days: int = 30
) -> Any:
    from mesochart.care.models import FollowUp

    return FollowUp.objects.create(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        patient=session.patient,
        session=session,
        kind=kind,
        due=session.scheduled_for + timedelta(days=days),
    )


def make_lot(
    clinic: Any, staff: Any, number: str = "OUT-1", product: str = "ha-skin-booster"
) -> Any:
    from mesochart.stock import services as stock_services
    from mesochart.stock.models import Fridge

    fridge = Fridge.objects.filter(clinic=clinic).first() or stock_services.do_create_fridge(
        staff["manager"], clinic, "Outcomes fridge"
    )
    return stock_services.do_receive_lot(
        staff["manager"],
        clinic,
        product=product,
        lot_number=number,
        expiry=clinic.today() + timedelta(days=200),
        quantity=Decimal("10"),
        unit="syringe",
        fridge=fridge,
    )


def make_preparation(clinic: Any) -> Any:
    from mesochart.stock.models import MixturePreparation

    return MixturePreparation.objects.create(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        mixture="revitalisation-lidocaine-mix",
        prepared_at=timezone.now(),
    )


def make_packs(clinic: Any, staff: Any, count: int = 2, cycle_number: int = 1) -> list[Any]:
    from mesochart.sterility import services as sterility_services
    from mesochart.sterility.models import Steriliser
    from mesochart.sterility.tests.factories import make_steriliser, released_cycle

    steriliser = Steriliser.objects.filter(clinic=clinic).first() or make_steriliser(
        clinic, staff["manager"], name="Outcomes autoclave"
    )
    cycle = released_cycle(steriliser, staff["manager"], cycle_number)
    return list(
        sterility_services.do_create_packs(
            staff["manager"], cycle, set_name="Mesotherapy tray", contents="forceps", count=count
        )
    )


def ae_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_type": "nodule",
        "detail": "Firm 1 cm nodule at an injection point",
        "onset": timezone.localdate() - timedelta(days=5),
        "severity": "moderate",
        "ctcae_term": "Injection site reaction",
        "ctcae_grade": 2,
        "serious": False,
        "serious_criteria": [],
        "causality": "probable",
        "outcome": "not_recovered",
        "actions_taken": "",
        "antibiotics_given": False,
    }
    data.update(overrides)
    return data


def record_ae(clinic: Any, staff: Any, patient: Any, **overrides: Any) -> Any:
    return services.do_record_adverse_event(
        staff["practitioner"], clinic, patient, ae_data(**overrides)
    )
