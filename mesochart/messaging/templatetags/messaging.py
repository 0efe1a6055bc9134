from __future__ import annotations

from typing import Any

from django import template

from mesochart.messaging import services

register = template.Library()


@register.simple_tag
def recall_notices(clinic: Any, kind: str, identifier: str) -> dict[str, list[Any]]:
    """This recall's notices by patient id (one query), for the recall page."""
    return services.recall_notices(clinic, kind, identifier)


@register.filter
def notices_for(notices: dict[str, list[Any]], patient_id: Any) -> list[Any]:
    return notices.get(str(patient_id), [])
