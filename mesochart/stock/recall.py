"""Lot recall: every patient who received a lot, directly or inside a mixture.

Two ``.values()`` queries (no model instances, no N+1), each starting from the matching
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


def _row(values: dict[str, Any], product: str, lot: str, via: str) -> RecallRow:
    quantity: Decimal | None = values["quantity"]
    return RecallRow(
        patient_id=values["patient_id"],
        mrn=values["patient__mrn"],
        patient_name=f"{values['patient__given_name']} {values['patient__family_name']}",
        birth_date=values["patient__birth_date"].isoformat(),
        phone=values["patient__phone"],
        email=values["patient__email"],
        clinic_name=values["clinic__name"],
        occurred_at=values["occurred_at"],
        session_ref=values["session_ref"],
        zone=values["zone"],
        product=product,
        lot=lot,
        quantity=-quantity if quantity is not None else None,
        unit=values["unit"],
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
        .values("lot__product", "lot__lot_number", *PATIENT_FIELDS)
        .order_by()
    )
    rows = [_row(v, v["lot__product"], v["lot__lot_number"], "direct") for v in direct]
    # Administrations of a preparation whose ``mixed`` components include the lot: the
    # component movement and the administration share the preparation (one join).
    component = "preparation__movements__"
    component_lots = {f"{component}{k}": v for k, v in direct_lots.items()}
    mixed = (
        StockMovement.objects.filter(
            kind=MovementKind.ADMINISTERED,
            **{f"{component}kind": MovementKind.MIXED},
            **component_lots,
        )
        .values(
            "preparation_id",
            "preparation__mixture",
            f"{component}lot__product",
            f"{component}lot__lot_number",
            *PATIENT_FIELDS,
        )
        .order_by()
    )
    for v in mixed:
        via = f"mixture MIX-{str(v['preparation_id'])[:8]} {v['preparation__mixture']}"
        rows.append(_row(v, v[f"{component}lot__product"], v[f"{component}lot__lot_number"], via))
    rows.sort(key=lambda r: (r.occurred_at, r.mrn))
    return rows
