"""The database owner cannot rewrite, truncate or wipe the audit log unseen.

The owner may run any SQL (the ``behind_the_back`` fixture) but holds neither
the HMAC key nor the checkpoint file, both kept outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from mesochart.audit import keys
from mesochart.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from mesochart.audit.services import record, verify_chain

HEAD = AuditChainHead._meta.db_table


def make_events(n: int, staff, clinic) -> list[AuditEvent]:
    return [
        record(
            "test.action",
            actor=staff["manager"],
            clinic=clinic,
            object_type="x",
            object_id=str(i),
            details={"n": i},
        )
        for i in range(n)
    ]


@pytest.fixture
def many_events(db, clinic, staff, settings, django_capture_on_commit_callbacks):
    """120 events with a checkpoint every 50, written after each commit as in production."""
    settings.AUDIT_CHECKPOINT_EVERY = 50
    with django_capture_on_commit_callbacks(execute=True):
        return make_events(120, staff, clinic)


@pytest.fixture
def checkpointed(db, clinic, staff):
    """Five events, then `mesochart audit-checkpoints` (as a cron job would run it)."""
    events = make_events(5, staff, clinic)
    call_command("audit-checkpoints")
    return events


def fix_head(behind_the_back, seq: int, hash_: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {HEAD} SET last_seq = %s, last_hash = %s", [seq, hash_])


def rewrite_from(seq: int, behind_the_back, sign) -> None:
    """Change every event from ``seq`` on and re-chain them with ``sign``, head fixed."""
    prev = AuditEvent.objects.get(seq=seq - 1).hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        event.details = {"n": "forged"}
        event.prev_hash = prev
        event.key_id, event.hash = sign(event)
        behind_the_back(
            "UPDATE {table} SET details = %s, prev_hash = %s, key_id = %s, hash = %s "
            "WHERE seq = %s",
            [json.dumps(event.details), event.prev_hash, event.key_id, event.hash, event.seq],
        )
        prev = event.hash
    fix_head(behind_the_back, AuditEvent.objects.count(), prev)


def plain_sha256(event: AuditEvent) -> tuple[str, str]:
    event.key_id = ""
    return "", hashlib.sha256(event.canonical()).hexdigest()


def owners_own_key(event: AuditEvent) -> tuple[str, str]:
    # Keeps the real key id, signs with a key of the owner's choosing.
    return event.key_id, hmac.new(b"guess", event.canonical(), hashlib.sha256).hexdigest()


def with_the_real_key(event: AuditEvent) -> tuple[str, str]:
    # Someone holding the key too: only the checkpoints outside the database tell.
    return event.key_id, keys.current_key().sign(event.canonical())


@pytest.mark.parametrize(
    ("sign", "kind", "broken_seq"),
    [(plain_sha256, "altered", 100), (owners_own_key, "altered", 100)],
)
def test_rewriting_every_event_from_100_on_and_fixing_the_head_is_detected(
    many_events, behind_the_back, sign, kind, broken_seq
):
    rewrite_from(100, behind_the_back, sign)
    report = verify_chain()
    assert (report.ok, report.kind, report.broken_seq) == (False, kind, broken_seq)
    with pytest.raises(CommandError, match="BROKEN at event #100"):
        call_command("verify-audit")


def test_a_rewrite_signed_with_the_real_key_still_differs_from_the_checkpoint(
    many_events, behind_the_back
):
    rewrite_from(100, behind_the_back, with_the_real_key)
    report = verify_chain()
    assert (report.ok, report.kind, report.broken_seq) == (False, "rewritten", 100)
    assert "checkpoint" in report.reason


def test_deleting_the_newest_event_and_fixing_the_head_is_detected(checkpointed, behind_the_back):
    behind_the_back("DELETE FROM {table} WHERE seq = 5")
    fix_head(behind_the_back, 4, checkpointed[3].hash)
    report = verify_chain()
    assert (report.ok, report.kind) == (False, "truncated")
    assert "checkpoint" in report.reason
    with pytest.raises(CommandError, match="removed"):
        call_command("verify-audit")


def test_emptying_both_tables_is_detected(checkpointed, behind_the_back):
    behind_the_back("DELETE FROM {table}")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {HEAD}")
    report = verify_chain()
    assert (report.ok, report.kind) == (False, "wiped")
    with pytest.raises(CommandError, match="wiped"):
        call_command("verify-audit")


def test_removing_the_local_checkpoints_too_is_caught_by_an_export(
    checkpointed, behind_the_back, tmp_path, capsys
):
    export = tmp_path / "worm" / "checkpoints.jsonl"
    export.parent.mkdir()
    call_command("audit-checkpoints", export=export)
    assert "2 checkpoints exported" in capsys.readouterr().out
    keys.checkpoint_file().unlink()
    behind_the_back("DELETE FROM {table} WHERE seq = 5")
    fix_head(behind_the_back, 4, checkpointed[3].hash)
    assert verify_chain().ok  # nothing left here to compare with...
    with pytest.raises(CommandError, match="removed"):
        call_command("verify-audit", checkpoints=export)  # ...but the export tells


def test_an_export_never_overwrites(checkpointed, tmp_path):
    target = tmp_path / "export.jsonl"
    target.write_text("kept")
    with pytest.raises(CommandError, match="never overwrite"):
        call_command("audit-checkpoints", export=target)
    assert target.read_text() == "kept"


def test_an_edited_checkpoint_file_is_detected(checkpointed):
    path = keys.checkpoint_file()
    lines = path.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["hash"] = "f" * 64
    path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    report = verify_chain()
    assert (report.ok, report.kind) == (False, "checkpoint")
    assert "bad signature" in report.reason


def test_a_tampered_chain_is_never_checkpointed(checkpointed, behind_the_back):
    behind_the_back("UPDATE {table} SET action = 'test.forged' WHERE seq = 2")
    before = keys.checkpoint_file().read_text()
    with pytest.raises(CommandError, match="no checkpoint written"):
        call_command("audit-checkpoints")
    assert keys.checkpoint_file().read_text() == before


def test_checkpoints_follow_every_n_events_and_a_new_key(
    db, clinic, staff, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY = 3
    with django_capture_on_commit_callbacks(execute=True):
        make_events(7, staff, clinic)
    marks = keys.read_checkpoints()
    assert [m.seq for m in marks] == [1, 3, 6]  # 1: the first event signed with this key
    assert all(m.signature_ok() for m in marks)
    assert stat.S_IMODE(keys.checkpoint_file().stat().st_mode) == 0o600
    report = verify_chain()
    assert (report.ok, report.checkpoints) == (True, 3)


def test_checkpoints_are_written_only_once_the_events_are_committed(db, clinic, staff):
    make_events(3, staff, clinic)  # the test's transaction never commits
    assert keys.read_checkpoints() == []


def test_plain_hash_events_written_before_the_key_still_verify(db, clinic, staff, capsys):
    prev = GENESIS_HASH
    for seq in (1, 2):  # as written by the earlier version, without key_id
        old = AuditEvent(seq=seq, at=datetime.now(UTC), action="old.event", prev_hash=prev)
        old.hash = hashlib.sha256(old.canonical()).hexdigest()
        old.save(force_insert=True)
        prev = old.hash
    AuditChainHead.objects.update_or_create(pk=1, defaults={"last_seq": 2, "last_hash": prev})
    new = record("test.after_upgrade", actor=staff["manager"], clinic=clinic)
    assert (new.seq, new.prev_hash, new.key_id) == (3, prev, keys.current_key().id)
    assert new.hash != hashlib.sha256(new.canonical()).hexdigest()
    call_command("verify-audit")
    assert "audit chain intact: 3 events verified" in capsys.readouterr().out


def test_events_signed_with_a_key_not_configured_here_do_not_verify(events_5, settings):
    settings.AUDIT_HMAC_KEY = "another-key"
    report = verify_chain()
    assert (report.ok, report.broken_seq) == (False, 1)
    assert "not configured" in report.reason


@pytest.fixture
def events_5(db, clinic, staff):
    return make_events(5, staff, clinic)


def test_the_key_file_is_created_0600_once_and_keeps_retired_keys(settings, tmp_path):
    settings.AUDIT_HMAC_KEY = ""
    settings.AUDIT_KEY_FILE = tmp_path / "var" / "audit_key"
    first = keys.current_key()
    assert stat.S_IMODE(settings.AUDIT_KEY_FILE.stat().st_mode) == 0o600
    assert keys.current_key() == first
    keys._load.cache_clear()
    retired = settings.AUDIT_KEY_FILE.read_text()
    settings.AUDIT_KEY_FILE.write_text("new-key\n" + retired)
    assert keys.current_key() != first
    assert keys.key_by_id(first.id) == first
