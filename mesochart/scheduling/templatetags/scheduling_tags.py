from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from mesochart.patients.models import Patient

register = template.Library()


@register.inclusion_tag("scheduling/_chart_appointments.html", takes_context=True)
def appointment_section(context: template.Context, patient: Patient) -> dict[str, Any]:
    """The chart's appointments card: the next appointments and the no-show count, flagged
    past the clinic's threshold (three queries)."""
    from mesochart.scheduling.models import HOLDING, Appointment
    from mesochart.scheduling.rules import no_show_count, policy_or_default

    now = timezone.now()
    policy = policy_or_default(patient.clinic)
    no_shows = no_show_count(patient, policy, now)
    upcoming = list(
        Appointment.objects.filter(patient=patient, ends_at__gte=now, status__in=HOLDING)
        .select_related("type", "practitioner")
        .order_by("starts_at")[:10]
    )
    return {
        "patient": patient,
        "upcoming": upcoming,
        "no_shows": no_shows,
        "flagged": no_shows >= policy.no_show_flag_count,
        "policy": policy,
        "can": context.get("can", {}),
    }
