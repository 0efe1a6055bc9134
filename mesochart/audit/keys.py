"""The audit log's signing key and its checkpoints, both kept outside the database.

The key comes from ``AUDIT_HMAC_KEY`` or from ``AUDIT_KEY_FILE`` (created 0600
with a random key on first use). A key file may hold more lines: the first is
the current key, the others are retired keys that still verify older events.
Each key is known by a short id (``key_id``) stored on the events it signed;
events with an empty ``key_id`` are of the plain-hash era before keys.

Checkpoints are JSON lines appended to ``AUDIT_CHECKPOINT_FILE``: the chain
head (seq, hash) at a moment, signed with the key. See docs/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes

    def sign(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


def _key(secret: bytes) -> AuditKey:
    key_id = hmac.new(secret, b"mesochart-audit-key-id", hashlib.sha256).hexdigest()[:16]
    return AuditKey(key_id, secret)


@lru_cache(maxsize=8)
def _load(given: str, key_file: str) -> tuple[AuditKey, ...]:
    if given:
        return (_key(given.encode()),)
    path = Path(key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it a moment ago
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise ImproperlyConfigured(f"AUDIT_KEY_FILE {path} holds no key")
    return tuple(_key(line.encode()) for line in lines)


def keys() -> tuple[AuditKey, ...]:
    """The current key first, then retired ones (reads the key file once per process)."""
    return _load(settings.AUDIT_HMAC_KEY, str(settings.AUDIT_KEY_FILE))


def current_key() -> AuditKey:
    return keys()[0]


def key_by_id(key_id: str) -> AuditKey | None:
    return next((k for k in keys() if k.id == key_id), None)


# --- checkpoints -------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    mac: str
    line: int = 0

    def payload(self) -> bytes:
        body = {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def signature_ok(self) -> bool:
        key = key_by_id(self.key_id)
        return key is not None and hmac.compare_digest(key.sign(self.payload()), self.mac)


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def append_checkpoint(seq: int, hash_: str) -> Checkpoint:
    """Append one signed checkpoint line (O_APPEND, 0600, fsync)."""
    key = current_key()
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    unsigned = Checkpoint(seq, hash_, at, key.id, "")
    cp = Checkpoint(seq, hash_, at, key.id, key.sign(unsigned.payload()))
    line = json.dumps(
        {"seq": seq, "hash": hash_, "at": at, "key_id": key.id, "mac": cp.mac},
        sort_keys=True,
        separators=(",", ":"),
    )
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp


class CheckpointFileError(Exception):
    pass


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint of the file, in order; a line that does not parse is an error."""
    path = path or checkpoint_file()
    if not path.exists():
        return []
    found = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            found.append(
                Checkpoint(
                    int(data["seq"]),
                    str(data["hash"]),
                    str(data["at"]),
                    str(data["key_id"]),
                    str(data["mac"]),
                    number,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointFileError(f"{path} line {number} is not a checkpoint") from exc
    return found
