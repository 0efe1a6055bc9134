from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from mesochart.audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from mesochart.audit.services import record, verify_chain


@pytest.fixture
def events(db, clinic, staff):
    return [
        record(
            f"test.action{i}",
            actor=staff["manager"],
            clinic=clinic,
            object_type="x",
            object_id=str(i),
            details={"n": i},
        )
        for i in range(5)
    ]


def test_events_form_a_chain(events):
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert AuditChainHead.objects.get().last_hash == events[-1].hash
    assert verify_chain().ok


def test_event_records_actor_clinic_and_request_id(events, clinic, staff):
    event = AuditEvent.objects.get(seq=1)
    assert event.actor == staff["manager"]
    assert event.clinic_id == clinic.pk
    assert event.organisation_id == clinic.organisation_id
    assert event.request_id


def test_editing_a_row_behind_the_applications_back_is_detected(events, behind_the_back):
    behind_the_back("UPDATE {table} SET action = %s WHERE seq = %s", ["test.forged", 3])
    report = verify_chain()
    assert not report.ok
    assert report.broken_seq == 3
    assert "altered" in report.reason
    with pytest.raises(CommandError, match="BROKEN at event #3"):
        call_command("verify-audit")


def test_deleting_a_middle_row_is_detected(events, behind_the_back):
    behind_the_back("DELETE FROM {table} WHERE seq = 2")
    report = verify_chain()
    assert (report.ok, report.broken_seq) == (False, 2)


def test_deleting_the_newest_rows_is_detected(events, behind_the_back):
    behind_the_back("DELETE FROM {table} WHERE seq >= 4")
    report = verify_chain()
    assert not report.ok
    assert report.broken_seq == 4
    assert "removed" in report.reason


def test_rehashing_a_forged_row_still_breaks_the_next_link(events, behind_the_back):
    forged = AuditEvent.objects.get(seq=2)
    forged.details = {"n": 99}
    new_hash = forged.compute_hash()
    behind_the_back(
        "UPDATE {table} SET details = %s, hash = %s WHERE seq = 2", ['{"n": 99}', new_hash]
    )
    report = verify_chain()
    assert (report.ok, report.broken_seq) == (False, 3)


def test_events_cannot_be_changed_or_deleted_through_the_orm(events):
    event = AuditEvent.objects.get(seq=1)
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_verify_audit_command_reports_an_intact_chain(events, capsys):
    call_command("verify-audit")
    assert "audit chain intact: 5 events verified" in capsys.readouterr().out


def test_postgresql_refuses_updates_and_deletes_of_audit_events(events):
    from django.db import DatabaseError, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only; SQLite relies on the chain")
    for sql in ("UPDATE {t} SET action = 'x' WHERE seq = 1", "DELETE FROM {t} WHERE seq = 1"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql.format(t=AuditEvent._meta.db_table))
    assert verify_chain().ok


def test_after_a_flush_the_chain_starts_again_at_genesis(db, clinic, staff):
    AuditChainHead.objects.all().delete()
    event = record("test.after_flush", actor=staff["manager"], clinic=clinic)
    assert (event.seq, event.prev_hash) == (1, "0" * 64)
    assert verify_chain().ok


def test_a_missing_head_with_events_left_fails_loudly(events):
    from django.db import IntegrityError

    AuditChainHead.objects.all().delete()
    with pytest.raises(IntegrityError):
        record("test.after_head_removed", actor=None)
