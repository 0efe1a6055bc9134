"""The shape of one recall answer row, shared by the apps that trace to patients.

``stock.recall`` (lot -> administrations, through mixtures) and
``sterility.recall`` (pack or cycle -> pack uses) both return lists of
``RecallRow``; the recall app's command, pages and CSV present them. Plain
dataclass, no Django: rows are built from ``.values()`` queries.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class RecallRow:
    patient_id: uuid.UUID
    mrn: str
    patient_name: str
    birth_date: str  # ISO date
    phone: str
    email: str
    clinic_name: str
    occurred_at: datetime  # when the product was administered or the pack used
    session_ref: uuid.UUID | None  # the treatment session, once sessions exist
    zone: str  # zone code ("" when not recorded)
    product: str  # product or instrument set
    lot: str  # product lot number, or pack id for packs
    quantity: Decimal | None
    unit: str
    via: str  # "direct", "mixture MIX-...", "pack P-...", "cycle C-..."

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["patient_id"] = str(self.patient_id)
        data["occurred_at"] = self.occurred_at.isoformat()
        data["session_ref"] = str(self.session_ref) if self.session_ref else ""
        data["quantity"] = str(self.quantity) if self.quantity is not None else ""
        return data


COLUMNS = [f.name for f in fields(RecallRow)]
