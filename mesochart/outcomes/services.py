"""Photo writes (atomic and audited) and the consent gate every read goes through.

See docs/photos.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.care.services import consent_codes
from mesochart.errors import InvalidInput
from mesochart.imaging import ImageError, analyze_bytes, compare_results, derived_jpeg
from mesochart.patients.models import Patient

from .models import ORIGINAL_TYPES, Photo, PhotoView

DERIVED_LONG_SIDE = 1600
MAX_UPLOAD_BYTES = 40 * 1024 * 1024

PROBLEM_TEXT = {
    "no_face": "no face was found",
    "too_dark": "the photo is too dark",
    "too_bright": "the photo is overexposed",
    "blurred": "the photo is blurred",
    "face_too_small": "the face is too small in the frame",
    "tilted": "the head is tilted",
    "no_colour_card": "the colour card is missing",
    "pose": "the pose differs from the baseline",
    "scale": "the distance to the camera differs from the baseline",
    "framing": "the framing differs from the baseline",
    "lighting": "the lighting differs from the baseline",
}


def photos_visible(patient: Patient, on: datetime | None = None) -> bool:
    """Photos of ``patient`` are shown only while a photo consent is in force."""
    return "photo" in consent_codes(patient, on)


def mark_hidden(photos: Iterable[Photo], hidden: bool) -> list[Photo]:
    out = list(photos)
    for photo in out:
        photo._hidden = hidden  # type: ignore[attr-defined]
    return out


def visible_photos(patient: Patient) -> tuple[list[Photo], int]:
    """(photos shown, number hidden) for ``patient``, asked of the consent now."""
    photos = Photo.objects.filter(patient=patient).select_related("taken_by")
    if photos_visible(patient):
        return mark_hidden(photos, False), 0
    return [], photos.count()


def baseline_for(photo: Photo) -> Photo | None:
    """The first photo of the same patient and view (``None`` when ``photo`` is it)."""
    first = (
        Photo.objects.filter(patient_id=photo.patient_id, view=photo.view)
        .order_by("taken_at", "created_at")
        .first()
    )
    return None if first is None or first.pk == photo.pk else first


def compare_with_baseline(photo: Photo) -> tuple[Photo | None, dict[str, Any] | None]:
    baseline = baseline_for(photo)
    if baseline is None:
        return None, None
    return baseline, compare_results(photo.analysis, baseline.analysis)


def problem_text(codes: Iterable[str]) -> list[str]:
    return [PROBLEM_TEXT.get(code, code.replace("_", " ")) for code in codes]


def _check_bytes(data: bytes) -> None:
    if not data:
        raise InvalidInput("The photo file is empty (0 bytes)", field="photo")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"The photo file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", field="photo"
        )


def do_upload_photo(
    actor: User,
    clinic: Clinic,
    patient: Patient,
    view: str,
    data: bytes,
    filename: str = "",
    taken_at: datetime | None = None,
) -> Photo:
    """Store the original untouched and an EXIF-free derived JPEG, with the analysis.

    Refused (``InvalidInput``, nothing stored) without a valid photo consent, for an
    unknown view, or for a file that is not a readable image within the limits.
    Quality problems do not refuse the upload: they are stored for a retake prompt.
    """
    if patient.clinic_id != clinic.pk:
        raise InvalidInput("The patient must belong to this clinic")
    if view not in PhotoView.values:
        raise InvalidInput("Choose the view of the photo", field="view")
    if not photos_visible(patient):
        raise InvalidInput(
            "No valid photo consent: a photo may only be taken while the patient's "
            "photo consent is in force",
            field="photo",
        )
    _check_bytes(data)
    try:
        analysis = analyze_bytes(data)
        derived = derived_jpeg(data, max_long_side=DERIVED_LONG_SIDE)
    except ImageError as exc:
        raise InvalidInput(f"The photo file was refused: {exc.message}", field="photo") from None
    image = analysis["image"]
    fmt = str(image["format"])
    ext = ORIGINAL_TYPES.get(fmt, ("", "bin"))[1]
    quality = analysis["quality"]
    photo = Photo(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        patient=patient,
        view=view,
        taken_at=taken_at or timezone.now(),
        taken_by=actor,
        original_sha256=image["sha256"],
        original_filename=os.path.basename(filename or "")[:255],
        original_format=fmt,
        width=image["width"],
        height=image["height"],
        analysis=analysis,
        quality_ok=bool(quality["ok"]),
        problems=list(quality["problems"]),
    )
    try:
        with transaction.atomic():
            photo.original.save(f"original.{ext}", ContentFile(data), save=False)
            photo.derived.save("display.jpg", ContentFile(derived), save=False)
            photo.save(force_insert=True)
            record(
                "photo.upload",
                actor=actor,
                clinic=clinic,
                obj=patient,
                details={
                    "photo": str(photo.pk),
                    "view": view,
                    "sha256": photo.original_sha256,
                    "quality_ok": photo.quality_ok,
                    "problems": photo.problems,
                },
            )
    except BaseException:
        for field in (photo.original, photo.derived):
            if field:
                field.storage.delete(field.name)
        raise
    photo._hidden = False  # type: ignore[attr-defined]
    return photo
