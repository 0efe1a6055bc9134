from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mesochart.audit.services import verify_chain


class Command(BaseCommand):
    help = "Check the audit log's hash chain and name the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit chain BROKEN at event #{report.broken_seq}: {report.reason} "
                f"({report.events} events verified before it)"
            )
        self.stdout.write(f"audit chain intact: {report.events} events verified")
