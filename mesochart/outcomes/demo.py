"""Demo outcomes for the main clinic: a few scores and adverse events linked to demo lots
(sessions are not in the demo yet). Created once, through the services (audited)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction

from mesochart.accounts.models import Clinic, User
from mesochart.patients.models import Patient
from mesochart.stock.models import Lot

from . import services
from .models import AdverseEvent, OutcomeScore


def load_outcomes_demo(
    clinic: Clinic, actor: User, patients: Sequence[Patient], lots: Sequence[Lot]
) -> None:
    if len(patients) < 4 or not lots:
        return
    if (
        AdverseEvent.objects.filter(clinic=clinic).exists()
        or OutcomeScore.objects.filter(clinic=clinic).exists()
    ):
        return  # loaded by an earlier run
    today = clinic.today()
    lot = lots[0]
    with transaction.atomic():
        for i, (gais, satisfaction) in enumerate(((2, 5), (3, 4), (4, 3))):
            for scale_id, value in (("gais-clinician", gais), ("satisfaction-5", satisfaction)):
                services.do_record_score(
                    actor,
                    clinic,
                    patients[i],
                    scale_id=scale_id,
                    value=value,
                    timepoint="end_of_course",
                    assessed_on=today - timedelta(days=7 * i),
                    protocol="skin-booster",
                )
        for value, days, timepoint in ((3, 70, "baseline"), (2, 0, "end_of_course")):
            services.do_record_score(
                actor,
                clinic,
                patients[3],
                scale_id="cr-smfrs",
                value=value,
                timepoint=timepoint,
                assessed_on=today - timedelta(days=days),
                protocol="submental-dca",
            )
        base: dict[str, Any] = {
            "ctcae_term": "",
            "ctcae_grade": None,
            "serious": False,
            "serious_criteria": [],
            "actions_taken": "",
        }
        services.do_record_adverse_event(
            actor,
            clinic,
            patients[0],
            {
                **base,
                "event_type": "bruising",
                "detail": "Small bruise at two injection points of the left cheek",
                "onset": today - timedelta(days=20),
                "severity": "mild",
                "causality": "certain",
                "outcome": "recovered",
                "lots": [lot],
            },
        )
        services.do_record_adverse_event(
            actor,
            clinic,
            patients[1],
            {
                **base,
                "event_type": "nodule",
                "detail": "Tender 1 cm nodule, right cheek, three weeks after the session",
                "onset": today - timedelta(days=12),
                "severity": "moderate",
                "ctcae_term": "Injection site reaction",
                "ctcae_grade": 2,
                "causality": "probable",
                "outcome": "not_recovered",
                "actions_taken": "Oral antibiotic course, review in one week",
                "antibiotics_given": True,
                "lots": [lot],
            },
        )
        services.do_record_adverse_event(
            actor,
            clinic,
            patients[2],
            {
                **base,
                "event_type": "infection",
                "detail": "Red, warm papules at injection points",
                "onset": today - timedelta(days=5),
                "severity": "moderate",
                "causality": "possible",
                "outcome": "recovering",
                "antibiotics_given": True,
                "lots": [lot],
            },
        )
