"""Demo consents for one clinic: the default templates, and treatment and photo
consents signed on screen for several patients.

Idempotent: templates are keyed by title, and a patient who already has a
consent of a kind is left alone. Everything goes through the services.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from django.db import transaction
from PIL import Image, ImageDraw

from mesochart.accounts.models import Clinic, Membership, Role, User
from mesochart.patients.models import Patient

from . import services
from .models import ConsentKind, PhotoUse, SignedConsent, SignerRole, SignMethod

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
        templates = {t.kind: t for t in services.ensure_default_templates(clinic, actor)}
        witness = _witness(clinic, actor)
        for patient, uses in zip(patients, DEMO_PHOTO_USES, strict=False):
            have = set(SignedConsent.objects.filter(patient=patient).values_list("kind", flat=True))
            for kind in (ConsentKind.TREATMENT, ConsentKind.PHOTO):
                if kind in have:
                    continue
                version = templates[kind].current_version()
                assert version is not None
                services.do_sign_consent(
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
