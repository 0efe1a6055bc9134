from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from mesochart.care.models import ConsentKind, SignedConsent
from mesochart.patients.models import Patient

register = template.Library()


@register.inclusion_tag("care/_chart_consents.html", takes_context=True)
def consent_section(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The chart's consents card: signed consents and a banner for what is missing."""
    consents = list(
        SignedConsent.objects.filter(patient=patient).select_related(
            "template_version", "witness", "revoked_by"
        )
    )
    now = timezone.now()
    valid = {c.kind for c in consents if c.is_valid_at(now)}
    return {
        "patient": patient,
        "consents": consents,
        "codes": [k for k in ConsentKind.values if k in valid],
        "can": context.get("can", {}),
    }


@register.inclusion_tag("care/_chart_sessions.html", takes_context=True)
def session_section(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The chart's treatment card: plans, sessions and open follow-ups (three queries)."""
    from mesochart.care.models import FollowUp, FollowUpStatus, TreatmentPlan, TreatmentSession

    return {
        "patient": patient,
        "plans": list(TreatmentPlan.objects.filter(patient=patient)),
        "sessions": list(
            TreatmentSession.objects.filter(patient=patient).select_related("signed_by")[:50]
        ),
        "follow_ups": list(FollowUp.objects.filter(patient=patient, status=FollowUpStatus.OPEN)),
        "can": context.get("can", {}),
    }


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``{{ errors|get_item:name }}``: a dict's value for a key held in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None
