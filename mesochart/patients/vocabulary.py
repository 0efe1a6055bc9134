"""Screening vocabulary shared with the safety engine (contracts/check-session.md).

The codes are fixed by the contract; labels are for staff.
"""

from __future__ import annotations

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

ALLERGY_INGREDIENTS: dict[str, str] = {
    "hyaluronic_acid": "Hyaluronic acid",
    "deoxycholic_acid": "Deoxycholic acid",
    "caffeine": "Caffeine",
    "lidocaine": "Lidocaine (amide local anaesthetics)",
    "vitamins": "Vitamin complexes",
    "ascorbic_acid": "Ascorbic acid (vitamin C)",
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
