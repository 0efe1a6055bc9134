"""Access gates for consent templates and signed consents.

Like ``patient_for``: another clinic's record answers 404 exactly like a missing
one, before the role is checked (403).
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import ConsentTemplate, SignedConsent


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
