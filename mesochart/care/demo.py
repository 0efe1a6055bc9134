"""Demo consents for one clinic: the default templates, and treatment and photo
consents signed on screen for several patients.

Idempotent: templates are keyed by title, and a patient who already has a
consent of a kind is left alone. Everything goes through the services.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from PIL import Image, ImageDraw

from mesochart.accounts.models import Clinic, Membership, Role, User
from mesochart.patients.models import Patient

from .models import ConsentKind, PhotoUse, SignedConsent, SignerRole, SignMethod
from .services import consents

# (patient index, photo uses) for the patients who get consents; the rest have none,
# so the red banner shows on their chart.
DEMO_PHOTO_USES: list[list[str]] = [
    [PhotoUse.RECORD_ONLY],
    [PhotoUse.RECORD_ONLY, PhotoUse.TEACHING],
    [PhotoUse.RECORD_ONLY, PhotoUse.TEACHING, PhotoUse.MARKETING],
    [PhotoUse.RECORD_ONLY],
    [PhotoUse.RECORD_ONLY, PhotoUse.TEACHING],
    [PhotoUse.RECORD_ONLY],
]


def signature_png(seed: str, width: int = 600, height: int = 200) -> bytes:
    """A signature-like squiggle, different per ``seed`` (for demos and tests)."""
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    phase = sum(ord(c) for c in seed) % 17
    points = [
        (
            40 + x * (width - 80) / 120,
            height / 2 + 45 * math.sin((x + phase) / 6) * math.cos((x + phase) / 17),
        )
        for x in range(121)
    ]
    draw.line(points, fill=(17, 17, 17, 255), width=3, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _witness(clinic: Clinic, actor: User) -> User:
    membership = (
        Membership.objects.filter(clinic=clinic, role=Role.PRACTITIONER, is_active=True)
        .select_related("user")
        .first()
    )
    return membership.user if membership else actor


def load_care_demo(clinic: Clinic, actor: User, patients: Sequence[Patient]) -> int:
    """Default templates, then treatment and photo consents for the first few
    ``patients``. Returns how many consents were signed now (0 on a second run)."""
    signed = 0
    with transaction.atomic():
        templates = {t.kind: t for t in consents.ensure_default_templates(clinic, actor)}
        witness = _witness(clinic, actor)
        for patient, uses in zip(patients, DEMO_PHOTO_USES, strict=False):
            have = set(SignedConsent.objects.filter(patient=patient).values_list("kind", flat=True))
            for kind in (ConsentKind.TREATMENT, ConsentKind.PHOTO):
                if kind in have:
                    continue
                version = templates[kind].current_version()
                assert version is not None
                consents.do_sign_consent(
                    actor,
                    clinic,
                    patient,
                    version,
                    signer_name=patient.full_name,
                    signer_role=SignerRole.PATIENT,
                    method=SignMethod.ON_SCREEN,
                    signature_png=signature_png(patient.full_name),
                    photo_uses=uses if kind == ConsentKind.PHOTO else (),
                    witness=witness,
                )
                signed += 1
    return signed


# --- demo treatment sessions -------------------------------------------------------------

# (protocol, lot number, brush, zones and points per zone). Volumes and needles are
# typical charting values for a demo, not recommendations; each session is checked by
# the engine like any other and only signed when nothing stands in the way.
DEMO_SESSIONS: list[tuple[str, str, dict[str, str], list[tuple[str, int]]]] = [
    (
        "skin-revitalisation",
        "DEMO-NXV-118",
        {
            "technique": "papule",
            "volume_ml": "0.02",
            "depth_mm": "1.5",
            "needle_gauge": "32",
            "needle_length_mm": "4",
        },
        [("forehead", 6), ("cheek_left", 8), ("cheek_right", 8)],
    ),
    (
        "skin-booster",
        "DEMO-HSB-2407",
        {
            "technique": "microdroplet",
            "volume_ml": "0.01",
            "depth_mm": "1",
            "needle_gauge": "30",
            "needle_length_mm": "4",
        },
        [("cheek_left", 10), ("cheek_right", 10), ("neck", 12)],
    ),
    (
        "submental-dca",
        "DEMO-DCA-5521",
        {
            "technique": "point",
            "volume_ml": "0.2",
            "depth_mm": "6",
            "needle_gauge": "30",
            "needle_length_mm": "13",
        },
        [("submental", 20)],
    ),
]
DEMO_NOTE = "Demo session"


def _prescriber(clinic: Clinic) -> Membership | None:
    return (
        Membership.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True)
        .select_related("user", "clinic")
        .first()
    )


def load_session_demo(clinic: Clinic, actor: User, patients: Sequence[Patient]) -> int:
    """Signed sessions across protocols for patients with a treatment consent, each
    charted point by point on the map and signed through the services (stock consumed,
    follow-ups created); a prescription-only protocol is prescribed by the clinic's
    prescriber first. Returns how many were signed now (0 on a second run)."""
    from datetime import timedelta

    from mesochart.library.services import library_for
    from mesochart.patients.screening import engine_patient
    from mesochart.protocols import screen
    from mesochart.stock.models import Lot

    from . import maps
    from .models import SessionStatus, TreatmentSession
    from .services import charting, check, lifecycle, plans, signing

    signer = _witness(clinic, actor)
    membership = Membership.objects.get(user=signer, clinic=clinic)
    prescriber = _prescriber(clinic)
    signed = 0
    consenting = [
        p
        for p in patients
        if SignedConsent.objects.filter(patient=p, kind=ConsentKind.TREATMENT).exists()
    ]
    library = library_for(clinic)
    today = clinic.today()
    used = set(
        TreatmentSession.objects.filter(patient__in=consenting, notes=DEMO_NOTE).values_list(
            "patient_id", flat=True
        )
    )
    done = set(
        TreatmentSession.objects.filter(patient__in=consenting, notes=DEMO_NOTE).values_list(
            "protocol", flat=True
        )
    )
    for protocol, lot_number, brush, zones in DEMO_SESSIONS:
        if protocol in done:
            continue
        needs_rx = plans.needs_prescription(library, protocol)
        if needs_rx and prescriber is None:
            continue
        # The first consenting patient the protocol suits (screening without a finding).
        patient = next(
            (
                p
                for p in consenting
                if p.pk not in used
                and screen(engine_patient(p), protocol, today, library=library).verdict == "ok"
            ),
            None,
        )
        if patient is None:
            continue
        used.add(patient.pk)
        lot = Lot.objects.filter(clinic=clinic, lot_number=lot_number).first()
        if lot is None:
            continue
        with transaction.atomic():
            if needs_rx and prescriber is not None:
                proto = library.protocols[protocol]
                limits = plans.label_limits(library, protocol)
                plans.do_prescribe(
                    prescriber.user,
                    prescriber,
                    patient,
                    protocol,
                    plans.PrescriptionDraft(
                        products=tuple(
                            sorted(plans.prescription_products(library, proto.products))
                        ),
                        zones=tuple(z for z, _n in zones),
                        max_volume_ml=Decimal(str(limits["max_volume_ml"].number))
                        if "max_volume_ml" in limits
                        else None,
                        max_points=int(limits["max_points"].number)
                        if "max_points" in limits
                        else None,
                        sessions=1,
                        valid_until=today + timedelta(days=30),
                        notes="Demo prescription.",
                    ),
                )
            session = lifecycle.do_create_session(
                signer,
                clinic,
                patient,
                protocol=protocol,
                scheduled_for=today,
                notes=DEMO_NOTE,
            )
            session = lifecycle.do_start_session(signer, session)
            charting.do_set_brush(
                signer,
                session,
                charting.Brush(
                    kind="injection",
                    lot=lot,
                    technique=brush["technique"],
                    volume_ml=Decimal(brush["volume_ml"]),
                    depth_mm=Decimal(brush["depth_mm"]),
                    needle_gauge=int(brush["needle_gauge"]),
                    needle_length_mm=Decimal(brush["needle_length_mm"]),
                ),
            )
            for zone, count in zones:
                cx, cy = maps.zone_centroid("face", zone)
                clicks = []
                for i in range(count):
                    # A small grid around the zone's centre, kept inside the zone.
                    x = cx + ((i % 4) - 1.5) * 0.012
                    y = cy + ((i // 4) - 1) * 0.01
                    if maps.zone_at("face", x, y) != zone:
                        x, y = cx, cy
                    clicks.append(charting.MapPoint("face", x, y))
                charting.do_add_points(signer, session, clicks)
            if check.run_check(session).blocking:
                lifecycle.do_cancel_session(
                    signer, session, "Demo: the safety check found a contraindication."
                )
                continue
            signing.do_sign_session(signer, membership, session)
            signed += 1
    # One session waiting to start today, for the next consenting patient.
    rest = [p for p in consenting if p.pk not in used]
    planned = TreatmentSession.objects.filter(
        clinic=clinic, status=SessionStatus.PLANNED, notes=DEMO_NOTE
    )
    if rest and not planned.exists():
        lifecycle.do_create_session(
            signer, clinic, rest[0], protocol="skin-booster", scheduled_for=today, notes=DEMO_NOTE
        )
    return signed
