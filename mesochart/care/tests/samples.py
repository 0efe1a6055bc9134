"""Objects of ``clinic`` for every id parameter of the care URLs (see the URL walker)."""

from __future__ import annotations

from typing import Any

from mesochart.care import services

from .factories import sign


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    templates = services.ensure_default_templates(clinic, staff["manager"])
    consent = sign(clinic, staff["practitioner"], patient)
    return {"template_id": templates[0].pk, "consent_id": consent.pk}
