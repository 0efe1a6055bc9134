"""Access gates for stock objects: the same 404 for missing and other clinics' rows,
checked BEFORE the role (someone inside without the permission gets 403)."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import Container, Fridge, Lot


def _clinic_id(request: HttpRequest) -> uuid.UUID:
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        raise Http404("No clinic")
    return clinic.pk


def lot_for(request: HttpRequest, lot_id: uuid.UUID, perm: str) -> Lot:
    lot = (
        Lot.objects.select_related("fridge")
        .filter(pk=lot_id, clinic_id=_clinic_id(request))
        .first()
    )
    if lot is None:
        raise Http404("No lot with this id")
    check_perm(request, perm)
    return lot


def fridge_for(request: HttpRequest, fridge_id: uuid.UUID, perm: str) -> Fridge:
    fridge = Fridge.objects.filter(pk=fridge_id, clinic_id=_clinic_id(request)).first()
    if fridge is None:
        raise Http404("No fridge with this id")
    check_perm(request, perm)
    return fridge


def container_for(request: HttpRequest, container_id: uuid.UUID, perm: str) -> Container:
    container = (
        Container.objects.select_related("lot", "opened_by", "patient")
        .filter(pk=container_id, clinic_id=_clinic_id(request))
        .first()
    )
    if container is None:
        raise Http404("No container with this id")
    check_perm(request, perm)
    return container
