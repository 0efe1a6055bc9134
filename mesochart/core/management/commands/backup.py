from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write one archive (.tar.gz) with the database, the media folder and the audit "
        "checkpoints file. Restore it with `mesochart restore PATH`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the archive to write (must not exist)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = create_backup(Path(options["path"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Backup written to {options['path']}: {sum(manifest['rows'].values())} rows, "
            f"{len(manifest['media'])} media files, audit checkpoints "
            f"{'included' if manifest['checkpoint_sha256'] else 'none'}."
        )
