from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from mesochart.audit.models import AuditEvent
from mesochart.care.services import consents as care_services
from mesochart.errors import InvalidInput
from mesochart.imaging import sha256_hex
from mesochart.outcomes.models import Photo

from .factories import astronaut_png, jpeg_with_exif, photo_consent, upload

pytestmark = pytest.mark.django_db


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "outcomes"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post_photo(client: Any, patient: Any, data: bytes, name: str = "face.png") -> Any:
    return client.post(
        reverse("outcomes:upload", args=[patient.pk]),
        {"view": "front", "photo": SimpleUploadedFile(name, data, content_type="image/png")},
    )


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any) -> Any:
    return photo_consent(clinic, staff, patient)


def test_upload_stores_original_derived_and_analysis(clinic, staff, patient, consented, client_as):
    client = client_as("practitioner")
    response = post_photo(client, patient, astronaut_png())
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert response["Location"] == reverse("outcomes:detail", args=[photo.pk])
    original = photo.original.read()
    assert original == astronaut_png()
    assert photo.original_sha256 == sha256_hex(astronaut_png())
    assert (photo.width, photo.height) == (512, 512)
    assert photo.analysis["face_found"] is True
    assert photo.quality_ok == photo.analysis["quality"]["ok"]
    assert photo.organisation_id == clinic.organisation_id and photo.clinic_id == clinic.pk
    with Image.open(photo.derived.open("rb")) as derived:
        assert derived.format == "JPEG"
    assert len(media_files()) == 2
    assert AuditEvent.objects.filter(action="photo.upload").count() == 1
    page = client.get(reverse("outcomes:detail", args=[photo.pk]))
    assert page.status_code == 200
    assert b"Metrics per zone" in page.content and b"Left cheek" in page.content
    assert b"cheek_left" not in page.content
    timeline = client.get(reverse("outcomes:timeline", args=[patient.pk]))
    assert reverse("outcomes:image", args=[photo.pk]).encode() in timeline.content
    image = client.get(reverse("outcomes:image", args=[photo.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "private, no-store"


def test_upload_form_opens_the_camera(client_as, patient, consented):
    page = client_as("assistant").get(reverse("outcomes:upload", args=[patient.pk]))
    assert page.status_code == 200
    assert b'accept="image/*"' in page.content and b'capture="user"' in page.content


def test_quality_problems_do_not_refuse_but_ask_for_a_retake(
    clinic, staff, patient, consented, client_as
):
    dark = io.BytesIO()
    Image.new("RGB", (400, 400), (5, 5, 5)).save(dark, format="PNG")
    response = post_photo(client_as("practitioner"), patient, dark.getvalue())
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert not photo.quality_ok and "no_face" in photo.problems
    page = client_as("practitioner").get(response["Location"])
    assert b"Retake suggested" in page.content and b"no face was found" in page.content


def test_no_consent_refuses_and_stores_nothing(clinic, staff, patient, client_as):
    with pytest.raises(InvalidInput) as info:
        upload(clinic, staff, patient)
    assert info.value.field == "photo" and "photo consent" in info.value.message
    response = post_photo(client_as("practitioner"), patient, astronaut_png())
    assert response.status_code == 400
    assert b"No valid photo consent" in response.content
    assert not Photo.objects.exists() and media_files() == []


def test_revoked_consent_hides_at_once(clinic, staff, patient, consented, client_as):
    photo = upload(clinic, staff, patient)
    client = client_as("prescriber")
    urls = [
        reverse(name, args=[photo.pk])
        for name in ("outcomes:image", "outcomes:original", "outcomes:detail", "outcomes:compare")
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    care_services.do_revoke_consent(staff["prescriber"], clinic, consented, "Withdrawn")
    for url in urls:
        assert client.get(url).status_code == 404, url
    timeline = client.get(reverse("outcomes:timeline", args=[patient.pk]))
    assert b"1 photo hidden: no valid photo consent" in timeline.content
    assert reverse("outcomes:image", args=[photo.pk]).encode() not in timeline.content
    assert Photo.objects.get().hidden is True
    # a new consent shows them again: nothing was copied into the photo
    photo_consent(clinic, staff, patient)
    assert client.get(urls[0]).status_code == 200


@pytest.mark.parametrize(
    "data",
    [b"hello, this is text, not a photo", b"", astronaut_png()[:5000]],
    ids=["text", "empty", "truncated"],
)
def test_bad_files_are_refused_naming_the_field(clinic, staff, patient, consented, client_as, data):
    response = post_photo(client_as("practitioner"), patient, data)
    assert response.status_code == 400
    form = response.context["form"]
    assert "photo" in form.errors
    assert not Photo.objects.exists() and media_files() == []
    with pytest.raises(InvalidInput) as info:
        upload(clinic, staff, patient, data)
    assert info.value.field == "photo"
    assert not Photo.objects.exists() and media_files() == []


def test_too_many_pixels_is_refused(clinic, staff, patient, consented):
    big = io.BytesIO()
    Image.new("L", (8000, 8000)).save(big, format="PNG")
    with pytest.raises(InvalidInput) as info:
        upload(clinic, staff, patient, big.getvalue())
    assert info.value.field == "photo" and "megapixels" in info.value.message
    assert not Photo.objects.exists() and media_files() == []


def test_a_sliver_of_60000_by_1_pixels_is_refused_naming_the_field(
    clinic, staff, patient, consented, client_as
):
    sliver = io.BytesIO()
    Image.new("RGB", (60000, 1), (128, 128, 128)).save(sliver, format="PNG")
    response = post_photo(client_as("practitioner"), patient, sliver.getvalue())
    assert response.status_code == 400
    assert "60000x1" in response.context["form"].errors["photo"][0]
    assert not Photo.objects.exists() and media_files() == []


def test_a_photo_over_the_memory_budget_is_refused_naming_the_field(
    clinic, staff, patient, consented, settings
):
    settings.IMAGE_MEMORY_BUDGET_MB = 64
    big = io.BytesIO()
    Image.new("RGBA", (5000, 5000), (200, 150, 120, 255)).save(big, format="PNG")
    with pytest.raises(InvalidInput) as info:
        upload(clinic, staff, patient, big.getvalue())
    assert info.value.field == "photo" and "limit is 64 MB" in info.value.message
    assert not Photo.objects.exists() and media_files() == []


def test_an_upload_decodes_the_photo_once(clinic, staff, patient, consented, monkeypatch):
    from mesochart.imaging import loading

    calls: list[int] = []
    real = loading._decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, "_decode", counting)
    upload(clinic, staff, patient)
    assert len(calls) == 1


def test_derived_copy_has_no_exif(clinic, staff, patient, consented):
    data = jpeg_with_exif()
    with Image.open(io.BytesIO(data)) as source:
        assert source.getexif().get(0x010F) == "SecretCam"
    photo = upload(clinic, staff, patient, data)
    assert photo.original.read() == data  # the original is never modified
    derived = photo.derived.read()
    assert b"SecretCam" not in derived and b"Exif" not in derived
    with Image.open(io.BytesIO(derived)) as image:
        assert not dict(image.getexif())


def test_comparison_shows_the_verdict(clinic, staff, patient, consented, client_as):
    base = upload(clinic, staff, patient, taken_at=timezone.now() - timedelta(days=30))
    later = upload(clinic, staff, patient)
    client = client_as("auditor")
    page = client.get(reverse("outcomes:compare", args=[later.pk]))
    assert page.status_code == 200
    assert b"Comparable with the baseline" in page.content
    assert reverse("outcomes:image", args=[base.pk]).encode() in page.content
    assert b"Whole face" in page.content and b"whole_face" not in page.content  # zone names
    first = client.get(reverse("outcomes:compare", args=[base.pk]))
    assert b"This photo is the baseline" in first.content


def test_comparison_names_the_problems(clinic, staff, patient, consented, client_as):
    upload(clinic, staff, patient, taken_at=timezone.now() - timedelta(days=1))
    dark = io.BytesIO()
    Image.new("RGB", (400, 400), (5, 5, 5)).save(dark, format="PNG")
    later = upload(clinic, staff, patient, dark.getvalue())
    page = client_as("practitioner").get(reverse("outcomes:compare", args=[later.pk]))
    assert b"Not comparable" in page.content and b"framing" in page.content


VIEW_ROLES = {"prescriber", "practitioner", "assistant", "manager", "auditor"}
TAKE_ROLES = {"prescriber", "practitioner", "assistant"}
ORIGINAL_ROLES = {"prescriber", "manager", "auditor"}  # photo.original, docs/roles.md


@pytest.mark.parametrize(
    "role", ["prescriber", "practitioner", "assistant", "reception", "manager", "auditor"]
)
def test_every_view_follows_the_role_matrix(clinic, staff, patient, consented, client_as, role):
    photo = upload(clinic, staff, patient)
    client = client_as(role)
    expected = {
        reverse("outcomes:timeline", args=[patient.pk]): role in VIEW_ROLES,
        reverse("outcomes:upload", args=[patient.pk]): role in TAKE_ROLES,
        reverse("outcomes:detail", args=[photo.pk]): role in VIEW_ROLES,
        reverse("outcomes:compare", args=[photo.pk]): role in VIEW_ROLES,
        reverse("outcomes:image", args=[photo.pk]): role in VIEW_ROLES,
        reverse("outcomes:original", args=[photo.pk]): role in ORIGINAL_ROLES,
    }
    for url, allowed in expected.items():
        assert client.get(url).status_code == (200 if allowed else 403), (role, url)
    response = post_photo(client, patient, astronaut_png())
    assert response.status_code == (302 if role in TAKE_ROLES else 403)


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_outsiders_get_404_on_every_view(clinic, staff, patient, consented, client_as, who):
    photo = upload(clinic, staff, patient)
    client = client_as(who)
    urls = [reverse(n, args=[patient.pk]) for n in ("outcomes:timeline", "outcomes:upload")]
    urls += [
        reverse(n, args=[photo.pk])
        for n in ("outcomes:detail", "outcomes:compare", "outcomes:image", "outcomes:original")
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert post_photo(client, patient, astronaut_png()).status_code == 404
    assert Photo.objects.count() == 1


def test_chart_links_to_the_photo_timeline(client_as, patient):
    url = reverse("outcomes:timeline", args=[patient.pk]).encode()
    assert url in client_as("auditor").get(reverse("patients:chart", args=[patient.pk])).content
    assert (
        url not in client_as("reception").get(reverse("patients:chart", args=[patient.pk])).content
    )
