"""Writing and verifying the audit log. Every domain write calls ``record``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from .context import current_request_id
from .models import GENESIS_HASH, AuditChainHead, AuditEvent

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
    """Append one event to the chain (inside the caller's transaction)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    with transaction.atomic():
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
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain; name the first broken link, if any."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return ChainReport(
                False,
                count,
                event.seq,
                f"event #{event.seq} does not follow event #{event.seq - 1}",
            )
        if event.compute_hash() != event.hash:
            return ChainReport(
                False, count, event.seq, f"event #{event.seq} was altered after it was written"
            )
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
        )
    return ChainReport(True, count)


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
