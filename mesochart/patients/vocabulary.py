"""Screening vocabulary shared with the safety engine (contracts/check-session.md).

The codes are fixed by the contract and the protocol library; labels are for
staff. A test keeps the codes equal to the library's vocabulary.
"""

from __future__ import annotations

from mesochart.protocols import load_library

CONDITIONS: dict[str, str] = {
    "active_infection_site": "Active infection at a treatment site",
    "herpes_labialis": "Herpes labialis (cold sores)",
    "keloid_tendency": "Keloid or hypertrophic scar tendency",
    "autoimmune_disease": "Autoimmune disease",
    "immunosuppression": "Immunosuppression",
    "bleeding_disorder": "Bleeding disorder / coagulopathy",
    "body_dysmorphic_disorder": "Body dysmorphic disorder",
    "dysphagia": "Dysphagia (current or history)",
    "pacemaker": "Pacemaker or implanted defibrillator",
    "uncontrolled_diabetes": "Uncontrolled diabetes",
    "thyroid_enlargement": "Thyroid enlargement",
}

MEDICATION_CLASSES: dict[str, str] = {
    "anticoagulant": "Anticoagulant",
    "antiplatelet": "Antiplatelet (incl. aspirin)",
    "immunosuppressant": "Immunosuppressant",
}

# Allergies are recorded as ingredients of the protocol library, so screening
# can match them against every product and mixture.
ALLERGY_INGREDIENTS: dict[str, str] = {
    code: ingredient.name for code, ingredient in load_library().ingredients.items()
}

FITZPATRICK: dict[int, str] = {
    1: "I - always burns, never tans",
    2: "II - always burns, tans with difficulty",
    3: "III - sometimes burns, tans about average",
    4: "IV - rarely burns, tans easily",
    5: "V - never burns, tans very easily",
    6: "VI - never burns, heavily pigmented",
}

GLOGAU: dict[int, str] = {
    1: "I - no wrinkles",
    2: "II - wrinkles in motion",
    3: "III - wrinkles at rest",
    4: "IV - only wrinkles",
}
