"""Screening of a patient's medical profile against every protocol (engine ``screen``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mesochart.protocols import Library, Result, screen
from mesochart.protocols import Patient as EnginePatient

from .models import Patient


def engine_patient(patient: Patient) -> EnginePatient:
    """The engine's view of a patient: demographics plus the current medical profile."""
    profile = patient.profile
    return EnginePatient(
        birth_date=patient.birth_date,
        sex=patient.sex,
        pregnant=profile.pregnant,
        breastfeeding=profile.breastfeeding,
        bmi=float(profile.bmi) if profile.bmi is not None else None,
        fitzpatrick=profile.fitzpatrick,
        conditions=tuple(profile.conditions),
        medications=tuple(profile.medications),
        allergies=tuple(profile.allergies),
        isotretinoin_last_dose=profile.isotretinoin_last_dose,
    )


@dataclass(frozen=True)
class ProtocolScreening:
    code: str
    name: str
    result: Result


def screen_all(patient: Patient, library: Library, on: date) -> list[ProtocolScreening]:
    """Every protocol of the (clinic-tuned) library screened for this patient on ``on``."""
    subject = engine_patient(patient)
    return [
        ProtocolScreening(code, protocol.name, screen(subject, code, on, library=library))
        for code, protocol in library.protocols.items()
    ]
