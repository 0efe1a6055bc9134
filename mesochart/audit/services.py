"""Writing and verifying the audit log. Every domain write calls ``record``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import keys
from .context import current_request_id
from .models import GENESIS_HASH, AuditChainHead, AuditEvent, UnknownKeyError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mesochart.accounts.models import Clinic, User


def record(
    action: str,
    *,
    actor: User | None,
    clinic: Clinic | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's transaction).

    No savepoint of its own: an event that cannot be written fails the caller's whole
    transaction (a write is never kept without its event)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    key = keys.current_key()
    with transaction.atomic(savepoint=False):
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            # Only after the tables were emptied (`flush`, transactional tests): the chain
            # starts again at genesis. With events left, the next insert fails on `seq`.
            AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
            head = AuditChainHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_label=actor.get_username()
            if actor is not None and actor.is_authenticated
            else "",
            organisation_id=clinic.organisation_id if clinic is not None else None,
            clinic_id=clinic.pk if clinic is not None else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            request_id=current_request_id(),
            details=details or {},
            prev_hash=head.last_hash,
            key_id=key.id,
        )
        event.hash = key.sign(event.canonical())
        event.save(force_insert=True)
        new_era = head.last_key_id != key.id
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.last_key_id = key.id
        head.save(update_fields=["last_seq", "last_hash", "last_key_id"])
        if new_era or event.seq % settings.AUDIT_CHECKPOINT_EVERY == 0:
            seq, hash_ = event.seq, event.hash
            transaction.on_commit(lambda: _checkpoint_after_commit(seq, hash_), robust=True)
    return event


def _checkpoint_after_commit(seq: int, hash_: str) -> None:
    try:
        keys.append_checkpoint(seq, hash_)
    except OSError:
        # The event is committed; a lost checkpoint only widens the unguarded tail.
        logger.exception("could not append the audit checkpoint of event #%s", seq)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""
    # "", "altered", "missing", "truncated", "rewritten", "wiped", "checkpoint"
    kind: str = ""
    checkpoints: int = 0
    last_hash: str = ""


def verify_chain(batch_size: int = 2000, checkpoints: Path | None = None) -> ChainReport:
    """Walk the whole chain, then compare it with the signed checkpoints.

    Names the first broken link, if any. ``checkpoints`` is a checkpoint file
    (default ``AUDIT_CHECKPOINT_FILE``), e.g. an export kept on write-once storage.
    """
    try:
        marks = keys.read_checkpoints(checkpoints)
    except keys.CheckpointFileError as exc:
        return ChainReport(False, 0, None, str(exc), "checkpoint")
    for mark in marks:
        if not mark.signature_ok():
            return ChainReport(
                False,
                0,
                mark.seq,
                f"checkpoint line {mark.line} (event #{mark.seq}) has a bad signature or an "
                "unknown key: the checkpoint file was altered or the key is not configured",
                "checkpoint",
            )
    wanted = {mark.seq for mark in marks}
    seen: dict[int, str] = {}
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    signed = False
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(
                False, count, expected_seq, f"event #{expected_seq} is missing", "missing"
            )
        if event.prev_hash != expected_prev:
            return ChainReport(
                False,
                count,
                event.seq,
                f"event #{event.seq} does not follow event #{event.seq - 1}",
                "altered",
            )
        if signed and not event.key_id:
            return ChainReport(
                False,
                count,
                event.seq,
                f"event #{event.seq} carries a plain hash after signed events: it was "
                "altered after it was written",
                "altered",
            )
        try:
            computed = event.compute_hash()
        except UnknownKeyError:
            return ChainReport(
                False,
                count,
                event.seq,
                f"event #{event.seq} is signed with key {event.key_id!r}, which is not "
                "configured here (AUDIT_HMAC_KEY / AUDIT_KEY_FILE)",
                "altered",
            )
        if computed != event.hash:
            return ChainReport(
                False,
                count,
                event.seq,
                f"event #{event.seq} was altered after it was written",
                "altered",
            )
        signed = signed or bool(event.key_id)
        if event.seq in wanted:
            seen[event.seq] = event.hash
        expected_prev = event.hash
        expected_seq += 1
        count += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq != count or head.last_hash != expected_prev):
        return ChainReport(
            False,
            count,
            count + 1,
            f"the chain ends at event #{count} but event #{head.last_seq} was written; "
            "newer events were removed",
            "truncated",
        )
    if marks and count == 0:
        newest = max(mark.seq for mark in marks)
        return ChainReport(
            False,
            0,
            1,
            f"the audit log is empty but {len(marks)} checkpoints record events up to "
            f"#{newest}: the audit tables were wiped",
            "wiped",
        )
    for mark in marks:
        if mark.seq > count:
            return ChainReport(
                False,
                count,
                count + 1,
                f"the chain ends at event #{count} but checkpoint line {mark.line} recorded "
                f"event #{mark.seq}: newer events were removed (truncated)",
                "truncated",
            )
        if seen.get(mark.seq) != mark.hash:
            return ChainReport(
                False,
                count,
                mark.seq,
                f"event #{mark.seq} differs from its signed checkpoint (line {mark.line}): "
                "the chain was rewritten",
                "rewritten",
            )
    return ChainReport(True, count, checkpoints=len(marks), last_hash=expected_prev)


def write_checkpoint() -> keys.Checkpoint | None:
    """Verify the chain, then append a signed checkpoint of its head (None if empty).

    Refuses (ValueError) to checkpoint a chain that does not verify, so a
    checkpoint never blesses a tampered log.
    """
    report = verify_chain()
    if not report.ok:
        raise ValueError(f"audit chain BROKEN at event #{report.broken_seq}: {report.reason}")
    if report.events == 0:
        return None
    return keys.append_checkpoint(report.events, report.last_hash)


def record_read(request: Any, obj_or_kind: Any, **details: Any) -> AuditEvent:
    """Log one read of clinical data by the signed-in user of ``request``.

    ``obj_or_kind`` is the model instance shown (action ``read.<model>``, its type and id
    recorded, and its patient when it has one) or, for a page without one object (a search
    result, a report download), a short kind name (action ``read.<kind>``). Call it only
    after the access gate passed, so a refused read never writes an event.
    """
    if isinstance(obj_or_kind, str):
        kind, obj = obj_or_kind, None
    else:
        kind, obj = obj_or_kind._meta.model_name, obj_or_kind
        patient_id = getattr(obj, "patient_id", None)
        if patient_id is not None:
            details.setdefault("patient", str(patient_id))
    return record(
        f"read.{kind}",
        actor=getattr(request, "user", None),
        clinic=getattr(request, "clinic", None),
        obj=obj,
        details={k: v for k, v in details.items() if v is not None} or None,
    )
