"""Building blocks for the sterility tests: every object made through the services."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from mesochart.accounts.models import Clinic, User
from mesochart.sterility import services
from mesochart.sterility.models import Cycle, Pack, SterileItemLot, Steriliser

DAY = date(2026, 11, 20)  # a fixed past Friday: no test depends on the clock


def at(clinic: Clinic, day: date = DAY, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(clinic.timezone))


def make_steriliser(clinic: Clinic, actor: User, **overrides: Any) -> Steriliser:
    data = {"name": "Autoclave B", "steriliser_class": "B", "serial": "SN-1", **overrides}
    return services.do_create_steriliser(actor, clinic, data)


def cycle_data(clinic: Clinic, number: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": number,
        "started_at": at(clinic),
        "program": "134-3.5-wrapped",
        "temperature_c": Decimal("134.5"),
        "hold_min": Decimal("3.5"),
        "pressure_bar": Decimal("2.10"),
        "load_contents": "2 trays",
        "instrument_sets": ["Microneedling tray"],
        "ci_type": 5,
        "ci_result": "pass",
        "bi_lot": "",
        "bi_result": "",
        "contains_implants": False,
    }
    data.update(overrides)
    return data


def record_cycle(steriliser: Steriliser, actor: User, number: int = 1, **overrides: Any) -> Cycle:
    return services.do_record_cycle(
        actor, steriliser, cycle_data(steriliser.clinic, number, **overrides)
    )


def bowie_dick(
    steriliser: Steriliser,
    actor: User,
    result: str = "pass",
    day: date = DAY,
    hour: int = 7,
    minute: int = 30,
) -> None:
    services.do_record_bowie_dick(
        actor, steriliser, result=result, performed_at=at(steriliser.clinic, day, hour, minute)
    )


def released_cycle(
    steriliser: Steriliser, actor: User, number: int = 1, day: date = DAY, **overrides: Any
) -> Cycle:
    from mesochart.sterility.models import BowieDickTest

    if not BowieDickTest.objects.filter(steriliser=steriliser, day=day).exists():
        bowie_dick(steriliser, actor, day=day)
    cycle = record_cycle(
        steriliser,
        actor,
        number,
        started_at=at(steriliser.clinic, day, 9 + number % 4),
        **overrides,
    )
    return services.do_release_cycle(actor, cycle)


def make_pack(cycle: Cycle, actor: User, set_name: str = "Microneedling tray") -> Pack:
    return services.do_create_packs(actor, cycle, set_name=set_name, contents="forceps")[0]


def make_item_lot(clinic: Clinic, actor: User, **overrides: Any) -> SterileItemLot:
    data = {
        "kind": "cartridge",
        "product": "Pen cartridge 12-pin",
        "lot": "L2611",
        "expiry": date(2027, 6, 30),
        "quantity": 10,
        **overrides,
    }
    return services.do_create_item_lot(actor, clinic, data)
