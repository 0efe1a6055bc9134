from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from mesochart.audit.models import AuditEvent
from mesochart.care.demo import signature_png
from mesochart.care.models import (
    ConsentKind,
    ConsentTemplateVersion,
    ImmutableError,
    SignedConsent,
    SignMethod,
)
from mesochart.care.services import consents
from mesochart.conftest import create_patient
from mesochart.errors import Conflict, InvalidInput
from mesochart.imaging.tests.helpers import astronaut, decompression_bomb, encode

from .factories import read, sign

pytestmark = pytest.mark.django_db


def png(width: int, height: int, blank: bool = False) -> bytes:
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    if not blank:
        image.putpixel((width // 2, height // 2), (0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --- templates ---------------------------------------------------------------


def test_default_templates_are_created_once(clinic, staff):
    first = consents.ensure_default_templates(clinic, staff["manager"])
    second = consents.ensure_default_templates(clinic, staff["manager"])
    assert [t.pk for t in first] == [t.pk for t in second]
    assert {t.kind for t in first} == {"treatment", "off_label", "photo"}
    assert ConsentTemplateVersion.objects.filter(clinic=clinic).count() == 3


def test_off_label_default_text_explains_use_outside_the_licence(templates):
    text = templates["off_label"].current_version().text
    assert "outside the terms of its licence" in text


def test_creating_a_template_is_audited_and_starts_at_version_one(clinic, staff):
    template = consents.do_create_template(
        staff["manager"],
        clinic,
        kind="off_label",
        protocol="contour-lipolytic",
        title="Lipolytic off-label",
        text="Text",
    )
    assert template.current_version().number == 1
    assert AuditEvent.objects.filter(
        action="consent.template_create", object_id=str(template.pk)
    ).exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "nonsense"}, "kind"),
        ({"protocol": "no-such-protocol"}, "protocol"),
        ({"kind": "photo", "protocol": "skin-booster"}, "protocol"),
        ({"title": "  "}, "title"),
        ({"text": " "}, "text"),
    ],
)
def test_bad_template_input_names_the_field(clinic, staff, kwargs, field):
    data = {"kind": "treatment", "protocol": "", "title": "T", "text": "Some text"} | kwargs
    with pytest.raises(InvalidInput) as info:
        consents.do_create_template(staff["manager"], clinic, **data)
    assert info.value.field == field


def test_a_new_version_leaves_signed_consents_unchanged(clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    old_text, old_hash = consent.text, consent.text_sha256
    version = consents.do_new_template_version(
        staff["manager"], clinic, templates["treatment"], old_text + "\nA new paragraph."
    )
    assert version.number == 2
    assert templates["treatment"].current_version() == version
    consent.refresh_from_db()
    assert (consent.text, consent.text_sha256) == (old_text, old_hash)
    assert consent.template_version.number == 1
    assert consent.template_version.text == old_text
    assert consents.consent_codes(patient) == ["treatment"]


def test_an_unchanged_text_makes_no_new_version(clinic, staff, templates):
    template = templates["treatment"]
    with pytest.raises(InvalidInput) as info:
        consents.do_new_template_version(
            staff["manager"], clinic, template, template.current_version().text
        )
    assert info.value.field == "text"
    assert template.versions.count() == 1


def test_a_template_version_cannot_be_edited_in_place(templates):
    version = templates["treatment"].current_version()
    version.text = "changed"
    with pytest.raises(ImmutableError):
        version.save()


# --- signing -------------------------------------------------------------------


def test_signing_stores_the_exact_text_and_its_sha256(clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    text = templates["treatment"].current_version().text
    assert consent.text == text
    assert consent.text_sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert consent.witness == staff["practitioner"]
    assert read(consent.signature).startswith(b"\x89PNG")
    assert read(consent.pdf)[:5] == b"%PDF-"
    event = AuditEvent.objects.get(action="consent.sign")
    assert event.details["consent"] == str(consent.pk)
    assert event.details["sha256"] == consent.text_sha256


def test_a_data_url_from_a_canvas_is_accepted(clinic, staff, patient, templates):
    from .factories import signature_data_url

    consent = sign(clinic, staff["practitioner"], patient, signature_png=signature_data_url())
    assert read(consent.signature) == signature_png("Elena Moreau")


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "data:image/jpeg;base64,/9j/4AAQ",
        "data:image/png;base64,not base64!",
        "data:image/png;base64,aGVsbG8=",
        b"GIF89a....",
        png(10, 10),
        png(5000, 60),
        png(200, 80, blank=True),
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        decompression_bomb(13500, 13500),
    ],
    ids=[
        "none",
        "empty",
        "jpeg",
        "not-base64",
        "not-png",
        "gif",
        "tiny",
        "huge",
        "blank",
        "damaged",
        "bomb",
    ],
)
def test_bad_signature_data_names_the_field_and_saves_nothing(
    clinic, staff, patient, templates, signature
):
    with pytest.raises(InvalidInput) as info:
        sign(clinic, staff["practitioner"], patient, signature_png=signature)
    assert info.value.field == "signature"
    assert not SignedConsent.objects.exists()
    assert not AuditEvent.objects.filter(action="consent.sign").exists()


def test_an_oversize_signature_is_refused(clinic, staff, patient, templates):
    with pytest.raises(InvalidInput) as info:
        sign(
            clinic,
            staff["practitioner"],
            patient,
            signature_png=b"\x89PNG\r\n\x1a\n" + b"\x00" * consents.SIGNATURE_MAX_BYTES,
        )
    assert info.value.field == "signature"
    assert "too large" in info.value.message


def scan(name: str, content: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


PDF_SCAN = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_scanned_paper_consent_is_kept(clinic, staff, patient, templates):
    consent = sign(
        clinic,
        staff["assistant"],
        patient,
        method=SignMethod.PAPER_SCAN,
        signature_png=None,
        scan_file=scan("form.pdf", PDF_SCAN, "application/pdf"),
    )
    assert consent.scan_content_type == "application/pdf"
    assert read(consent.scan) == PDF_SCAN
    assert not consent.signature


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (None, "Attach"),
        (scan("form.pdf", b"MZ\x90\x00 an executable", "application/pdf"), "PDF, JPEG or PNG"),
        (scan("form.gif", b"GIF89a" + b"\x00" * 30, "image/gif"), "PDF, JPEG or PNG"),
        (scan("form.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "image/png"), "damaged"),
        (scan("form.pdf", b"%PDF-1.4 truncated", "application/pdf"), "incomplete"),
        (
            scan("big.pdf", b"%PDF-" + b"0" * consents.SCAN_MAX_BYTES, "application/pdf"),
            "larger than",
        ),
    ],
    ids=["missing", "exe", "gif", "bad-png", "truncated-pdf", "oversize"],
)
def test_a_bad_scan_names_the_field_and_saves_nothing(
    clinic, staff, patient, templates, upload, message
):
    _refused_scan(clinic, staff, patient, upload, message)


def test_a_half_file_jpeg_scan_is_refused_as_incomplete(clinic, staff, patient, templates):
    whole = encode(astronaut(), "JPEG", quality=90)
    half = scan("form.jpg", whole[: len(whole) // 2], "image/jpeg")
    _refused_scan(clinic, staff, patient, half, "incomplete")


def test_a_decompression_bomb_scan_is_refused(clinic, staff, patient, templates):
    bomb = scan("form.png", decompression_bomb(), "image/png")  # 64 MP of black, 80 KB
    _refused_scan(clinic, staff, patient, bomb, "megapixels")
    sliver = scan("form.png", encode(np.full((1, 60000, 3), 255, np.uint8)), "image/png")
    _refused_scan(clinic, staff, patient, sliver, "60000x1")


def _refused_scan(clinic: Any, staff: Any, patient: Any, upload: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        sign(
            clinic,
            staff["assistant"],
            patient,
            method=SignMethod.PAPER_SCAN,
            signature_png=None,
            scan_file=upload,
        )
    assert info.value.field == "scan"
    assert message in info.value.message
    assert not SignedConsent.objects.exists()


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        ("treatment", {"signer_name": " "}, "signer_name"),
        ("treatment", {"signer_role": "friend"}, "signer_role"),
        ("treatment", {"method": "fax"}, "method"),
        ("treatment", {"photo_uses": ["marketing"]}, "photo_uses"),
        ("photo", {"photo_uses": []}, "photo_uses"),
        ("photo", {"photo_uses": ["billboards"]}, "photo_uses"),
    ],
)
def test_bad_signing_input_names_the_field(clinic, staff, patient, templates, kind, kwargs, field):
    with pytest.raises(InvalidInput) as info:
        sign(clinic, staff["practitioner"], patient, kind, **kwargs)
    assert info.value.field == field
    assert not SignedConsent.objects.exists()


def test_the_witness_must_work_in_the_clinic(clinic, staff, patient, templates, outsider):
    with pytest.raises(InvalidInput) as info:
        sign(clinic, staff["practitioner"], patient, witness=outsider)
    assert info.value.field == "witness"


def test_photo_uses_are_stored_in_a_fixed_order(clinic, staff, patient, templates):
    consent = sign(
        clinic, staff["practitioner"], patient, "photo", photo_uses=["marketing", "record_only"]
    )
    assert consent.photo_uses == ["record_only", "marketing"]
    status = consents.consent_status(patient, "skin-booster")
    assert status["photo"] == {"valid": True, "uses": ["record_only", "marketing"]}


# --- revocation ------------------------------------------------------------------


def test_revoking_photo_consent_takes_effect_at_once_and_is_audited(
    clinic, staff, patient, templates
):
    sign(clinic, staff["practitioner"], patient)
    photo = sign(clinic, staff["practitioner"], patient, "photo", photo_uses=["teaching"])
    assert consents.consent_codes(patient) == ["treatment", "photo"]
    consents.do_revoke_consent(staff["manager"], clinic, photo, "Patient phoned to withdraw")
    assert consents.consent_codes(patient) == ["treatment"]
    assert consents.consent_status(patient, "skin-booster")["photo"] == {
        "valid": False,
        "uses": [],
    }
    photo.refresh_from_db()
    assert photo.revoked_by == staff["manager"]
    assert photo.revocation_reason == "Patient phoned to withdraw"
    event = AuditEvent.objects.get(action="consent.revoke")
    assert event.details["consent"] == str(photo.pk)
    assert event.details["reason"] == "Patient phoned to withdraw"
    # Before the revocation, the consent was in force.
    assert "photo" in consents.consent_codes(
        patient, on=photo.signed_at + timedelta(microseconds=1)
    )


def test_revoking_a_photo_consent_also_revokes_older_ones(clinic, staff, patient, templates):
    old = sign(clinic, staff["practitioner"], patient, "photo", photo_uses=["marketing"])
    new = sign(clinic, staff["practitioner"], patient, "photo", photo_uses=["record_only"])
    revoked = consents.do_revoke_consent(staff["prescriber"], clinic, new, "No photos at all")
    assert {c.pk for c in revoked} == {old.pk, new.pk}
    assert "photo" not in consents.consent_codes(patient)


def test_treatment_consent_is_revocable_too(clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    consents.do_revoke_consent(staff["practitioner"], clinic, consent, "Changed her mind")
    assert consents.missing_for_protocol(patient, "skin-booster") == ["treatment"]


def test_revocation_needs_a_reason_and_happens_once(clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient, "photo")
    with pytest.raises(InvalidInput) as info:
        consents.do_revoke_consent(staff["manager"], clinic, consent, "  ")
    assert info.value.field == "reason"
    consent.refresh_from_db()
    assert consent.revoked_at is None
    consents.do_revoke_consent(staff["manager"], clinic, consent, "Withdrawn")
    with pytest.raises(Conflict):
        consents.do_revoke_consent(staff["manager"], clinic, consent, "Again")


# --- queries --------------------------------------------------------------------


def test_missing_for_protocol_lists_treatment_always(clinic, staff, patient, templates):
    assert consents.missing_for_protocol(patient, "skin-booster") == ["treatment"]
    sign(clinic, staff["practitioner"], patient)
    assert consents.missing_for_protocol(patient, "skin-booster") == []


def test_missing_for_protocol_lists_off_label_for_off_label_protocols(
    clinic, staff, patient, templates
):
    sign(clinic, staff["practitioner"], patient)
    assert consents.missing_for_protocol(patient, "contour-lipolytic") == ["off_label"]
    assert consents.missing_for_protocol(patient, "submental-dca") == []
    sign(clinic, staff["practitioner"], patient, "off_label")
    assert consents.missing_for_protocol(patient, "contour-lipolytic") == []
    status = consents.consent_status(patient, "contour-lipolytic")
    assert status == {
        "treatment": True,
        "off_label_needed": True,
        "off_label": True,
        "photo": {"valid": False, "uses": []},
    }


def test_a_consent_for_one_protocol_does_not_cover_another(clinic, staff, patient):
    template = consents.do_create_template(
        staff["manager"],
        clinic,
        kind="treatment",
        protocol="skin-booster",
        title="Skin booster consent",
        text="Skin booster text",
    )
    sign(clinic, staff["practitioner"], patient, template=template)
    assert consents.missing_for_protocol(patient, "skin-booster") == []
    assert consents.missing_for_protocol(patient, "hair-mesotherapy") == [
        "treatment",
        "off_label",
    ]
    assert consents.consent_codes(patient, protocol_code="hair-mesotherapy") == []
    assert consents.consent_codes(patient, protocol_code="skin-booster") == ["treatment"]


def test_valid_consents_respects_the_moment(clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    assert list(consents.valid_consents(patient, consent.signed_at - timedelta(seconds=1))) == []
    assert list(consents.valid_consents(patient)) == [consent]
    assert consents.consent_codes(patient, timezone.now() - timedelta(days=1)) == []


def test_another_patients_consents_do_not_count(clinic, staff, patient, templates):
    other = create_patient(clinic, staff["practitioner"], given_name="Ada", family_name="Byron")
    sign(clinic, staff["practitioner"], other)
    assert consents.consent_codes(patient) == []


def test_a_consent_cannot_be_signed_against_another_clinics_template(
    clinic, other_clinic, staff, patient, outsider
):
    foreign = consents.ensure_default_templates(other_clinic, outsider)[0]
    with pytest.raises(InvalidInput):
        sign(clinic, staff["practitioner"], patient, template=foreign)
    assert foreign.kind == ConsentKind.TREATMENT
