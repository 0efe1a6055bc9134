"""Outcome scales as data: id, range, a label per value, direction, rater and source.

Pure Python (no Django). A stored score keeps the scale id, version and direction it
was recorded with, because two numbering conventions exist for GAIS (reference §7.1:
"Store scale id + direction"). See docs/outcomes.md.
"""

from __future__ import annotations

from dataclasses import dataclass

LOWER_IS_BETTER = "lower_is_better"
HIGHER_IS_BETTER = "higher_is_better"

# "status" scales describe the state now (a change needs a baseline: last - first);
# "judgment" scales are rated against the start (GAIS) or are an opinion (satisfaction):
# they have no baseline value and their summary is the last rating.
STATUS = "status"
JUDGMENT = "judgment"

CLINICIAN = "clinician"
PATIENT = "patient"

# Protocols of the submental fat scales (§7.4 ATX-101 programme): deoxycholic acid in
# the submental area; contour-lipolytic only when the submental zone was treated.
SUBMENTAL_PROTOCOLS = ("submental-dca", "contour-lipolytic")
SUBMENTAL_ZONE = "submental"


@dataclass(frozen=True)
class Scale:
    id: str
    version: str
    name: str
    rater: str
    kind: str
    direction: str
    labels: tuple[tuple[int, str], ...]
    source: str
    evidence: str
    protocols: tuple[str, ...] | None = None  # None: any protocol
    local: bool = False

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(v for v, _ in self.labels)

    @property
    def minimum(self) -> int:
        return min(self.values)

    @property
    def maximum(self) -> int:
        return max(self.values)

    def label(self, value: int) -> str:
        return dict(self.labels).get(value, str(value))

    def improvement(self, first: float, last: float) -> float:
        """Change from ``first`` to ``last``, positive when better whatever the direction."""
        return (first - last) if self.direction == LOWER_IS_BETTER else (last - first)


GAIS_LABELS = (
    (1, "Very much improved: optimal cosmetic result"),
    (2, "Much improved: marked improvement, not completely optimal"),
    (3, "Improved: obvious improvement from the initial condition"),
    (4, "No change: essentially the same as the original condition"),
    (5, "Worse: worse than the original condition"),
)
GAIS_SOURCE = (
    "Reference §7.1: GAIS 1-5, lower is better (SkinPen study IFU, investigator and "
    "subject versions; DocCheck Flexikon). Some sources score 0-4 reversed: stored "
    "with scale id and direction."
)

SCALES: dict[str, Scale] = {
    s.id: s
    for s in (
        Scale(
            id="gais-clinician",
            version="1-5",
            name="GAIS, rated by the clinician",
            rater=CLINICIAN,
            kind=JUDGMENT,
            direction=LOWER_IS_BETTER,
            labels=GAIS_LABELS,
            source=GAIS_SOURCE,
            evidence="L",
        ),
        Scale(
            id="gais-patient",
            version="1-5",
            name="GAIS, rated by the patient",
            rater=PATIENT,
            kind=JUDGMENT,
            direction=LOWER_IS_BETTER,
            labels=GAIS_LABELS,
            source=GAIS_SOURCE,
            evidence="L",
        ),
        Scale(
            id="cr-smfrs",
            version="0-4",
            name="CR-SMFRS (Clinician-Reported Submental Fat Rating Scale)",
            rater=CLINICIAN,
            kind=STATUS,
            direction=LOWER_IS_BETTER,
            labels=(
                (0, "Absent: no localised submental fat"),
                (1, "Mild: minimal localised submental fat"),
                (2, "Moderate: prominent localised submental fat"),
                (3, "Severe: marked amount of chin fat"),
                (4, "Extreme: marked localised submental fat"),
            ),
            source="Reference §7.4: CR-SMFRS 0-4 (NCT02438813); responder CR-1 = at least "
            "1 grade better",
            evidence="G",
            protocols=SUBMENTAL_PROTOCOLS,
        ),
        Scale(
            id="pr-smfrs",
            version="0-4",
            name="PR-SMFRS (Patient-Reported Submental Fat Rating Scale)",
            rater=PATIENT,
            kind=STATUS,
            direction=LOWER_IS_BETTER,
            labels=(
                (0, "No chin fat at all"),
                (1, "A slight amount of chin fat"),
                (2, "A moderate amount of chin fat"),
                (3, "A large amount of chin fat"),
                (4, "A very large amount of chin fat"),
            ),
            source="Reference §7.4: PR-SMFRS 0-4, 'How much fat do you have under your chin "
            "right now?' (NCT02159729); responder PR-1 = at least 1 grade better",
            evidence="G",
            protocols=SUBMENTAL_PROTOCOLS,
        ),
        Scale(
            id="satisfaction-5",
            version="1",
            name="Patient satisfaction (local 5-point Likert scale)",
            rater=PATIENT,
            kind=JUDGMENT,
            direction=HIGHER_IS_BETTER,
            labels=(
                (1, "Very dissatisfied"),
                (2, "Dissatisfied"),
                (3, "Neither satisfied nor dissatisfied"),
                (4, "Satisfied"),
                (5, "Very satisfied"),
            ),
            source="Mesochart local scale: a plain 5-point Likert question 'How satisfied "
            "are you with the result?'. Not a validated instrument (validated ones such as "
            "FACE-Q, reference §7.5, are licensed questionnaires).",
            evidence="P",
            local=True,
        ),
    )
}


def scale(scale_id: str) -> Scale:
    """The scale ``scale_id``; ``KeyError`` when unknown."""
    return SCALES[scale_id]


def scales_for_protocol(protocol: str | None) -> list[Scale]:
    """Scales that may be recorded for ``protocol`` (all general scales when None)."""
    return [s for s in SCALES.values() if s.protocols is None or protocol in s.protocols]
