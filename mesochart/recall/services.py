"""Recall both ways: a lot, pack or cycle -> the patients it reached.

The tracing itself lives with the records (``stock.recall``, ``sterility.recall``);
this module dispatches, limits web answers to the active clinic, and records
that a recall was run and who was contacted (both audited).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import InvalidInput
from mesochart.patients.models import Patient

from .models import ContactMark, RecallKind
from .rows import RecallRow


def find_rows(
    organisation_id: uuid.UUID, kind: str, identifier: str, product: str | None = None
) -> list[RecallRow]:
    """Every administration or pack use reached by the lot, pack or cycle, oldest first."""
    identifier = identifier.strip()
    if not identifier:
        raise InvalidInput("Enter the lot number, pack id or cycle number.", field="identifier")
    if kind == RecallKind.LOT:
        from mesochart.stock.recall import rows_for_lot

        rows = rows_for_lot(organisation_id, identifier, product=product or None)
    elif kind == RecallKind.PACK:
        from mesochart.sterility.recall import rows_for_pack

        rows = rows_for_pack(organisation_id, identifier)
    elif kind == RecallKind.CYCLE:
        from mesochart.sterility.recall import rows_for_cycle

        rows = rows_for_cycle(organisation_id, identifier)
    else:
        raise InvalidInput(f"Unknown recall kind {kind!r}: use lot, pack or cycle.", field="kind")
    return sorted(rows, key=lambda r: (r.occurred_at, r.mrn))


def rows_for_clinic(clinic: Clinic, rows: list[RecallRow]) -> list[RecallRow]:
    """Only the rows of the clinic's own patients (one query)."""
    ids = {r.patient_id for r in rows}
    own = set(Patient.objects.filter(clinic=clinic, pk__in=ids).values_list("pk", flat=True))
    return [r for r in rows if r.patient_id in own]


def do_run_recall(
    actor: User, clinic: Clinic, kind: str, identifier: str, product: str | None = None
) -> list[RecallRow]:
    rows = rows_for_clinic(clinic, find_rows(clinic.organisation_id, kind, identifier, product))
    record(
        "recall.run",
        actor=actor,
        clinic=clinic,
        object_type=f"recall.{kind}",
        object_id=identifier.strip()[:64],
        details={
            "product": product or "",
            "rows": len(rows),
            "patients": len({r.patient_id for r in rows}),
        },
    )
    return rows


def do_mark_contacted(
    actor: User, clinic: Clinic, patient: Patient, kind: str, identifier: str, note: str
) -> ContactMark:
    note = note.strip()
    if not note:
        raise InvalidInput(
            "Say how the patient was contacted and what they were told.", field="note"
        )
    if kind not in RecallKind.values:
        raise InvalidInput(f"Unknown recall kind {kind!r}.", field="kind")
    with transaction.atomic():
        mark = ContactMark.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            kind=kind,
            identifier=identifier.strip(),
            note=note,
            contacted_by=actor,
            contacted_at=timezone.now(),
        )
        record(
            "recall.contacted",
            actor=actor,
            clinic=clinic,
            obj=patient,
            details={"kind": kind, "identifier": identifier.strip(), "note": note},
        )
    return mark


def contact_marks(clinic: Clinic, kind: str, identifier: str) -> dict[uuid.UUID, list[ContactMark]]:
    marks: dict[uuid.UUID, list[ContactMark]] = {}
    for mark in ContactMark.objects.filter(
        clinic=clinic, kind=kind, identifier=identifier.strip()
    ).select_related("contacted_by"):
        marks.setdefault(mark.patient_id, []).append(mark)
    return marks
