from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.audit import keys
from mesochart.audit.services import write_checkpoint


class Command(BaseCommand):
    help = (
        "Verify the audit chain and append a signed checkpoint of its head to "
        "AUDIT_CHECKPOINT_FILE; --export copies every checkpoint to write-once storage."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--export",
            type=Path,
            metavar="PATH",
            help="also copy the checkpoint file to PATH (a new file; never overwritten)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            mark = write_checkpoint()
        except ValueError as exc:
            raise CommandError(f"no checkpoint written: {exc}") from exc
        if mark is None:
            self.stdout.write("the audit log is empty: no checkpoint written")
        else:
            self.stdout.write(
                f"checkpoint of event #{mark.seq} appended to {keys.checkpoint_file()}"
            )
        target: Path | None = options["export"]
        if target is not None:
            source = keys.checkpoint_file()
            if not source.exists():
                raise CommandError(f"{source} does not exist: nothing to export")
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError as exc:
                raise CommandError(f"{target} exists; exports never overwrite") from exc
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out)
                out.flush()
                os.fsync(out.fileno())
            count = len(keys.read_checkpoints(target))
            self.stdout.write(f"{count} checkpoints exported to {target}")
