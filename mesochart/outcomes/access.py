"""Access gate for photos: another clinic's photo answers 404 like a missing one,
before the role is checked (403); a photo hidden by consent answers 404 too."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest

from mesochart.core.http import clinic_object_or_404

from .models import AdverseEvent, ClusterAlert, Photo


def photo_for(request: HttpRequest, photo_id: uuid.UUID, perm: str) -> Photo:
    photo: Photo = clinic_object_or_404(
        request, Photo.objects.select_related("patient", "taken_by"), photo_id, perm, "photo"
    )
    if photo.hidden:
        raise Http404("This photo is hidden: the patient has no valid photo consent")
    return photo


def adverse_event_for(request: HttpRequest, event_id: uuid.UUID, perm: str) -> AdverseEvent:
    """The adverse event, or the same 404 whether it is missing or another clinic's."""
    event: AdverseEvent = clinic_object_or_404(
        request,
        AdverseEvent.objects.select_related(
            "patient", "patient__clinic", "session", "recorded_by", "clinic"
        ),
        event_id,
        perm,
        "adverse event",
    )
    return event


def alert_for(request: HttpRequest, alert_id: uuid.UUID, perm: str) -> ClusterAlert:
    """The cluster alert, or the same 404 whether it is missing or another clinic's."""
    alert: ClusterAlert = clinic_object_or_404(
        request, ClusterAlert.objects.select_related("acknowledged_by"), alert_id, perm, "alert"
    )
    return alert
