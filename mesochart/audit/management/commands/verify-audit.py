from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain against its signed checkpoints and name the "
        "first broken link (exit code 1 when broken)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="a checkpoint file to compare with (default AUDIT_CHECKPOINT_FILE), "
            "e.g. an export kept on write-once storage",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain(checkpoints=options["checkpoints"])
        if not report.ok:
            raise CommandError(
                f"audit chain BROKEN at event #{report.broken_seq}: {report.reason} "
                f"({report.events} events verified before it)"
            )
        self.stdout.write(
            f"audit chain intact: {report.events} events verified, "
            f"{report.checkpoints} checkpoints matched"
        )
