"""Every consent write (atomic and audited) and the queries other modules call.

``consent_status``, ``missing_for_protocol`` and ``consent_codes`` are what the
session sign-off block and the photo module ask; see docs/consent.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from mesochart.accounts.models import Clinic, Membership, User
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput
from mesochart.imaging import ImageError, open_image, verify_image
from mesochart.patients.models import Patient
from mesochart.protocols import load_library

from ..models import (
    ConsentKind,
    ConsentTemplate,
    ConsentTemplateVersion,
    PhotoUse,
    SignedConsent,
    SignerRole,
    SignMethod,
)

SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MIN_SIDE, SIGNATURE_MAX_SIDE = 50, 4000
SCAN_MAX_BYTES = 8 * 1024 * 1024
SCAN_TYPES = {  # magic bytes -> (content type, file extension)
    b"%PDF-": ("application/pdf", "pdf"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- templates ---------------------------------------------------------------


def _check_protocol(protocol: str) -> None:
    if protocol and protocol not in load_library().protocols:
        raise InvalidInput(f"Unknown protocol code {protocol!r}", field="protocol")


def _clean_text(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("The consent text may not be empty", field="text")
    return text


def do_create_template(
    actor: User, clinic: Clinic, *, kind: str, protocol: str, title: str, text: str
) -> ConsentTemplate:
    if kind not in ConsentKind.values:
        raise InvalidInput(f"Unknown consent kind {kind!r}", field="kind")
    _check_protocol(protocol)
    if kind == ConsentKind.PHOTO and protocol:
        raise InvalidInput("A photo consent applies to every protocol", field="protocol")
    title = (title or "").strip()
    if not title:
        raise InvalidInput("A template needs a title", field="title")
    text = _clean_text(text)
    with transaction.atomic():
        if ConsentTemplate.objects.filter(clinic=clinic, title__iexact=title).exists():
            raise InvalidInput(f"A template called {title!r} exists already", field="title")
        template = ConsentTemplate.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            kind=kind,
            protocol=protocol,
            title=title,
            created_by=actor,
        )
        ConsentTemplateVersion.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            template=template,
            number=1,
            text=text,
            created_by=actor,
        )
        record(
            "consent.template_create",
            actor=actor,
            clinic=clinic,
            obj=template,
            details={"kind": kind, "protocol": protocol, "title": title, "version": 1},
        )
    return template


def do_new_template_version(
    actor: User, clinic: Clinic, template: ConsentTemplate, text: str
) -> ConsentTemplateVersion:
    """A new version; earlier versions and everything signed against them stay as they are."""
    text = _clean_text(text)
    with transaction.atomic():
        locked = ConsentTemplate.objects.select_for_update().get(pk=template.pk, clinic=clinic)
        current = locked.current_version()
        if current is not None and current.text == text:
            raise InvalidInput("The text is unchanged: no new version was made", field="text")
        version = ConsentTemplateVersion.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            template=locked,
            number=(current.number if current else 0) + 1,
            text=text,
            created_by=actor,
        )
        record(
            "consent.template_version",
            actor=actor,
            clinic=clinic,
            obj=locked,
            details={"version": version.number, "sha256": text_sha256(text)},
        )
    return version


# --- signing -------------------------------------------------------------------


def decode_signature(data: str | bytes | None) -> bytes:
    """PNG bytes from a canvas data URL (or raw PNG bytes); ``InvalidInput`` naming
    the ``signature`` field when it is missing, not a PNG, blank or of an odd size."""
    if not data:
        raise InvalidInput("Draw the signature before saving", field="signature")
    if isinstance(data, str):
        if not data.startswith(DATA_URL_PREFIX):
            raise InvalidInput("The signature is not a PNG image", field="signature")
        encoded = data[len(DATA_URL_PREFIX) :]
        if len(encoded) > SIGNATURE_MAX_BYTES * 4 // 3 + 4:
            raise InvalidInput("The signature image is too large", field="signature")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("The signature data is damaged", field="signature") from None
    else:
        raw = data
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise InvalidInput("The signature image is too large", field="signature")
    if not raw.startswith(PNG_MAGIC):
        raise InvalidInput("The signature is not a PNG image", field="signature")
    try:
        opened = open_image(raw, max_pixels=settings.IMAGE_MAX_PIXELS)
    except ImageError as exc:
        if exc.code == "too_large":
            raise InvalidInput(
                f"The signature image is too large: {exc.message}", field="signature"
            ) from None
        raise InvalidInput("The signature image is damaged", field="signature") from None
    try:
        with opened as image:
            if image.format != "PNG":
                raise InvalidInput("The signature is not a PNG image", field="signature")
            width, height = image.size
            if not (
                SIGNATURE_MIN_SIDE <= width <= SIGNATURE_MAX_SIDE
                and SIGNATURE_MIN_SIDE <= height <= SIGNATURE_MAX_SIDE
            ):
                raise InvalidInput(
                    f"The signature image is {width}x{height} pixels; expected between "
                    f"{SIGNATURE_MIN_SIDE} and {SIGNATURE_MAX_SIDE} on each side",
                    field="signature",
                )
            image.load()
            extrema = cast("tuple[tuple[int, int], ...]", image.convert("RGBA").getextrema())
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise InvalidInput("The signature image is damaged", field="signature") from None
    if all(low == high for low, high in extrema):
        raise InvalidInput("The signature is blank: draw it before saving", field="signature")
    return raw


def check_scan(scan: UploadedFile | None) -> tuple[bytes, str, str]:
    """(content, content type, extension) of a scanned paper consent, checked by its bytes."""
    if scan is None:
        raise InvalidInput("Attach the scanned, signed paper consent", field="scan")
    if scan.size is not None and scan.size > SCAN_MAX_BYTES:
        raise InvalidInput(
            f"The scan is larger than {SCAN_MAX_BYTES // (1024 * 1024)} MB", field="scan"
        )
    content = scan.read(SCAN_MAX_BYTES + 1)
    if len(content) > SCAN_MAX_BYTES:
        raise InvalidInput(
            f"The scan is larger than {SCAN_MAX_BYTES // (1024 * 1024)} MB", field="scan"
        )
    found = next((kind for magic, kind in SCAN_TYPES.items() if content.startswith(magic)), None)
    if found is None:
        raise InvalidInput("The scan must be a PDF, JPEG or PNG file", field="scan")
    content_type, ext = found
    if content_type != "application/pdf":
        _check_scan_image(content)
    elif b"%%EOF" not in content[-2048:]:
        raise InvalidInput("The scanned PDF is incomplete", field="scan")
    return content, content_type, ext


def _check_scan_image(content: bytes) -> None:
    """Decode the whole scan (a cut-off file is refused, not kept), within the pixel and
    memory limits of the settings."""
    try:
        verify_image(
            content,
            max_pixels=settings.IMAGE_MAX_PIXELS,
            memory_budget=settings.IMAGE_MEMORY_BUDGET_MB * 1024 * 1024,
        )
    except ImageError as exc:
        if exc.code == "truncated":
            raise InvalidInput(
                "The scanned image is incomplete: the file is cut short or damaged. Scan it again",
                field="scan",
            ) from None
        if exc.code == "not_an_image":
            raise InvalidInput("The scanned image is damaged", field="scan") from None
        raise InvalidInput(f"The scanned image was refused: {exc.message}", field="scan") from None


def _clean_photo_uses(kind: str, uses: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(uses))
    if kind != ConsentKind.PHOTO:
        if chosen:
            raise InvalidInput("Photo uses apply to photo consents only", field="photo_uses")
        return []
    unknown = [u for u in chosen if u not in PhotoUse.values]
    if unknown:
        raise InvalidInput(f"Unknown photo use {unknown[0]!r}", field="photo_uses")
    if not chosen:
        raise InvalidInput(
            "Tick what the photos may be used for (at least the clinical record)",
            field="photo_uses",
        )
    return [u for u in PhotoUse.values if u in chosen]


def do_sign_consent(
    actor: User,
    clinic: Clinic,
    patient: Patient,
    template_version: ConsentTemplateVersion,
    *,
    signer_name: str,
    signer_role: str,
    method: str,
    signature_png: str | bytes | None = None,
    scan_file: UploadedFile | None = None,
    photo_uses: Iterable[str] = (),
    witness: User | None = None,
) -> SignedConsent:
    if patient.clinic_id != clinic.pk or template_version.clinic_id != clinic.pk:
        raise InvalidInput("The patient and the template must belong to this clinic")
    template = template_version.template
    signer_name = (signer_name or "").strip()
    if not signer_name:
        raise InvalidInput("Enter the name of the person signing", field="signer_name")
    if signer_role not in SignerRole.values:
        raise InvalidInput("Choose who signs: the patient or a guardian", field="signer_role")
    witness = witness or actor
    if not Membership.objects.filter(user=witness, clinic=clinic, is_active=True).exists():
        raise InvalidInput("The witness must be a member of this clinic's staff", field="witness")
    uses = _clean_photo_uses(template.kind, photo_uses)
    signature: bytes | None = None
    scan: tuple[bytes, str, str] | None = None
    if method == SignMethod.ON_SCREEN:
        signature = decode_signature(signature_png)
    elif method == SignMethod.PAPER_SCAN:
        scan = check_scan(scan_file)
    else:
        raise InvalidInput("Choose how the consent was signed", field="method")

    with transaction.atomic():
        consent = SignedConsent(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            template_version=template_version,
            kind=template.kind,
            protocol=template.protocol,
            title=template.title,
            text=template_version.text,
            text_sha256=text_sha256(template_version.text),
            signer_name=signer_name,
            signer_role=signer_role,
            witness=witness,
            signed_at=timezone.now(),
            method=method,
            photo_uses=uses,
            created_by=actor,
        )
        if signature is not None:
            consent.signature.save("signature.png", ContentFile(signature), save=False)
        if scan is not None:
            consent.scan.save(f"scan.{scan[2]}", ContentFile(scan[0]), save=False)
            consent.scan_content_type = scan[1]
        consent.save(force_insert=True)
        from ..pdf import render_consent_pdf

        consent.pdf.save("consent.pdf", ContentFile(render_consent_pdf(consent)), save=False)
        consent.save(update_fields=["pdf"])
        record(
            "consent.sign",
            actor=actor,
            clinic=clinic,
            obj=patient,
            details={
                "consent": str(consent.pk),
                "kind": consent.kind,
                "protocol": consent.protocol,
                "template_version": template_version.number,
                "sha256": consent.text_sha256,
                "method": method,
                "photo_uses": uses,
            },
        )
    return consent


def do_revoke_consent(
    actor: User, clinic: Clinic, consent: SignedConsent, reason: str
) -> list[SignedConsent]:
    """Revoke at once. Every kind is revocable (a patient may withdraw consent to
    treatment too; what was done before stays documented). Revoking a photo
    consent also revokes the patient's earlier photo consents still in force, so
    an older one cannot silently take over. Returns the consents revoked."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the consent is revoked", field="reason")
    with transaction.atomic():
        locked = SignedConsent.objects.select_for_update().get(pk=consent.pk, clinic=clinic)
        if locked.revoked_at is not None:
            raise Conflict("This consent was revoked already", field="reason")
        now = timezone.now()
        targets = [locked]
        if locked.kind == ConsentKind.PHOTO:
            targets += list(
                SignedConsent.objects.select_for_update()
                .filter(
                    patient_id=locked.patient_id,
                    kind=ConsentKind.PHOTO,
                    revoked_at__isnull=True,
                    signed_at__lte=locked.signed_at,
                )
                .exclude(pk=locked.pk)
            )
        for target in targets:
            target.revoked_at = now
            target.revoked_by = actor
            target.revocation_reason = reason
            target.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
        record(
            "consent.revoke",
            actor=actor,
            clinic=clinic,
            obj=locked.patient,
            details={
                "consent": str(locked.pk),
                "kind": locked.kind,
                "also_revoked": [str(t.pk) for t in targets[1:]],
                "reason": reason,
            },
        )
    consent.refresh_from_db()
    return targets


# --- queries (sign-off block, photo module, safety engine input) --------------


def valid_consents(patient: Patient, on: datetime | None = None) -> QuerySet[SignedConsent]:
    """Consents of ``patient`` in force at ``on`` (default: now): signed by then, not revoked."""
    at = on or timezone.now()
    return SignedConsent.objects.filter(patient=patient, signed_at__lte=at).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=at)
    )


def off_label_needed(protocol_code: str) -> bool:
    protocol = load_library().protocols.get(protocol_code)
    return protocol is not None and protocol.label_status == "off_label"


@dataclass(frozen=True)
class ConsentState:
    """What the patient's consents in force allow for one protocol (from one query)."""

    treatment: bool
    off_label_needed: bool
    off_label: bool
    photo: bool
    photo_uses: list[str]
    codes: list[str]

    @property
    def missing(self) -> list[str]:
        """Consent codes the sign-off of a session of the protocol still lacks."""
        missing = []
        if not self.treatment:
            missing.append(ConsentKind.TREATMENT.value)
        if self.off_label_needed and not self.off_label:
            missing.append(ConsentKind.OFF_LABEL.value)
        return missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "treatment": self.treatment,
            "off_label_needed": self.off_label_needed,
            "off_label": self.off_label,
            "photo": {"valid": self.photo, "uses": self.photo_uses},
        }


def consent_state(patient: Patient, protocol_code: str, on: datetime | None = None) -> ConsentState:
    """The consents in force at ``on`` (default: now) for ``protocol_code`` (one query).
    Treatment and off-label consents count when made for this protocol or for all; the
    newest photo consent says which photo uses are agreed."""
    kinds: dict[str, bool] = {ConsentKind.TREATMENT: False, ConsentKind.OFF_LABEL: False}
    photo: SignedConsent | None = None
    for consent in valid_consents(patient, on).only("kind", "protocol", "photo_uses", "signed_at"):
        if consent.kind == ConsentKind.PHOTO:
            if photo is None or consent.signed_at > photo.signed_at:
                photo = consent
        elif consent.protocol in ("", protocol_code):
            kinds[consent.kind] = True
    codes = {k for k, v in kinds.items() if v}
    if photo is not None:
        codes.add(ConsentKind.PHOTO)
    return ConsentState(
        treatment=kinds[ConsentKind.TREATMENT],
        off_label_needed=off_label_needed(protocol_code),
        off_label=kinds[ConsentKind.OFF_LABEL],
        photo=photo is not None,
        photo_uses=list(photo.photo_uses) if photo else [],
        codes=[k for k in ConsentKind.values if k in codes],
    )


def consent_status(
    patient: Patient, protocol_code: str, on: datetime | None = None
) -> dict[str, Any]:
    """``{"treatment": bool, "off_label_needed": bool, "off_label": bool,
    "photo": {"valid": bool, "uses": [...]}}`` for ``protocol_code`` at ``on``."""
    return consent_state(patient, protocol_code, on).as_dict()


def missing_for_protocol(
    patient: Patient, protocol_code: str, on: datetime | None = None
) -> list[str]:
    """Consent codes the sign-off of a ``protocol_code`` session still lacks."""
    return consent_state(patient, protocol_code, on).missing


def consent_codes(
    patient: Patient, on: datetime | None = None, protocol_code: str | None = None
) -> list[str]:
    """The contract vocabulary (``treatment``, ``off_label``, ``photo``) for the
    safety engine's ``consents`` input. With ``protocol_code``, treatment and
    off-label consents made for another protocol do not count."""
    codes = set()
    for kind, protocol in valid_consents(patient, on).values_list("kind", "protocol"):
        if kind == ConsentKind.PHOTO or protocol_code is None or protocol in ("", protocol_code):
            codes.add(kind)
    return [k for k in ConsentKind.values if k in codes]


def templates_for(clinic: Clinic) -> QuerySet[ConsentTemplate]:
    return ConsentTemplate.objects.filter(clinic=clinic)


def ensure_default_templates(clinic: Clinic, actor: User) -> list[ConsentTemplate]:
    """The default templates of ``clinic``, created when missing (idempotent, by title)."""
    from ..defaults import DEFAULT_TEMPLATES

    templates = []
    for kind, protocol, title, text in DEFAULT_TEMPLATES:
        existing = ConsentTemplate.objects.filter(clinic=clinic, title=title).first()
        if existing is None:
            existing = do_create_template(
                actor, clinic, kind=kind, protocol=protocol, title=title, text=text
            )
        templates.append(existing)
    return templates
