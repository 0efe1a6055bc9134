"""Access gate for photos: another clinic's photo answers 404 like a missing one,
before the role is checked (403); a photo hidden by consent answers 404 too."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import AdverseEvent, ClusterAlert, Photo


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


def adverse_event_for(request: HttpRequest, event_id: uuid.UUID, perm: str) -> AdverseEvent:
    """The adverse event, or the same 404 whether it is missing or another clinic's."""
    clinic = getattr(request, "clinic", None)
    event = (
        AdverseEvent.objects.select_related(
            "patient", "patient__clinic", "session", "recorded_by", "clinic"
        )
        .filter(clinic=clinic, pk=event_id)
        .first()
        if clinic is not None
        else None
    )
    if event is None:
        raise Http404("No adverse event with this id")
    check_perm(request, perm)
    return event


def alert_for(request: HttpRequest, alert_id: uuid.UUID, perm: str) -> ClusterAlert:
    """The cluster alert, or the same 404 whether it is missing or another clinic's."""
    clinic = getattr(request, "clinic", None)
    alert = (
        ClusterAlert.objects.select_related("acknowledged_by")
        .filter(clinic=clinic, pk=alert_id)
        .first()
        if clinic is not None
        else None
    )
    if alert is None:
        raise Http404("No alert with this id")
    check_perm(request, perm)
    return alert
