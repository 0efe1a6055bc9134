from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()

EVIDENCE = {
    "L": "Label, SmPC, IFU or regulation",
    "S": "Standard or official guideline",
    "G": "Peer-reviewed study or consensus",
    "P": "Typical practice (clinic-tunable default)",
}


@register.filter
def param_value(param: Any) -> str:
    value = param.value if hasattr(param, "value") else param["value"]
    unit = param.unit if hasattr(param, "unit") else param["unit"]
    if isinstance(value, tuple | list):
        text = "\u2013".join(f"{v:g}" for v in value)
    else:
        text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".strip()


@register.simple_tag
def evidence(level: str) -> str:
    return format_html(
        '<abbr class="ev ev-{}" title="{}">{}</abbr>', level, EVIDENCE.get(level, level), level
    )


@register.filter
def items_sorted(mapping: Any) -> list[tuple[Any, Any]]:
    return sorted(mapping.items())
