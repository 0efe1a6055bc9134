from __future__ import annotations

import pytest

from mesochart.care.models import SignMethod

from .factories import pdf_text, read, sign

pytestmark = pytest.mark.django_db


def test_the_pdf_is_a_real_pdf_with_patient_text_hash_and_people(clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    data = read(consent.pdf)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Elena Moreau" in text
    assert patient.mrn in text
    assert "1985-04-02" in text
    assert consent.text_sha256 in text.replace("\n", "")
    assert "Riverside" in text
    assert "Consent to treatment" in text
    assert "Practitioner" in text  # the witness (display name)
    assert b"/Subtype /Image" in data or b"/Subtype/Image" in data  # the signature


def test_a_scanned_consent_pdf_says_where_the_signature_is(clinic, staff, patient, templates):
    from django.core.files.uploadedfile import SimpleUploadedFile

    consent = sign(
        clinic,
        staff["assistant"],
        patient,
        method=SignMethod.PAPER_SCAN,
        signature_png=None,
        scan_file=SimpleUploadedFile("f.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
    )
    text = pdf_text(read(consent.pdf))
    assert "scanned paper form" in text
    assert "Elena Moreau" in text


def test_rendering_a_pdf_leaves_pillow_strict_about_truncated_images(
    clinic, staff, patient, templates
):
    from PIL import ImageFile

    sign(clinic, staff["practitioner"], patient)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
