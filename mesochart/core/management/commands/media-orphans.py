"""List (and with --delete remove) stored files that no row names, and stale temporary files.

What a killed process can leave in the media folder: a temporary ``.*.part`` file (killed
while writing), or a whole file whose row never committed (killed between the two). Both
are garbage: no record points to them. ``--check`` exits 1 when there is any (for
monitoring); temporary files younger than ``--temp-age`` hours may belong to a write in
progress and are left alone, as are files written in the last ``--temp-age`` hours.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.core.storage import TEMP_SUFFIX, file_fields


def referenced_names() -> set[str]:
    names: set[str] = set()
    for model, field in file_fields():
        names.update(
            n for n in model._default_manager.values_list(field, flat=True).iterator() if n
        )
    return names


def find_orphans(root: Path, min_age_s: float) -> list[Path]:
    """Files under ``root`` no row names (and temporary files), older than ``min_age_s``."""
    named = referenced_names()
    now = time.time()
    found = []
    for folder, _dirs, files in os.walk(root):
        for filename in files:
            path = Path(folder) / filename
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < min_age_s:
                continue
            relative = path.relative_to(root).as_posix()
            if filename.endswith(TEMP_SUFFIX) or relative not in named:
                found.append(path)
    return sorted(found)


class Command(BaseCommand):
    help = "List (or delete) stored files no record names, and stale temporary files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="remove what is found")
        parser.add_argument(
            "--check", action="store_true", help="exit 1 when anything is found (monitoring)"
        )
        parser.add_argument(
            "--temp-age",
            type=float,
            default=1.0,
            metavar="HOURS",
            help="leave files younger than this alone: a write may be in progress (default 1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["temp_age"] < 0:
            raise CommandError("--temp-age: must be 0 hours or more")
        root = Path(settings.MEDIA_ROOT)
        if not root.is_dir():
            self.stdout.write(f"No media folder at {root}: nothing to check.")
            return
        orphans = find_orphans(root, options["temp_age"] * 3600)
        for path in orphans:
            self.stdout.write(str(path.relative_to(root)))
            if options["delete"]:
                path.unlink(missing_ok=True)
        verb = "removed" if options["delete"] else "found"
        self.stdout.write(f"{len(orphans)} orphaned file(s) {verb} in {root}.")
        if options["check"] and orphans and not options["delete"]:
            raise SystemExit(1)
