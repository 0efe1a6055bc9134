"""Access gates of the sterility app: the one way views reach its records.

Each returns the object or the same 404 whether it is missing or belongs to
another clinic; the role is checked only after that (403).
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import Cycle, Pack, SterileItemLot, Steriliser

M = TypeVar("M", bound=Model)


def visible(request: HttpRequest, queryset: QuerySet[M]) -> QuerySet[M]:
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        return queryset.none()
    return queryset.filter(clinic=clinic)


def _gate(request: HttpRequest, queryset: QuerySet[M], pk: uuid.UUID, perm: str) -> M:
    obj = visible(request, queryset).filter(pk=pk).first()
    if obj is None:
        raise Http404("Not found")
    check_perm(request, perm)
    return obj


def steriliser_for(request: HttpRequest, steriliser_id: uuid.UUID, perm: str) -> Steriliser:
    return _gate(request, Steriliser.objects.select_related("clinic"), steriliser_id, perm)


def cycle_for(request: HttpRequest, cycle_id: uuid.UUID, perm: str) -> Cycle:
    queryset = Cycle.objects.select_related(
        "clinic", "steriliser", "operator", "released_by", "bi_recorded_by"
    )
    return _gate(request, queryset, cycle_id, perm)


def pack_for(request: HttpRequest, pack_id: uuid.UUID, perm: str) -> Pack:
    queryset = Pack.objects.select_related("clinic", "cycle", "cycle__steriliser", "packed_by")
    return _gate(request, queryset, pack_id, perm)


def item_lot_for(request: HttpRequest, item_lot_id: uuid.UUID, perm: str) -> SterileItemLot:
    return _gate(request, SterileItemLot.objects.select_related("clinic"), item_lot_id, perm)
