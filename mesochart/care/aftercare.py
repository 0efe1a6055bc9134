"""The aftercare sheet of a session: the protocol's instructions with the clinic's tuned
values (practice defaults, reference §8) and the red flags to call about.

Shown on screen and printed as a PDF (WeasyPrint). Each instruction keeps its evidence
level and source so a clinic can see where a number comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from PIL import ImageFile

from mesochart.library.services import library_for
from mesochart.protocols import Param

from .models import TreatmentSession
from .pdf import pdf_stylesheet
from .services.check import session_entries
from .services.followups import surveillance_days

# How each instruction reads to a patient; ``{n}`` and ``{unit}`` come from the library.
PHRASES: dict[str, str] = {
    "no_makeup": "No make-up for {n} {unit}.",
    "no_washing": "Do not wash the treated area for {n} {unit}.",
    "no_hair_washing": "Do not wash your hair for {n} {unit}.",
    "avoid_sun": "Avoid direct sun for {n} {unit}.",
    "spf_30_daily": "Use sunscreen SPF 30 or higher every day for {n} {unit}.",
    "no_exercise": "No strenuous exercise for {n} {unit}.",
    "no_sauna_pool": "No sauna, steam room or swimming pool for {n} {unit}.",
    "no_actives": "No retinoids, acids (AHA/BHA) or vitamin C products for {n} {unit}.",
    "no_other_procedures": "No peels, laser or other skin procedures for {n} {unit}.",
    "no_alcohol": "No alcohol for {n} {unit}.",
    "ice_minutes": "Cool the area with a wrapped ice pack, {n} {unit}.",
    "expected_swelling": "Swelling is expected and usually settles within {n} {unit}.",
}


@dataclass(frozen=True)
class Instruction:
    code: str
    text: str
    evidence: str
    source: str


@dataclass(frozen=True)
class AftercareSheet:
    title: str
    template: str
    instructions: list[Instruction]
    red_flags: str
    surveillance_note: str
    treated: list[dict[str, Any]]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _text(code: str, param: Param) -> str:
    phrase = PHRASES.get(code, code.replace("_", " ").capitalize() + ": {n} {unit}.")
    return phrase.format(n=_number(param.number), unit=param.unit)


def sheet_for(session: TreatmentSession) -> AftercareSheet:
    library = library_for(session.clinic)
    proto = library.protocols[session.protocol]
    template = library.aftercare[proto.aftercare]
    instructions = [
        Instruction(code, _text(code, param), param.evidence, param.source)
        for code, param in template.items.items()
    ]
    weeks = surveillance_days(library) // 7
    treated: dict[str, dict[str, Any]] = {}
    for entry in session_entries(session):
        row = treated.setdefault(
            entry.zone,
            {
                "zone": library.zones[entry.zone].name
                if entry.zone in library.zones
                else entry.zone,
                "products": set(),
            },
        )
        if entry.product:
            name = (
                library.products[entry.product].name
                if entry.product in library.products
                else entry.product
            )
            row["products"].add(name)
    return AftercareSheet(
        title=f"Aftercare: {proto.name}",
        template=proto.aftercare,
        instructions=instructions,
        red_flags=template.red_flags,
        surveillance_note=(
            f"For {weeks} weeks after treatment, tell the clinic about any new lump, pus or "
            "a site that does not heal, even if it appears weeks later."
        ),
        treated=[{"zone": r["zone"], "products": sorted(r["products"])} for r in treated.values()],
    )


def render_pdf(session: TreatmentSession) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango on first use

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # see care/pdf.py
    html = render_to_string(
        "care/aftercare_pdf.html",
        {
            "session": session,
            "patient": session.patient,
            "clinic": session.clinic,
            "sheet": sheet_for(session),
            "day": session.day,
        },
    )
    pdf = HTML(string=html).write_pdf(stylesheets=[pdf_stylesheet("care/aftercare_pdf.css")])
    assert pdf is not None
    return bytes(pdf)
