"""Clinical names for library codes, so screens never show raw codes to clinicians.

``{% load clinical %}`` then ``{{ entry.zone|zone_name }}``, ``{{ code|product_name }}``,
``{{ protocol|protocol_name }}``, ``{{ code|technique_name }}``, ``{{ code|device_name }}``,
``{{ code|modality_name }}``, ``{{ code|label_status }}``, ``{{ use|photo_use }}`` and ``{{ finding.message|clinical_text }}``
(a message with the library's codes replaced by their names). Names come from the shipped
protocol library (a clinic tunes numbers, never names); an unknown code is shown as it is.
"""

from __future__ import annotations

import functools
import re

from django import template
from django.utils.translation import gettext_lazy as _

from mesochart.protocols import Library, load_library

register = template.Library()

LABEL_STATUS = {
    "on_label": _("On label"),
    "off_label": _("Off label"),
    "device": _("Device (CE/FDA cleared)"),
    "practice": _("Practice use"),
}


# The engine's energy modalities (contract 1.1 ``energy[].modality``): codes of the
# vocabulary, named here so that their names follow the reader's language.
MODALITY_NAMES = {
    "fractional-laser-ablative": _("Ablative fractional laser"),
    "fractional-laser-non-ablative": _("Non-ablative fractional laser"),
    "rf-microneedling": _("RF microneedling"),
    "iontophoresis": _("Iontophoresis"),
    "sonophoresis": _("Sonophoresis"),
}
_MODALITY_PATTERN = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(c) for c in MODALITY_NAMES) + r")(?![\w-])"
)


def modality(code: str) -> str:
    return str(MODALITY_NAMES.get(code, code))


def _library() -> Library:
    return load_library()


def zone(code: str) -> str:
    z = _library().zones.get(code)
    return z.name if z is not None else code


def product(code: str) -> str:
    lib = _library()
    if code in lib.products:
        return lib.products[code].name
    if code in lib.mixtures:
        return lib.mixtures[code].name
    return code


def protocol(code: str) -> str:
    p = _library().protocols.get(code)
    return p.name if p is not None else code


def technique(code: str) -> str:
    t = _library().techniques.get(code)
    return t.name if t is not None else code


def device(code: str) -> str:
    t = _library().device_technique.get(code)
    return t.name if t is not None else code


@functools.lru_cache(maxsize=1)
def _code_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One regular expression matching every product, mixture, zone and protocol code as a
    whole word (codes hold letters, digits, ``-`` and ``_``), longest first."""
    lib = _library()
    names: dict[str, str] = {}
    for code, z in lib.zones.items():
        names[code] = z.name
    for code, p in lib.protocols.items():
        names[code] = p.name
    for code, m in lib.mixtures.items():
        names[code] = m.name
    for code, prod in lib.products.items():
        names[code] = prod.name
    alternatives = "|".join(re.escape(c) for c in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])"), names


def clinical(text: str) -> str:
    """``text`` with every library code it contains replaced by the code's clinical name."""
    if not text:
        return text
    pattern, names = _code_pattern()
    text = _MODALITY_PATTERN.sub(lambda m: modality(m.group(1)), str(text))
    return pattern.sub(lambda m: names[m.group(1)], text)


register.filter("zone_name", zone)
register.filter("product_name", product)
register.filter("protocol_name", protocol)
register.filter("technique_name", technique)
register.filter("device_name", device)
register.filter("modality_name", modality)
register.filter("clinical_text", clinical)


@register.filter
def label_status(code: str) -> str:
    return str(LABEL_STATUS.get(code, code))


@register.filter
def photo_use(code: str) -> str:
    from mesochart.care.models import PhotoUse

    try:
        return str(PhotoUse(code).label)
    except ValueError:
        return code


@register.filter
def rule_title(code: str) -> str:
    """The title clinicians read for a finding's code (library rule or clinic record)."""
    from mesochart.care.services.check import rule_title as title

    return title(_library(), code)


@register.filter
def limit_label(param_id: str) -> str:
    """What a per-session dose limit is called on screen (``...max_points_per_session``)."""
    from mesochart.care.workspace import LIMIT_LABELS

    key = str(param_id).rsplit(".", 1)[-1]
    return str(LIMIT_LABELS.get(key, key.replace("_", " ")))
