from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from mesochart.stock.models import MixturePreparation, MovementKind, StockMovement
from mesochart.stock.recall import rows_for_lot

pytestmark = pytest.mark.django_db


def test_seed_scale_writes_exactly_n_administrations_with_mixtures_and_indexes():
    out, err = io.StringIO(), io.StringIO()
    call_command("seed-scale", administrations=3000, clinics=2, stdout=out, stderr=err)
    assert StockMovement.objects.filter(kind=MovementKind.ADMINISTERED).count() == 3000
    assert MixturePreparation.objects.exists()
    mixed = StockMovement.objects.filter(kind=MovementKind.MIXED).select_related("lot").first()
    assert mixed is not None
    rows = rows_for_lot(mixed.organisation_id, mixed.lot.lot_number)
    assert any(r.via.startswith("mixture") for r in rows)
    assert "3,000 administrations" in out.getvalue()
    assert "administrations" in err.getvalue() and "100.0%" in err.getvalue()
    from django.db import connection

    with connection.cursor() as cursor:
        names = {
            c
            for c, info in connection.introspection.get_constraints(
                cursor, StockMovement._meta.db_table
            ).items()
            if info["index"]
        }
    assert {"movement_lot_kind_idx", "movement_prep_kind_idx", "movement_patient_idx"} <= names
