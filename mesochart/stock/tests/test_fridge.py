from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.errors import InvalidInput
from mesochart.stock import services
from mesochart.stock.models import FridgeReading, Lot, LotStatus, MovementKind

pytestmark = pytest.mark.django_db


def an_hour_ago() -> datetime:
    return timezone.now() - timedelta(hours=1)


def test_reading_within_2_to_8_degrees_changes_nothing(fridge, lot, practitioner, clinic):
    for value in ("2.0", "5.4", "8.0"):
        reading = services.do_record_reading(
            practitioner, clinic, fridge, an_hour_ago(), Decimal(value)
        )
        assert not reading.excursion
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.AVAILABLE


@pytest.mark.parametrize("value", ["1.9", "8.1", "-3.0", "21.5"])
def test_excursion_quarantines_every_available_lot_in_that_fridge(
    value, fridge, make_lot, practitioner, manager, clinic
):
    inside = [make_lot(), make_lot()]
    recalled = make_lot()
    services.do_recall_lot(manager, clinic, recalled, "FSN")
    elsewhere = make_lot(storage="room", fridge=None)
    other_fridge = services.do_create_fridge(manager, clinic, "Spare")
    in_other = make_lot(fridge=other_fridge)
    reading = services.do_record_reading(
        practitioner, clinic, fridge, an_hour_ago(), Decimal(value)
    )
    assert reading.excursion
    for lot in inside:
        lot.refresh_from_db()
        assert lot.status == LotStatus.QUARANTINED
        movement = lot.movements.get(kind=MovementKind.QUARANTINED)
        assert "excursion" in movement.reason and value in movement.reason
        assert AuditEvent.objects.filter(
            action="stock.lot_quarantined", object_id=str(lot.pk)
        ).exists()
    for lot in (elsewhere, in_other):
        assert Lot.objects.get(pk=lot.pk).status == LotStatus.AVAILABLE
    assert Lot.objects.get(pk=recalled.pk).status == LotStatus.RECALLED


def test_after_an_excursion_a_manager_releases_each_lot_with_a_reason(
    fridge, make_lot, practitioner, manager, clinic
):
    first, second = make_lot(), make_lot()
    services.do_record_reading(practitioner, clinic, fridge, an_hour_ago(), Decimal("11"))
    with pytest.raises(InvalidInput):
        services.do_release_lot(manager, clinic, first, "")
    services.do_release_lot(manager, clinic, first, "Stability data: 24 h at 25 °C is fine")
    assert Lot.objects.get(pk=first.pk).status == LotStatus.AVAILABLE
    assert Lot.objects.get(pk=second.pk).status == LotStatus.QUARANTINED


def test_future_reading_is_refused(fridge, practitioner, clinic):
    with pytest.raises(InvalidInput) as info:
        services.do_record_reading(
            practitioner, clinic, fridge, timezone.now() + timedelta(hours=2), Decimal("5")
        )
    assert info.value.field == "recorded_at"


def test_csv_import_saves_every_line(fridge, practitioner, clinic):
    text = "recorded_at,temperature_c\n2026-01-05 08:00,4.5\n2026-01-05T17:30:00+00:00,5.1\n\n"
    readings = services.do_import_readings(practitioner, clinic, fridge, text)
    assert [r.temperature_c for r in readings] == [Decimal("4.5"), Decimal("5.1")]
    assert all(r.source == "csv" for r in readings)


def test_csv_with_a_bad_line_saves_nothing_and_names_line_and_column(fridge, practitioner, clinic):
    text = (
        "recorded_at,temperature_c\n"
        "2026-01-05 08:00,4.5\n"
        "2026-01-05 17:30,warm\n"
        "yesterday,5\n"
        "2026-01-06 08:00\n"
    )
    with pytest.raises(InvalidInput) as info:
        services.do_import_readings(practitioner, clinic, fridge, text)
    message = info.value.message
    assert info.value.field == "file"
    assert "line 3, column temperature_c" in message
    assert "line 4, column recorded_at" in message
    assert "line 5: expected 2 columns" in message
    assert not FridgeReading.objects.exists()


def test_csv_needs_its_header(fridge, practitioner, clinic):
    with pytest.raises(InvalidInput, match="line 1"):
        services.do_import_readings(practitioner, clinic, fridge, "when,temp\n2026-01-05,4\n")


def test_csv_excursion_quarantines_like_a_manual_reading(fridge, lot, practitioner, clinic):
    text = "recorded_at,temperature_c\n2026-01-05 08:00,4.5\n2026-01-05 12:00,9.3\n"
    services.do_import_readings(practitioner, clinic, fridge, text)
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.QUARANTINED


def test_fridge_bounds_are_settings(settings, fridge, lot, practitioner, clinic):
    settings.STOCK_FRIDGE_MAX_C = "12"
    reading = services.do_record_reading(practitioner, clinic, fridge, an_hour_ago(), Decimal("10"))
    assert not reading.excursion


def test_an_import_is_audited_by_one_summary_event_with_row_count_and_file_hash(
    fridge, practitioner, clinic
):
    import hashlib

    text = "recorded_at,temperature_c\n" + "".join(
        f"2026-01-05 {h:02d}:00,4.{h % 10}\n" for h in range(10)
    )
    before = AuditEvent.objects.count()
    services.do_import_readings(practitioner, clinic, fridge, text)
    assert FridgeReading.objects.count() == 10
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert [e.action for e in events] == ["stock.fridge_import"]
    assert events[0].details["rows"] == 10
    assert events[0].details["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_an_import_locks_the_audit_head_only_after_every_row_is_written(
    fridge, lot, practitioner, clinic
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mesochart.audit.models import AuditChainHead

    services.IMPORT_BATCH_ROWS, batch = 7, services.IMPORT_BATCH_ROWS
    try:
        text = "recorded_at,temperature_c\n" + "".join(
            f"2026-01-05 {h:02d}:00,{'9.5' if h == 3 else '4.0'}\n" for h in range(20)
        )
        with CaptureQueriesContext(connection) as ctx:
            services.do_import_readings(practitioner, clinic, fridge, text)
    finally:
        services.IMPORT_BATCH_ROWS = batch
    sqls = [q["sql"] for q in ctx.captured_queries]
    head, readings = AuditChainHead._meta.db_table, FridgeReading._meta.db_table
    inserts = [i for i, sql in enumerate(sqls) if sql.startswith(f'INSERT INTO "{readings}"')]
    first_head = min(i for i, sql in enumerate(sqls) if head in sql)
    assert len(inserts) == 3  # batches of 7
    assert max(inserts) < first_head
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.QUARANTINED


def test_a_csv_field_over_the_csv_module_limit_is_refused_naming_the_line(
    fridge, practitioner, clinic
):
    text = "recorded_at,temperature_c\n2026-01-05 08:00,4\n" + "x" * 140_000 + ",4\n"
    with pytest.raises(InvalidInput) as info:
        services.do_import_readings(practitioner, clinic, fridge, text)
    assert info.value.field == "file"
    assert "line 3" in info.value.message
    assert not FridgeReading.objects.exists()
