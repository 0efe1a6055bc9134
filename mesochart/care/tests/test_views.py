from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.care.models import ConsentTemplate, SignedConsent
from mesochart.care.services import consents
from mesochart.conftest import ROLES

from .factories import sign, signature_data_url

pytestmark = pytest.mark.django_db

TAKE = {"prescriber", "practitioner", "assistant"}
REVOKE = {"prescriber", "practitioner", "manager"}
VIEW = {"prescriber", "practitioner", "assistant", "manager", "auditor"}
MANAGE = {"manager"}


def take_data(templates, kind="treatment", **overrides):
    data = {
        "version": str(templates[kind].current_version().pk),
        "signer_name": "Elena Moreau",
        "signer_role": "patient",
        "method": "on_screen",
        "signature": signature_data_url(),
    }
    if kind == "photo":
        data["photo_uses"] = ["record_only", "teaching"]
    data.update(overrides)
    return data


# --- role matrix -----------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_consent_views_follow_the_role_matrix(client_as, role, clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    client = client_as(role)
    expect = {
        reverse("care:patient_consents", args=[patient.pk]): VIEW,
        reverse("care:consent_take", args=[patient.pk]): TAKE,
        reverse("care:consent_detail", args=[consent.pk]): VIEW,
        reverse("care:signature", args=[consent.pk]): VIEW,
        reverse("care:pdf", args=[consent.pk]): VIEW,
        reverse("care:template_list"): VIEW,
        reverse("care:template_detail", args=[templates["photo"].pk]): VIEW,
        reverse("care:template_create"): MANAGE,
        reverse("care:template_new_version", args=[templates["photo"].pk]): MANAGE,
    }
    for url, allowed in expect.items():
        status = client.get(url).status_code
        assert status == (200 if role in allowed else 403), (role, url, status)


@pytest.mark.parametrize("role", ROLES)
def test_only_revokers_may_revoke(client_as, role, clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient, "photo")
    response = client_as(role).post(reverse("care:revoke", args=[consent.pk]), {"reason": "asked"})
    consent.refresh_from_db()
    if role in REVOKE:
        assert response.status_code == 302
        assert consent.revoked_at is not None
    else:
        assert response.status_code == 403
        assert consent.revoked_at is None


@pytest.mark.parametrize("role", ROLES)
def test_only_takers_may_sign(client_as, role, patient, templates):
    response = client_as(role).post(
        reverse("care:consent_take", args=[patient.pk]), take_data(templates)
    )
    assert response.status_code == (302 if role in TAKE else 403)
    assert SignedConsent.objects.count() == (1 if role in TAKE else 0)


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_outsiders_get_404_everywhere(client_as, who, clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    client = client_as(who)
    urls = [
        reverse("care:patient_consents", args=[patient.pk]),
        reverse("care:consent_take", args=[patient.pk]),
        reverse("care:consent_detail", args=[consent.pk]),
        reverse("care:signature", args=[consent.pk]),
        reverse("care:pdf", args=[consent.pk]),
        reverse("care:template_detail", args=[templates["photo"].pk]),
        reverse("care:template_new_version", args=[templates["photo"].pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("care:revoke", args=[consent.pk]), {"reason": "x"}).status_code == 404
    )
    response = client.post(reverse("care:consent_take", args=[patient.pk]), take_data(templates))
    assert response.status_code == 404
    assert SignedConsent.objects.count() == 1
    # Their own template list does not show this clinic's templates.
    assert templates["photo"].title not in client.get(reverse("care:template_list")).text


def test_signing_with_another_clinics_template_version_is_404(
    client_as, clinic, other_clinic, outsider, patient, templates
):
    foreign = consents.ensure_default_templates(other_clinic, outsider)[0]
    data = take_data(templates, version=str(foreign.current_version().pk))
    response = client_as("practitioner").post(reverse("care:consent_take", args=[patient.pk]), data)
    assert response.status_code == 404
    assert not SignedConsent.objects.exists()


# --- happy paths ----------------------------------------------------------------


def test_practitioner_takes_a_treatment_consent_on_screen(client_as, patient, templates):
    client = client_as("practitioner")
    page = client.get(
        reverse("care:consent_take", args=[patient.pk]),
        {"template": templates["treatment"].pk},
    )
    assert page.status_code == 200
    assert "Consent to treatment" in page.text and "<canvas" in page.text
    response = client.post(reverse("care:consent_take", args=[patient.pk]), take_data(templates))
    consent = SignedConsent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("care:consent_detail", args=[consent.pk])
    detail = client.get(response["Location"])
    assert consent.text_sha256 in detail.text and "matches" in detail.text
    listing = client.get(reverse("care:patient_consents", args=[patient.pk]))
    assert "No valid treatment consent" not in listing.text
    assert "No valid photo consent" in listing.text


def test_assistant_uploads_a_scanned_photo_consent(client_as, patient, templates):
    data = take_data(templates, "photo", method="paper_scan", signature="")
    data["scan"] = SimpleUploadedFile("scan.jpg", _jpeg(), content_type="image/jpeg")
    response = client_as("assistant").post(reverse("care:consent_take", args=[patient.pk]), data)
    assert response.status_code == 302
    consent = SignedConsent.objects.get()
    assert consent.photo_uses == ["record_only", "teaching"]
    scan = client_as("auditor").get(reverse("care:scan", args=[consent.pk]))
    assert scan.status_code == 200 and scan["Content-Type"] == "image/jpeg"


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 180, 170)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_signature_and_pdf_are_served_privately(client_as, clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient)
    client = client_as("auditor")
    image = client.get(reverse("care:signature", args=[consent.pk]))
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    assert "no-store" in image["Cache-Control"]
    pdf = client.get(reverse("care:pdf", args=[consent.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert "attachment" in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="consent.pdf_download").count() == 1
    assert client.get(reverse("care:scan", args=[consent.pk])).status_code == 404


def test_revoking_through_the_view_updates_the_chart_at_once(
    client_as, clinic, staff, patient, templates
):
    sign(clinic, staff["practitioner"], patient)
    photo = sign(clinic, staff["practitioner"], patient, "photo")
    client = client_as("manager")
    chart = client.get(reverse("patients:chart", args=[patient.pk]))
    assert 'id="consents"' in chart.text and "No valid photo consent" not in chart.text
    response = client.post(reverse("care:revoke", args=[photo.pk]), {"reason": "Withdrawn"})
    assert response.status_code == 302
    chart = client.get(reverse("patients:chart", args=[patient.pk]))
    assert "No valid photo consent" in chart.text
    assert "No valid treatment consent" not in chart.text
    assert "consent.revoke" in chart.text  # in the chart's audit trail


def test_the_chart_shows_the_red_banner_and_links_to_take(client_as, patient, templates):
    chart = client_as("practitioner").get(reverse("patients:chart", args=[patient.pk]))
    assert "No valid treatment consent" in chart.text
    assert "No valid photo consent" in chart.text
    assert reverse("care:consent_take", args=[patient.pk]) in chart.text


def test_reception_does_not_see_the_consents_section(client_as, patient, templates):
    chart = client_as("reception").get(reverse("patients:chart", args=[patient.pk]))
    assert chart.status_code == 200
    assert 'id="consents"' not in chart.text


def test_manager_creates_a_template_and_a_new_version(client_as, clinic):
    client = client_as("manager")
    response = client.post(
        reverse("care:template_create"),
        {"kind": "off_label", "protocol": "hair-mesotherapy", "title": "Hair", "text": "v1 text"},
    )
    template = ConsentTemplate.objects.get(title="Hair")
    assert response.status_code == 302
    response = client.post(
        reverse("care:template_new_version", args=[template.pk]), {"text": "v2 text"}
    )
    assert response.status_code == 302
    assert template.current_version().text == "v2 text"
    detail = client.get(reverse("care:template_detail", args=[template.pk]))
    assert "v1 text" in detail.text and "v2 text" in detail.text


def test_manager_adds_the_default_templates(client_as, clinic):
    client = client_as("manager")
    assert client.post(reverse("care:template_defaults")).status_code == 302
    assert ConsentTemplate.objects.filter(clinic=clinic).count() == 3
    assert client_as("practitioner").post(reverse("care:template_defaults")).status_code == 403


# --- bad input: 400, the field named, nothing saved --------------------------------


@pytest.mark.parametrize(
    ("overrides", "field_text"),
    [
        ({"signature": ""}, "Signature: Draw the signature"),
        ({"signature": "data:image/png;base64,aGVsbG8="}, "Signature: The signature is not a PNG"),
        ({"signer_name": ""}, "Name of the person signing"),
        ({"method": "fax"}, "How it is signed"),
        (
            {"method": "paper_scan", "signature": ""},
            "Scanned paper form (PDF, JPEG or PNG): Attach",
        ),
    ],
)
def test_bad_take_input_is_400_naming_the_field(
    client_as, patient, templates, overrides, field_text
):
    response = client_as("practitioner").post(
        reverse("care:consent_take", args=[patient.pk]), take_data(templates, **overrides)
    )
    assert response.status_code == 400
    assert field_text in response.text
    assert not SignedConsent.objects.exists()


def test_a_wrong_scan_type_is_400_naming_the_field(client_as, patient, templates):
    data = take_data(templates, method="paper_scan", signature="")
    data["scan"] = SimpleUploadedFile("scan.pdf", b"<html>not a pdf</html>", "application/pdf")
    response = client_as("practitioner").post(reverse("care:consent_take", args=[patient.pk]), data)
    assert response.status_code == 400
    assert "Scanned paper form (PDF, JPEG or PNG): The scan must be a PDF, JPEG or PNG" in (
        response.text
    )
    assert not SignedConsent.objects.exists()


def test_an_oversize_scan_is_400(client_as, patient, templates):
    data = take_data(templates, method="paper_scan", signature="")
    data["scan"] = SimpleUploadedFile(
        "scan.pdf", b"%PDF-" + b"0" * consents.SCAN_MAX_BYTES, "application/pdf"
    )
    response = client_as("practitioner").post(reverse("care:consent_take", args=[patient.pk]), data)
    assert response.status_code == 400
    assert "larger than" in response.text
    assert not SignedConsent.objects.exists()


def test_photo_consent_without_uses_is_400(client_as, patient, templates):
    data = take_data(templates, "photo")
    del data["photo_uses"]
    response = client_as("practitioner").post(reverse("care:consent_take", args=[patient.pk]), data)
    assert response.status_code == 400
    assert "The photographs may be used for: Tick" in response.text


def test_revoke_without_a_reason_is_400(client_as, clinic, staff, patient, templates):
    consent = sign(clinic, staff["practitioner"], patient, "photo")
    response = client_as("manager").post(reverse("care:revoke", args=[consent.pk]), {"reason": ""})
    assert response.status_code == 400
    assert "Reason for revocation" in response.text
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_bad_template_input_is_400(client_as, clinic):
    response = client_as("manager").post(
        reverse("care:template_create"), {"kind": "treatment", "title": "", "text": ""}
    )
    assert response.status_code == 400
    assert not ConsentTemplate.objects.exists()


def test_an_unchanged_new_version_is_400(client_as, templates):
    template = templates["treatment"]
    response = client_as("manager").post(
        reverse("care:template_new_version", args=[template.pk]),
        {"text": template.current_version().text},
    )
    assert response.status_code == 400
    assert "unchanged" in response.text
    assert template.versions.count() == 1


def test_a_malformed_template_choice_is_404(client_as, patient, templates):
    response = client_as("practitioner").get(
        reverse("care:consent_take", args=[patient.pk]), {"template": "nope"}
    )
    assert response.status_code == 404


# --- query counts -------------------------------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_patient_consents_list_runs_a_constant_number_of_queries(
    client_as, clinic, staff, patient, templates
):
    client = client_as("practitioner")
    url = reverse("care:patient_consents", args=[patient.pk])
    sign(clinic, staff["practitioner"], patient)
    one = _queries(client, url)
    for kind in ("photo", "off_label", "treatment", "photo"):
        sign(clinic, staff["assistant"], patient, kind)
    consents.do_revoke_consent(staff["manager"], clinic, SignedConsent.objects.first(), "x")
    assert _queries(client, url) == one


def test_the_chart_consent_section_runs_a_constant_number_of_queries(
    client_as, clinic, staff, patient, templates
):
    client = client_as("manager")
    url = reverse("patients:chart", args=[patient.pk])
    sign(clinic, staff["practitioner"], patient)
    one = _queries(client, url)
    for kind in ("photo", "off_label", "treatment"):
        sign(clinic, staff["assistant"], patient, kind)
    assert _queries(client, url) == one
