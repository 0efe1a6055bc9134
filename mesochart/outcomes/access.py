"""Access gate for photos: another clinic's photo answers 404 like a missing one,
before the role is checked (403); a photo hidden by consent answers 404 too."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import Photo


def photo_for(request: HttpRequest, photo_id: uuid.UUID, perm: str) -> Photo:
    clinic = getattr(request, "clinic", None)
    photo = (
        Photo.objects.select_related("patient", "taken_by")
        .filter(clinic=clinic, pk=photo_id)
        .first()
        if clinic is not None
        else None
    )
    if photo is None:
        raise Http404("No photo with this id")
    check_perm(request, perm)
    if photo.hidden:
        raise Http404("This photo is hidden: the patient has no valid photo consent")
    return photo
