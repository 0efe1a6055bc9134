"""Objects of ``clinic`` for every id parameter of the outcomes URLs (see the URL walker)."""

from __future__ import annotations

from typing import Any

from mesochart.outcomes.models import ClusterAlert

from .factories import make_lot, photo_consent, record_ae, upload


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    photo_consent(clinic, staff, patient)
    lot = make_lot(clinic, staff, "WALK-AE")
    event = record_ae(clinic, staff, patient, event_type="infection", lots=[lot])
    record_ae(clinic, staff, patient, event_type="nodule", lots=[lot])
    alert = ClusterAlert.objects.get(clinic=clinic)
    return {
        "photo_id": upload(clinic, staff, patient).pk,
        "event_id": event.pk,
        "alert_id": alert.pk,
    }
