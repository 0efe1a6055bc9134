"""Demo data for the sterility app, created through the services (so audited).

Idempotent: the steriliser is found by name; cycles by number; today's
Bowie-Dick test is added only if today has none.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mesochart.accounts.models import Clinic, User
from mesochart.patients.models import Patient

from . import services
from .models import BiResult, BowieDickTest, Cycle, CycleStatus, Pack, Steriliser

STERILISER_NAME = "Autoclave 1 (class B)"
SETS = [
    ("Microneedling tray", "Kidney dish, forceps, gallipot, gauze"),
    ("Mesotherapy tray", "Forceps, gallipot, gauze, mixing bowl"),
]


@dataclass
class SterilityDemo:
    steriliser: Steriliser
    cycles_created: int
    packs_used: int


def _at(clinic: Clinic, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(clinic.timezone))


def _cycle_data(clinic: Clinic, number: int, started_at: datetime, **extra: object) -> dict:
    data: dict[str, object] = {
        "number": number,
        "started_at": started_at,
        "program": "134-3.5-wrapped",
        "temperature_c": Decimal("134.4"),
        "hold_min": Decimal("3.6"),
        "pressure_bar": Decimal("2.16"),
        "load_contents": "2 wrapped trays, 4 pouches",
        "instrument_sets": [name for name, _ in SETS],
        "ci_type": 5,
        "ci_result": "pass",
        "bi_lot": "",
        "bi_result": "",
        "contains_implants": False,
    }
    data.update(extra)
    return data


def load_sterility_demo(clinic: Clinic, actor: User, patients: Sequence[Patient]) -> SterilityDemo:
    today = clinic.today()
    created = used = 0
    with transaction.atomic():
        steriliser = Steriliser.objects.filter(clinic=clinic, name=STERILISER_NAME).first()
        if steriliser is None:
            steriliser = services.do_create_steriliser(
                actor,
                clinic,
                {"name": STERILISER_NAME, "steriliser_class": "B", "serial": "B17-0042"},
            )
            if services.policy_for(clinic).pack_shelf_life_days is None:
                services.do_set_shelf_life(actor, clinic, 180)
        now = timezone.now()
        if not BowieDickTest.objects.filter(steriliser=steriliser, day=today).exists():
            start_of_day = _at(clinic, today, 0, 1)
            services.do_record_bowie_dick(
                actor,
                steriliser,
                result="pass",
                performed_at=max(start_of_day, now - timedelta(minutes=1)),
                test_pack_lot="BD-2611",
            )
        # Three released loads on the last three days, each after its Bowie-Dick test.
        patient_iter = iter(patients)
        for offset, number in ((3, 101), (2, 102), (1, 103)):
            if Cycle.objects.filter(steriliser=steriliser, number=number).exists():
                continue
            day = today - timedelta(days=offset)
            services.do_record_bowie_dick(
                actor, steriliser, result="pass", performed_at=_at(clinic, day, 7, 45)
            )
            extra: dict[str, object] = {}
            if number == 101:
                extra = {"bi_lot": "GS-2024-17", "bi_result": BiResult.PASS}
            cycle = services.do_record_cycle(
                actor, steriliser, _cycle_data(clinic, number, _at(clinic, day, 8, 30), **extra)
            )
            created += 1
            services.do_release_cycle(actor, cycle)
            for set_name, contents in SETS:
                services.do_create_packs(
                    actor,
                    cycle,
                    set_name=set_name,
                    contents=contents,
                    count=2,
                    packed_at=cycle.started_at - timedelta(minutes=20),
                )
            for pack in Pack.objects.filter(cycle=cycle).order_by("code")[:2]:
                patient = next(patient_iter, None)
                if patient is None:
                    break
                services.do_use_pack(
                    actor, clinic, pack, patient, _at(clinic, day, 11, 0) + timedelta(minutes=used)
                )
                used += 1
        # One implant load waiting in quarantine for its BI.
        if not Cycle.objects.filter(steriliser=steriliser, number=104).exists():
            data = _cycle_data(
                clinic,
                104,
                _at(clinic, today - timedelta(days=1), 14, 0),
                bi_lot="GS-2024-18",
                bi_result=BiResult.PENDING,
                contains_implants=True,
                load_contents="Implant load: 1 wrapped tray",
            )
            cycle = services.do_record_cycle(actor, steriliser, data)
            assert cycle.status == CycleStatus.QUARANTINED
            services.do_create_packs(
                actor,
                cycle,
                set_name=SETS[0][0],
                contents=SETS[0][1],
                packed_at=cycle.started_at - timedelta(minutes=20),
            )
            created += 1
    return SterilityDemo(steriliser, created, used)
