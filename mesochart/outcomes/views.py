from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render

from mesochart.accounts.models import Role
from mesochart.audit.services import record
from mesochart.core.http import ClinicRequest, private_file_response
from mesochart.errors import DomainError, InvalidInput
from mesochart.imaging.analysis import DELTA_KEYS
from mesochart.imaging.face import ZONE_NAMES
from mesochart.patients.access import patient_for

from . import services
from .access import photo_for
from .forms import UploadForm
from .models import ORIGINAL_TYPES, Photo, PhotoView

ORIGINAL_ROLES = {Role.PRESCRIBER, Role.MANAGER}


def _zone_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    zones = metrics.get("zones") or {}
    rows = [{"name": name, "values": zones.get(name) or {}} for name in ZONE_NAMES]
    rows.append({"name": "whole_face", "values": metrics.get("whole_face") or {}})
    return rows


@login_required
def timeline(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "photo.view", with_profile=False)
    photos, hidden = services.visible_photos(patient)
    groups = [
        {"view": label, "code": code, "photos": [p for p in photos if p.view == code]}
        for code, label in PhotoView.choices
    ]
    context = {
        "patient": patient,
        "groups": [g for g in groups if g["photos"]],
        "hidden": hidden,
        "consent_ok": services.photos_visible(patient),
    }
    return render(request, "outcomes/timeline.html", context)


@login_required
def upload(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "photo.take", with_profile=False)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload_file = form.cleaned_data["photo"]
            try:
                if upload_file is None:
                    raise InvalidInput("Choose or take a photo", field="photo")
                data = upload_file.read(services.MAX_UPLOAD_BYTES + 1)
                photo = services.do_upload_photo(
                    request.user,
                    request.clinic,
                    patient,
                    form.cleaned_data["view"],
                    data,
                    upload_file.name or "",
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
            else:
                return redirect("outcomes:detail", photo_id=photo.pk)
    context = {"patient": patient, "form": form, "consent_ok": services.photos_visible(patient)}
    return render(request, "outcomes/upload.html", context, status=status)


@login_required
def detail(request: ClinicRequest, photo_id: uuid.UUID) -> HttpResponse:
    photo = photo_for(request, photo_id, "photo.view")
    baseline = services.baseline_for(photo)
    context = {
        "photo": photo,
        "patient": photo.patient,
        "baseline": baseline,
        "rows": _zone_rows(photo.analysis),
        "keys": DELTA_KEYS,
        "problems": services.problem_text(photo.problems),
        "quality": photo.analysis.get("quality", {}),
        "can_original": getattr(request.membership, "role", None) in ORIGINAL_ROLES,
    }
    return render(request, "outcomes/detail.html", context)


@login_required
def compare(request: ClinicRequest, photo_id: uuid.UUID) -> HttpResponse:
    photo = photo_for(request, photo_id, "photo.view")
    baseline, comparison = services.compare_with_baseline(photo)
    deltas = (comparison or {}).get("deltas") or {}
    context = {
        "photo": photo,
        "patient": photo.patient,
        "baseline": baseline,
        "comparison": comparison,
        "problems": services.problem_text((comparison or {}).get("problems", [])),
        "rows": [{"name": name, "values": deltas.get(name) or {}} for name in deltas],
        "keys": DELTA_KEYS,
    }
    return render(request, "outcomes/compare.html", context)


@login_required
def image(request: ClinicRequest, photo_id: uuid.UUID) -> FileResponse:
    photo = photo_for(request, photo_id, "photo.view")
    return private_file_response(photo.derived, "image/jpeg", f"photo-{photo.view}.jpg")


@login_required
def original(request: ClinicRequest, photo_id: uuid.UUID) -> FileResponse:
    photo: Photo = photo_for(request, photo_id, "photo.view")
    if getattr(request.membership, "role", None) not in ORIGINAL_ROLES:
        raise PermissionDenied("Only prescribers and managers may open the original photo")
    ext = ORIGINAL_TYPES.get(photo.original_format, ("", "bin"))[1]
    record(
        "photo.original_view",
        actor=request.user,
        clinic=request.clinic,
        obj=photo.patient,
        details={"photo": str(photo.pk)},
    )
    return private_file_response(photo.original, photo.content_type, f"photo-original.{ext}")
