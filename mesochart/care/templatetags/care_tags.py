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
    from mesochart.patients.sections import latest

    show_all = context.get("show_all") == "consents"
    consents = latest(
        SignedConsent.objects.filter(patient=patient)
        .select_related("template_version", "witness", "revoked_by")
        .defer("text", "revocation_reason"),
        everything=show_all,
    )
    now = timezone.now()
    # Which kinds are in force, from every consent (the banner), not only those shown.
    valid = set(
        SignedConsent.objects.filter(patient=patient, signed_at__lte=now)
        .exclude(revoked_at__lte=now)
        .order_by()
        .values_list("kind", flat=True)
        .distinct()
    )
    return {
        "patient": patient,
        "consents": consents,
        "codes": [k for k in ConsentKind.values if k in valid],
        "can": context.get("can", {}),
        "show_all": context.get("show_all", ""),
    }


@register.inclusion_tag("care/_chart_sessions.html", takes_context=True)
def session_section(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The chart's treatment card: the latest plans, sessions and open follow-ups (three
    queries), without the sessions' large JSON columns."""
    from mesochart.care.models import FollowUp, FollowUpStatus, TreatmentPlan, TreatmentSession
    from mesochart.patients.sections import latest

    show_all = context.get("show_all", "")
    sessions = (
        TreatmentSession.objects.filter(patient=patient)
        .select_related("signed_by")
        .only(
            "pk",
            "patient_id",
            "protocol",
            "scheduled_for",
            "status",
            "cosign_required",
            "cosigned_at",
            "created_at",
            "signed_by",
        )
    )
    return {
        "patient": patient,
        "plans": latest(
            TreatmentPlan.objects.filter(patient=patient).defer("goals", "closed_reason"),
            everything=show_all == "plans",
        ),
        "sessions": latest(sessions, everything=show_all == "sessions"),
        "follow_ups": latest(
            FollowUp.objects.filter(patient=patient, status=FollowUpStatus.OPEN),
            everything=show_all == "follow_ups",
        ),
        "can": context.get("can", {}),
        "show_all": show_all,
    }


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``{{ errors|get_item:name }}``: a dict's value for a key held in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None
