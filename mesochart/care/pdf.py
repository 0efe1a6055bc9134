"""The signed consent as a PDF (WeasyPrint), kept with the record."""

from __future__ import annotations

import base64
import zoneinfo
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from PIL import ImageFile

from .models import SignedConsent


def pdf_stylesheet(name: str) -> Any:
    """A stylesheet of the app's static files for WeasyPrint (templates carry no inline CSS)."""
    from weasyprint import CSS

    path = finders.find(name)
    assert isinstance(path, str), name
    return CSS(filename=path)


def render_consent_pdf(consent: SignedConsent) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango on first use

    # Importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES to True,
    # which would let truncated uploads (photos, scans, signatures) pass our checks.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    signature_uri = ""
    if consent.signature:
        with consent.signature.open("rb") as handle:
            signature_uri = "data:image/png;base64," + base64.b64encode(handle.read()).decode()
    html = render_to_string(
        "care/consent_pdf.html",
        {
            "consent": consent,
            "patient": consent.patient,
            "clinic": consent.clinic,
            "signature_uri": signature_uri,
            "signed_local": consent.signed_at.astimezone(
                zoneinfo.ZoneInfo(consent.clinic.timezone)
            ),
        },
    )
    pdf = HTML(string=html).write_pdf(stylesheets=[pdf_stylesheet("care/consent_pdf.css")])
    assert pdf is not None
    return bytes(pdf)
