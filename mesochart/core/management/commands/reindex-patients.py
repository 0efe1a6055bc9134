"""Recompute every patient's match keys, search words and sort name, and (on SQLite) their
search terms: after a bulk load that bypassed ``Patient.save()``, a change of the rules in
``patients/keys.py``, or a database moved from PostgreSQL to SQLite."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from mesochart.patients.models import MATCH_KEY_FIELDS, Patient, PatientSearchTerm

BATCH = 2000


class Command(BaseCommand):
    help = "Recompute the patients' match keys and search index."

    def handle(self, *args: Any, **options: Any) -> None:
        done = 0
        batch: list[Patient] = []
        rows = Patient.objects.order_by("pk").only(
            "pk", "clinic_id", "given_name", "family_name", "phone", "email"
        )
        for patient in rows.iterator(chunk_size=BATCH):
            patient.set_match_keys()
            batch.append(patient)
            if len(batch) >= BATCH:
                done += self.flush(batch)
        if batch:
            done += self.flush(batch)
        self.stdout.write(f"{done} patients reindexed")

    @staticmethod
    def flush(batch: list[Patient]) -> int:
        with transaction.atomic():
            Patient.objects.bulk_update(batch, list(MATCH_KEY_FIELDS))
            PatientSearchTerm.write(batch, replace=True)
        count = len(batch)
        batch.clear()
        return count
