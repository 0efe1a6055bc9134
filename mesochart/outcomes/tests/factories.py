"""Helpers for the photo tests: a real face photo, signed photo consents, uploads."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from PIL import Image

from mesochart.care import services as care_services
from mesochart.care.models import ConsentKind
from mesochart.care.tests.factories import sign
from mesochart.outcomes import services


@cache
def astronaut_png() -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_with_exif() -> bytes:
    from skimage import data

    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "TrackingSoftware 1.0"  # Software
    exif[0x0132] = "2024:01:02 03:04:05"  # DateTime
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def photo_consent(clinic: Any, staff: Any, patient: Any) -> Any:
    care_services.ensure_default_templates(clinic, staff["manager"])
    return sign(clinic, staff["practitioner"], patient, ConsentKind.PHOTO)


def upload(clinic: Any, staff: Any, patient: Any, data: bytes | None = None, **kw: Any) -> Any:
    return services.do_upload_photo(
        staff["practitioner"],
        clinic,
        patient,
        kw.pop("view", "front"),
        astronaut_png() if data is None else data,
        "astronaut.png",
        **kw,
    )
