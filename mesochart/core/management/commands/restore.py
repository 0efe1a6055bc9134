from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.audit.services import verify_chain
from mesochart.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore an archive of `mesochart backup` into this installation's database, media "
        "folder and audit checkpoints file. Refused over existing records without --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the archive written by `mesochart backup`")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the records, media and checkpoints already here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = restore_backup(Path(options["path"]), force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Restored {report.rows} rows and {report.media_files} media files"
            + (f"; audit checkpoints to {report.checkpoint}" if report.checkpoint else "")
            + "."
        )
        if report.kept_media:
            self.stdout.write(f"The media folder found here was kept as {report.kept_media}.")
        for note in report.notes:
            self.stdout.write(f"Note: {note}.")
        chain = verify_chain()
        self.stdout.write(
            f"Audit chain: {'intact' if chain.ok else 'BROKEN: ' + chain.reason}, "
            f"{chain.events} events verified."
        )
