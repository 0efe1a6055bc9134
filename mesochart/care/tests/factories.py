"""Helpers for the consent tests: signatures, signed consents, PDF text."""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

from mesochart.care.demo import signature_png
from mesochart.care.models import ConsentKind, SignedConsent, SignerRole, SignMethod
from mesochart.care.services import consents


def signature_data_url(seed: str = "Elena Moreau") -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png(seed)).decode()


def template_of(clinic: Any, kind: str) -> Any:
    from mesochart.care.models import ConsentTemplate

    return ConsentTemplate.objects.get(clinic=clinic, kind=kind, protocol="")


def sign(
    clinic: Any, actor: Any, patient: Any, kind: str = ConsentKind.TREATMENT, **kwargs: Any
) -> SignedConsent:
    template = kwargs.pop("template", None) or template_of(clinic, kind)
    version = template.current_version()
    defaults: dict[str, Any] = {
        "signer_name": patient.full_name,
        "signer_role": SignerRole.PATIENT,
        "method": SignMethod.ON_SCREEN,
        "signature_png": signature_png(patient.full_name),
        "photo_uses": ["record_only"] if template.kind == ConsentKind.PHOTO else [],
    }
    defaults.update(kwargs)
    return consents.do_sign_consent(actor, clinic, patient, version, **defaults)


def pdf_text(data: bytes) -> str:
    """The text of a PDF: with pypdf when installed, else by decoding WeasyPrint's
    content streams through the fonts' ToUnicode maps (no dependency needed)."""
    try:
        from pypdf import PdfReader  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        import io

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            streams.append(match.group(1))
    maps: list[dict[str, str]] = []
    for stream in streams:
        if b"begincmap" not in stream:
            continue
        mapping: dict[str, str] = {}
        text = stream.decode("latin-1")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
            for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                mapping[src.lower()] = bytes.fromhex(dst).decode("utf-16-be")
        for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
            for lo, hi, dst in re.findall(
                r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
            ):
                start = int(dst, 16)
                for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                    mapping[f"{code:0{len(lo)}x}"] = chr(start + offset)
        maps.append(mapping)
    runs = []
    for stream in streams:
        if b"BT" not in stream or b"begincmap" in stream:
            continue
        for array in re.findall(rb"\[(.*?)\]\s*TJ", stream, re.S):
            hexes = re.findall(rb"<([0-9a-fA-F]+)>", array)
            glyphs = [h.decode().lower()[i : i + 4] for h in hexes for i in range(0, len(h), 4)]
            for mapping in maps:  # a glyph id means different letters in different fonts
                if glyphs and all(g in mapping for g in glyphs):
                    runs.append("".join(mapping[g] for g in glyphs))
    return "\n".join(runs)


def read(field: Any) -> bytes:
    with field.open("rb") as handle:
        return bytes(handle.read())
