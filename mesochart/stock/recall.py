"""Lot recall: every patient who received a lot, directly or inside a mixture.

Two ``.values_list()`` queries (no model instances, no N+1), each starting from the matching
lots by ``(organisation, lot_number)``; the movement table is indexed on ``(lot, kind)``
and ``(preparation, kind)`` so each is an index lookup, then a join to the patient.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from mesochart.recall.rows import RecallRow

from .models import Lot, MovementKind, StockMovement

PATIENT_FIELDS = (
    "patient_id",
    "patient__mrn",
    "patient__given_name",
    "patient__family_name",
    "patient__birth_date",
    "patient__phone",
    "patient__email",
    "clinic__name",
    "occurred_at",
    "session_ref",
    "zone",
    "quantity",
    "unit",
)


def lots_matching(
    organisation_id: uuid.UUID, lot_number: str, product: str | None = None
) -> list[dict[str, Any]]:
    """The organisation's lots with this number (all clinics), as dicts: id, product,
    lot_number, expiry, status, clinic name."""
    lots = Lot.objects.filter(organisation_id=organisation_id, lot_number=lot_number.strip())
    if product:
        lots = lots.filter(product=product)
    return [
        dict(row)
        for row in lots.order_by("product", "clinic__name").values(
            "id", "product", "lot_number", "expiry", "status", "clinic_id", "clinic__name"
        )
    ]


def _row(v: tuple[Any, ...], product: str, lot: str, via: str) -> RecallRow:
    """A row from ``PATIENT_FIELDS`` values, in that order."""
    quantity: Decimal | None = v[11]
    return RecallRow(
        patient_id=v[0],
        mrn=v[1],
        patient_name=f"{v[2]} {v[3]}",
        birth_date=v[4].isoformat(),
        phone=v[5],
        email=v[6],
        clinic_name=v[7],
        occurred_at=v[8],
        session_ref=v[9],
        zone=v[10],
        product=product,
        lot=lot,
        quantity=-quantity if quantity is not None else None,
        unit=v[12],
        via=via,
    )


def rows_for_lot(
    organisation_id: uuid.UUID, lot_number: str, product: str | None = None
) -> list[RecallRow]:
    """Every administration of the lot(s) numbered ``lot_number`` in the organisation,
    direct (``via="direct"``) and through mixture preparations
    (``via="mixture MIX-xxxxxxxx <mixture code>"``), oldest first. Two queries."""
    lot_number = lot_number.strip()
    direct_lots = {"lot__organisation_id": organisation_id, "lot__lot_number": lot_number}
    if product:
        direct_lots["lot__product"] = product
    direct = (
        StockMovement.objects.filter(kind=MovementKind.ADMINISTERED, **direct_lots)
        .values_list(*PATIENT_FIELDS, "lot__product", "lot__lot_number")
        .order_by()
    )
    rows = [_row(v, v[13], v[14], "direct") for v in direct]
    # Administrations of a preparation whose ``mixed`` components include the lot: the
    # component movement and the administration share the preparation (one join).
    component = "preparation__movements__"
    mixed = (
        StockMovement.objects.filter(
            kind=MovementKind.ADMINISTERED,
            **{f"{component}kind": MovementKind.MIXED},
            **{f"{component}{k}": v for k, v in direct_lots.items()},
        )
        .values_list(
            *PATIENT_FIELDS,
            f"{component}lot__product",
            f"{component}lot__lot_number",
            "preparation_id",
            "preparation__mixture",
        )
        .order_by()
    )
    rows.extend(_row(v, v[13], v[14], f"mixture MIX-{str(v[15])[:8]} {v[16]}") for v in mixed)
    rows.sort(key=lambda r: (r.occurred_at, r.mrn))
    return rows
