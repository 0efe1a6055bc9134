"""Access gates for consent templates, signed consents, plans, sessions and follow-ups.

Like ``patient_for``: another clinic's record answers 404 exactly like a missing
one, before the role is checked (403).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import (
    ChartEntry,
    ConsentTemplate,
    FollowUp,
    SessionItem,
    SessionPack,
    SignedConsent,
    TreatmentPlan,
    TreatmentSession,
)


def template_for(request: HttpRequest, template_id: uuid.UUID, perm: str) -> ConsentTemplate:
    clinic = getattr(request, "clinic", None)
    template = (
        ConsentTemplate.objects.filter(clinic=clinic, pk=template_id).first()
        if clinic is not None
        else None
    )
    if template is None:
        raise Http404("No consent template with this id")
    check_perm(request, perm)
    return template


def consent_for(request: HttpRequest, consent_id: uuid.UUID, perm: str) -> SignedConsent:
    clinic = getattr(request, "clinic", None)
    consent = (
        SignedConsent.objects.select_related(
            "patient", "clinic", "template_version", "witness", "revoked_by"
        )
        .filter(clinic=clinic, pk=consent_id)
        .first()
        if clinic is not None
        else None
    )
    if consent is None:
        raise Http404("No consent with this id")
    check_perm(request, perm)
    return consent


def _in_clinic(request: HttpRequest, queryset: QuerySet[Any], pk: uuid.UUID, what: str) -> Any:
    clinic = getattr(request, "clinic", None)
    obj = queryset.filter(clinic=clinic, pk=pk).first() if clinic is not None else None
    if obj is None:
        raise Http404(f"No {what} with this id")
    return obj


def session_for(request: HttpRequest, session_id: uuid.UUID, perm: str) -> TreatmentSession:
    session: TreatmentSession = _in_clinic(
        request,
        TreatmentSession.objects.select_related(
            "patient",
            "patient__profile",
            "clinic",
            "plan",
            "signed_by",
            "cosigned_by",
            "started_by",
        ),
        session_id,
        "session",
    )
    check_perm(request, perm)
    return session


def plan_for(request: HttpRequest, plan_id: uuid.UUID, perm: str) -> TreatmentPlan:
    plan: TreatmentPlan = _in_clinic(
        request, TreatmentPlan.objects.select_related("patient", "clinic"), plan_id, "plan"
    )
    check_perm(request, perm)
    return plan


def entry_for(request: HttpRequest, entry_id: uuid.UUID, perm: str) -> ChartEntry:
    entry: ChartEntry = _in_clinic(
        request, ChartEntry.objects.select_related("session"), entry_id, "chart entry"
    )
    check_perm(request, perm)
    return entry


def follow_up_for(request: HttpRequest, follow_up_id: uuid.UUID, perm: str) -> FollowUp:
    follow_up: FollowUp = _in_clinic(
        request, FollowUp.objects.select_related("patient", "session"), follow_up_id, "follow-up"
    )
    check_perm(request, perm)
    return follow_up


def session_pack_for(request: HttpRequest, row_id: uuid.UUID, perm: str) -> SessionPack:
    clinic = getattr(request, "clinic", None)
    row = (
        SessionPack.objects.select_related("session", "pack")
        .filter(session__clinic=clinic, pk=row_id)
        .first()
        if clinic is not None
        else None
    )
    if row is None:
        raise Http404("No such pack on a session")
    check_perm(request, perm)
    return row


def session_item_for(request: HttpRequest, row_id: uuid.UUID, perm: str) -> SessionItem:
    clinic = getattr(request, "clinic", None)
    row = (
        SessionItem.objects.select_related("session")
        .filter(session__clinic=clinic, pk=row_id)
        .first()
        if clinic is not None
        else None
    )
    if row is None:
        raise Http404("No such item on a session")
    check_perm(request, perm)
    return row
