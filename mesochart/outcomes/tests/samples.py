"""Objects of ``clinic`` for every id parameter of the photo URLs (see the URL walker)."""

from __future__ import annotations

from typing import Any

from .factories import photo_consent, upload


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    photo_consent(clinic, staff, patient)
    return {"photo_id": upload(clinic, staff, patient).pk}
