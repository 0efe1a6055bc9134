from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist

from mesochart.patients import vocabulary
from mesochart.patients.models import MedicalProfile

register = template.Library()

_LABELS: dict[str, dict[Any, str]] = {
    "conditions": vocabulary.CONDITIONS,
    "medications": vocabulary.MEDICATION_CLASSES,
    "allergies": vocabulary.ALLERGY_INGREDIENTS,
    "fitzpatrick": vocabulary.FITZPATRICK,
    "glogau": vocabulary.GLOGAU,
}


@register.filter
def field_label(name: str) -> str:
    try:
        label = str(getattr(MedicalProfile._meta.get_field(name), "verbose_name", name))
        return label[:1].upper() + label[1:]
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()


@register.simple_tag
def show_value(name: str, value: Any) -> str:
    """A profile value as staff read it (codes turned into labels)."""
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    labels = _LABELS.get(name)
    if isinstance(value, list):
        return ", ".join(str(labels.get(v, v)) if labels else str(v) for v in value)
    if labels:
        return labels.get(value, str(value))
    return str(value)
