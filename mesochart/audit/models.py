"""The audit log: append-only, hash-chained events.

Each event stores the SHA-256 of its own content together with the hash of the
event before it, so editing, deleting or reordering any row breaks the chain
from that row on. ``AuditChainHead`` remembers the last sequence number and
hash, so removing the newest rows is detected too.

Since the key era (``key_id`` set) the hash is an HMAC-SHA256 with a key kept
outside the database (``keys.py``), so whoever owns only the database cannot
forge a consistent chain; signed checkpoints outside the database catch
truncation and wiping. Events with an empty ``key_id`` keep their plain SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    pass


class UnknownKeyError(Exception):
    """The event was signed with a key that is not configured here."""


class AuditEvent(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    organisation_id = models.UUIDField(null=True, blank=True)
    clinic_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Empty: plain SHA-256 (events written before keys); else the id of the HMAC key.
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx"),
            models.Index(fields=["clinic_id", "seq"], name="audit_clinic_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit events are append-only")

    def canonical(self) -> bytes:
        """The exact bytes that the event's hash covers."""
        payload = {
            "seq": self.seq,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": str(self.actor_id) if self.actor_id else "",
            "actor_label": self.actor_label,
            "organisation": str(self.organisation_id) if self.organisation_id else "",
            "clinic": str(self.clinic_id) if self.clinic_id else "",
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "request_id": self.request_id,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }
        if self.key_id:
            payload["key_id"] = self.key_id
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()

    def compute_hash(self) -> str:
        """SHA-256 of the plain era, or the HMAC with the event's key (UnknownKeyError)."""
        if not self.key_id:
            return hashlib.sha256(self.canonical()).hexdigest()
        from .keys import key_by_id

        key = key_by_id(self.key_id)
        if key is None:
            raise UnknownKeyError(self.key_id)
        return key.sign(self.canonical())


class AuditChainHead(models.Model):
    """One row: the newest event's sequence number and hash (locked on append)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # The key of the newest event: a change (first signed event, a new key) is checkpointed.
    last_key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single_row")
        ]
