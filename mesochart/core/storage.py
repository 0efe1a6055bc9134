"""Stored files (consent signatures, scans and PDFs; photos) that a failure never leaves behind.

A file is written under a temporary name in its own folder, created 0600 (folders 0700),
flushed and fsync'ed, then renamed into place: a crash or a full disk can leave a
temporary file (``.*.part``), never a partial file under a real name. Every file written during a
request is checked when the request ends (or when an ``atomic_files()`` block around other
callers, such as commands and tasks, exits). What a killed process
leaves (a temporary file, or a file whose row never committed) is listed and removed by
``mesochart media-orphans``.

Whether a file is kept is decided the way the command decides it: a file is kept when a
row names it. At the end of the request that wrote it, a file no row names (its transaction
rolled back) is deleted.

The rename happens before the commit, never after: killed between the two, the clinic
keeps a file with no row (garbage the command removes), never a row with no file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from typing import Any

from django.core.files.storage import FileSystemStorage
from django.core.signals import request_finished, request_started
from django.utils.translation import gettext as _

from mesochart.errors import DomainError

logger = logging.getLogger(__name__)

TEMP_SUFFIX = ".part"
_local = threading.local()


class StorageUnavailable(DomainError):
    """The media folder cannot take the file (full, read-only, missing): nothing was saved."""

    code = "storage_unavailable"
    status = 503


def _pending() -> dict[str, PrivateStorage]:
    if not hasattr(_local, "pending"):
        _local.pending = {}
    return _local.pending  # type: ignore[no-any-return]


def file_fields() -> list[tuple[Any, str]]:
    """(model, field name) of every file column of the app."""
    from django.apps import apps
    from django.db.models import FileField

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, FileField)
    ]


def is_referenced(name: str) -> bool:
    return any(
        model._default_manager.filter(**{field: name}).exists() for model, field in file_fields()
    )


def discard_uncommitted() -> list[str]:
    """Delete the files written here that no row names (their transaction rolled back)."""
    pending = _pending()
    gone = []
    for name, storage in list(pending.items()):
        pending.pop(name, None)
        if is_referenced(name):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(storage.path(name))
            gone.append(name)
    if gone:
        logger.info("Removed %d file(s) of a transaction that rolled back", len(gone))
    return gone


@contextlib.contextmanager
def atomic_files() -> Iterator[None]:
    """Around work outside a request (commands, tasks): files of rolled-back transactions
    are deleted on the way out, as at the end of a request."""
    outer = getattr(_local, "tracking", False)
    _local.tracking = True
    try:
        yield
    finally:
        if not outer:
            _local.tracking = False
            discard_uncommitted()


def _request_started(**_: Any) -> None:
    _local.tracking = True
    _pending().clear()


def _request_finished(**_: Any) -> None:
    if getattr(_local, "tracking", False):
        _local.tracking = False
        discard_uncommitted()


request_started.connect(_request_started, dispatch_uid="mesochart.storage.track")
request_finished.connect(_request_finished, dispatch_uid="mesochart.storage.discard")


class PrivateStorage(FileSystemStorage):
    """The default storage: private files, written whole or not at all."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(**kwargs)

    def _save(self, name: str, content: Any) -> str:
        while True:
            try:
                return self._write(name, content)
            except FileExistsError:
                name = self.get_available_name(name)  # taken meanwhile: the next free name

    def _write(self, name: str, content: Any) -> str:
        full = self.path(name)
        folder = os.path.dirname(full)
        temp = os.path.join(
            folder, f".{os.path.basename(full)}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        )
        try:
            self._makedirs(folder)
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
            )
            try:
                with os.fdopen(fd, "wb") as handle:
                    if hasattr(content, "seek"):
                        content.seek(0)
                    for chunk in content.chunks():
                        handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                # link (fails if the name was taken meanwhile), then drop the temporary name
                os.link(temp, full)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
            self._fsync_dir(folder)
        except FileExistsError:
            raise
        except OSError as exc:
            logger.error("Cannot store %s in the media folder %s: %s", name, self.location, exc)
            raise StorageUnavailable(
                _(
                    "The file could not be stored (the media folder is full or cannot be "
                    "written): nothing was saved. Tell the clinic's administrator."
                )
            ) from exc
        if getattr(_local, "tracking", False):
            _pending()[name] = self
        return name

    def _makedirs(self, folder: str) -> None:
        if not os.path.isdir(folder):
            old = os.umask(0)
            try:
                os.makedirs(folder, self.directory_permissions_mode or 0o700, exist_ok=True)
            finally:
                os.umask(old)

    @staticmethod
    def _fsync_dir(folder: str) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
