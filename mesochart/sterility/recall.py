"""Sterility -> patients: which patients a pack, a load, or a failed BI reached.

Each function runs one ``.values()`` query (plus one to find the cycle or
failed load) and returns ``RecallRow``s, newest use first.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from mesochart.recall.rows import RecallRow

from .models import Cycle, PackUse, Steriliser

_VALUES = (
    "patient_id",
    "patient__mrn",
    "patient__given_name",
    "patient__family_name",
    "patient__birth_date",
    "patient__phone",
    "patient__email",
    "clinic__name",
    "used_at",
    "session_ref",
    "pack__code",
    "pack__set_name",
    "pack__cycle__number",
    "pack__cycle__steriliser__name",
)


def _rows(uses: QuerySet[PackUse], via: str | None = None) -> list[RecallRow]:
    rows = []
    for v in uses.order_by("-used_at", "pack__code").values(*_VALUES):
        rows.append(_row(v, via or f"pack {v['pack__code']}"))
    return rows


def _row(v: dict[str, Any], via: str) -> RecallRow:
    return RecallRow(
        patient_id=v["patient_id"],
        mrn=v["patient__mrn"],
        patient_name=f"{v['patient__given_name']} {v['patient__family_name']}",
        birth_date=v["patient__birth_date"].isoformat(),
        phone=v["patient__phone"],
        email=v["patient__email"],
        clinic_name=v["clinic__name"],
        occurred_at=v["used_at"],
        session_ref=v["session_ref"],
        zone="",
        product=v["pack__set_name"],
        lot=v["pack__code"],
        quantity=None,
        unit="",
        via=via,
    )


def _cycle_via(v: dict[str, Any]) -> str:
    return (
        f"cycle C-{v['pack__cycle__number']} ({v['pack__cycle__steriliser__name']}), "
        f"pack {v['pack__code']}"
    )


def rows_for_pack(
    organisation_id: uuid.UUID, pack_code: str, clinic_id: uuid.UUID | None = None
) -> list[RecallRow]:
    """Patients a pack was used on. Pack ids count per clinic: pass ``clinic_id``
    to pick one clinic's pack; without it every clinic of the organisation answers."""
    uses = PackUse.objects.filter(
        organisation_id=organisation_id, pack__code=pack_code.strip().upper()
    )
    if clinic_id is not None:
        uses = uses.filter(clinic_id=clinic_id)
    return _rows(uses)


def _cycle_ids(
    organisation_id: uuid.UUID,
    cycle_id_or_number: uuid.UUID | str | int,
    steriliser: Steriliser | uuid.UUID | None,
) -> list[uuid.UUID]:
    cycles = Cycle.objects.filter(organisation_id=organisation_id)
    if steriliser is not None:
        steriliser_id = steriliser.pk if isinstance(steriliser, Steriliser) else steriliser
        cycles = cycles.filter(steriliser_id=steriliser_id)
    if isinstance(cycle_id_or_number, uuid.UUID):
        cycles = cycles.filter(pk=cycle_id_or_number)
    else:
        text = str(cycle_id_or_number).strip()
        try:
            cycles = cycles.filter(pk=uuid.UUID(text))
        except ValueError:
            number = text.upper().removeprefix("C-")
            if not number.isdigit():
                return []
            cycles = cycles.filter(number=int(number))
    return list(cycles.values_list("pk", flat=True))


def rows_for_cycle(
    organisation_id: uuid.UUID,
    cycle_id_or_number: uuid.UUID | str | int,
    steriliser: Steriliser | uuid.UUID | None = None,
) -> list[RecallRow]:
    """Patients any pack of a load was used on.

    ``cycle_id_or_number`` is the cycle's UUID or its number ("1234" or "C-1234");
    cycle numbers count per steriliser, so give ``steriliser`` with a number.
    """
    cycle_ids = _cycle_ids(organisation_id, cycle_id_or_number, steriliser)
    if not cycle_ids:
        return []
    uses = PackUse.objects.filter(organisation_id=organisation_id, pack__cycle_id__in=cycle_ids)
    return [
        _row(v, _cycle_via(v)) for v in uses.order_by("-used_at", "pack__code").values(*_VALUES)
    ]


def suspect_rows(organisation_id: uuid.UUID, failed_cycle_id: uuid.UUID) -> list[RecallRow]:
    """Patients reached by the packs a failed BI on ``failed_cycle_id`` made suspect."""
    uses = PackUse.objects.filter(
        organisation_id=organisation_id, pack__suspect_cycle_id=failed_cycle_id
    )
    return [
        _row(v, "suspect (failed BI), " + _cycle_via(v))
        for v in uses.order_by("-used_at", "pack__code").values(*_VALUES)
    ]
