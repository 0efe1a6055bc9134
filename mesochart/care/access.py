"""Access gates for consent templates, signed consents, plans, sessions and follow-ups.

Like ``patient_for``: another clinic's record answers 404 exactly like a missing
one, before the role is checked (403). See ``core.http.clinic_object_or_404``.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from mesochart.core.http import clinic_object_or_404

from .models import (
    ChartEntry,
    ConsentTemplate,
    FollowUp,
    Prescription,
    SessionItem,
    SessionPack,
    SessionVial,
    SignedConsent,
    TreatmentPlan,
    TreatmentSession,
)


def template_for(request: HttpRequest, template_id: uuid.UUID, perm: str) -> ConsentTemplate:
    template: ConsentTemplate = clinic_object_or_404(
        request, ConsentTemplate.objects.all(), template_id, perm, "consent template"
    )
    return template


def consent_for(request: HttpRequest, consent_id: uuid.UUID, perm: str) -> SignedConsent:
    consent: SignedConsent = clinic_object_or_404(
        request,
        SignedConsent.objects.select_related(
            "patient", "clinic", "template_version", "witness", "revoked_by"
        ),
        consent_id,
        perm,
        "consent",
    )
    return consent


def session_for(request: HttpRequest, session_id: uuid.UUID, perm: str) -> TreatmentSession:
    session: TreatmentSession = clinic_object_or_404(
        request,
        TreatmentSession.objects.select_related(
            "patient",
            "patient__profile",
            "clinic",
            "plan",
            "prescription__prescribed_by",
            "signed_by",
            "cosigned_by",
            "started_by",
        ),
        session_id,
        perm,
        "session",
    )
    return session


def plan_for(request: HttpRequest, plan_id: uuid.UUID, perm: str) -> TreatmentPlan:
    plan: TreatmentPlan = clinic_object_or_404(
        request, TreatmentPlan.objects.select_related("patient", "clinic"), plan_id, perm, "plan"
    )
    return plan


def entry_for(request: HttpRequest, entry_id: uuid.UUID, perm: str) -> ChartEntry:
    entry: ChartEntry = clinic_object_or_404(
        request, ChartEntry.objects.select_related("session"), entry_id, perm, "chart entry"
    )
    return entry


def follow_up_for(request: HttpRequest, follow_up_id: uuid.UUID, perm: str) -> FollowUp:
    follow_up: FollowUp = clinic_object_or_404(
        request,
        FollowUp.objects.select_related("patient", "session"),
        follow_up_id,
        perm,
        "follow-up",
    )
    return follow_up


def session_pack_for(request: HttpRequest, row_id: uuid.UUID, perm: str) -> SessionPack:
    row: SessionPack = clinic_object_or_404(
        request,
        SessionPack.objects.select_related("session", "pack"),
        row_id,
        perm,
        "pack on a session",
        clinic_field="session__clinic",
    )
    return row


def session_vial_for(request: HttpRequest, row_id: uuid.UUID, perm: str) -> SessionVial:
    row: SessionVial = clinic_object_or_404(
        request,
        SessionVial.objects.select_related("session", "container"),
        row_id,
        perm,
        "vial on a session",
        clinic_field="session__clinic",
    )
    return row


def session_item_for(request: HttpRequest, item_id: uuid.UUID, perm: str) -> SessionItem:
    row: SessionItem = clinic_object_or_404(
        request,
        SessionItem.objects.select_related("session"),
        item_id,
        perm,
        "item on a session",
        clinic_field="session__clinic",
    )
    return row


def prescription_for(request: HttpRequest, prescription_id: uuid.UUID, perm: str) -> Prescription:
    rx: Prescription = clinic_object_or_404(
        request,
        Prescription.objects.select_related("patient", "prescribed_by"),
        prescription_id,
        perm,
        "prescription",
    )
    return rx
