"""One-archive backup and restore: the database (Django's dumpdata/loaddata, so SQLite and
PostgreSQL alike), the private media folder and the audit checkpoints file.

The archive is a gzipped tar holding ``manifest.json`` (format, date, migrations, row
counts, the SHA-256 of every file), ``database.json``, ``media/...`` and, when the
installation writes one, ``audit-checkpoints``. See docs/deploy.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = 1
DATABASE_MEMBER = "database.json"
MANIFEST_MEMBER = "manifest.json"
CHECKPOINT_MEMBER = "audit-checkpoints"
MEDIA_PREFIX = "media/"
# Not part of a clinic's records: signed-in sessions and sign-in throttling state.
EXCLUDED = ["sessions", "axes"]
# Django's JSON, with times to the microsecond (audit event hashes cover them).
FIXTURE_FORMAT = "exactjson"
serializers.register_serializer(FIXTURE_FORMAT, "mesochart.core.exactjson")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class RestoreReport:
    rows: int
    media_files: int
    checkpoint: str = ""
    kept_media: str = ""
    notes: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_path() -> Path | None:
    name = getattr(settings, "AUDIT_CHECKPOINT_FILE", None)
    return Path(name) if name else None


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def media_files(root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path.relative_to(root).as_posix(), path


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def record_models() -> list[Any]:
    """The models whose rows make a clinic's records (what 'an empty database' is about)."""
    skipped = {"contenttypes", "auth", "sessions", "axes", "admin"}
    return [model for model in apps.get_models() if model._meta.app_label not in skipped]


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in record_models()}


def holds_records() -> bool:
    from mesochart.audit.models import AuditChainHead

    return any(model.objects.exists() for model in record_models() if model is not AuditChainHead)


def create_backup(target: Path) -> dict[str, Any]:
    """Write the archive to ``target`` (refused if it exists); return its manifest."""
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        dump = Path(work) / DATABASE_MEMBER
        # One consistent view of the database while it is read.
        with transaction.atomic():
            call_command(
                "dumpdata", exclude=EXCLUDED, output=str(dump), verbosity=0, format=FIXTURE_FORMAT
            )
            counts = row_counts()
            migrations = applied_migrations()
        media = dict(media_files(media_root()))
        checkpoint = checkpoint_path()
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "database_vendor": connection.vendor,
            "migrations": migrations,
            "rows": counts,
            "database_sha256": sha256_file(dump),
            "media": {name: sha256_file(path) for name, path in media.items()},
            "checkpoint_sha256": sha256_file(checkpoint)
            if checkpoint is not None and checkpoint.is_file()
            else None,
        }
        partial = Path(work) / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size, info.mode, info.mtime = len(data), 0o600, int(timezone.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=DATABASE_MEMBER, recursive=False)
            for name, path in media.items():
                tar.add(path, arcname=MEDIA_PREFIX + name, recursive=False)
            if manifest["checkpoint_sha256"] is not None:
                assert checkpoint is not None
                tar.add(checkpoint, arcname=CHECKPOINT_MEMBER, recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    return manifest


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST_MEMBER)
    except KeyError:
        raise BackupError("not a Mesochart backup: manifest.json is missing") from None
    assert member is not None
    manifest: dict[str, Any] = json.load(member)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    return manifest


def restore_backup(source: Path, *, force: bool = False) -> RestoreReport:
    """Restore ``source`` into this installation's database, media folder and checkpoints
    file. Without ``force`` it refuses a database with records or a non-empty media folder.
    The database is replaced in one transaction: a failure leaves it as it was."""
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    call_command("migrate", interactive=False, verbosity=0)
    root = media_root()
    checkpoint = checkpoint_path()
    if not force:
        if holds_records():
            raise BackupError(
                "the database already holds records: restore into an empty database, "
                "or add --force to replace everything in it"
            )
        if any(media_files(root)):
            raise BackupError(f"the media folder {root} is not empty: empty it, or add --force")
        if checkpoint is not None and checkpoint.exists():
            raise BackupError(f"the checkpoints file {checkpoint} exists: move it, or add --force")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=root.parent))
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            manifest = _read_manifest(tar)
            known = applied_migrations()
            missing = [
                f"{app}.{name}"
                for app, names in manifest["migrations"].items()
                for name in names
                if name not in known.get(app, [])
            ]
            if missing:
                raise BackupError(
                    "the backup comes from a newer Mesochart (migrations unknown here: "
                    f"{', '.join(missing[:5])}): install that version first"
                )
            tar.extractall(staging, filter="data")
        dump = staging / DATABASE_MEMBER
        if sha256_file(dump) != manifest["database_sha256"]:
            raise BackupError("database.json does not match its checksum: the archive is damaged")
        new_media = staging / MEDIA_PREFIX.rstrip("/")
        new_media.mkdir(exist_ok=True)
        found = {name: sha256_file(path) for name, path in media_files(new_media)}
        if found != manifest["media"]:
            raise BackupError("the media files do not match the manifest: the archive is damaged")
        for _, path in media_files(new_media):
            path.chmod(0o600)
        with transaction.atomic():
            call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            fixture = dump.rename(dump.with_suffix("." + FIXTURE_FORMAT))
            call_command("loaddata", str(fixture), verbosity=0)
            counts = row_counts()
            if counts != manifest["rows"]:
                raise BackupError("the restored row counts differ from the manifest")
        report = RestoreReport(rows=sum(counts.values()), media_files=len(found))
        if root.exists():
            kept = root.with_name(f"{root.name}.before-restore-{timezone.now():%Y%m%d%H%M%S}")
            root.rename(kept)
            report.kept_media = str(kept)
        new_media.rename(root)
        saved = staging / CHECKPOINT_MEMBER
        if saved.is_file():
            if checkpoint is None:
                report.notes.append(
                    "the archive holds audit checkpoints, but AUDIT_CHECKPOINT_FILE is not "
                    "set here: they were not restored"
                )
            else:
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(saved, checkpoint)
                checkpoint.chmod(0o600)
                report.checkpoint = str(checkpoint)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
