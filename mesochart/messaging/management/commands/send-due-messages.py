from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mesochart.messaging import services


class Command(BaseCommand):
    help = (
        "Queue the follow-up messages now due and send every queued message whose time has "
        "come (reminders, retries). Idempotent: run it from cron every few minutes, or with "
        "--every SECONDS as a long-running sweeper beside the worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="Repeat every SECONDS.")

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        while True:
            counts = services.send_due_messages()
            if options["verbosity"] > 0 and (every == 0 or any(counts.values())):
                self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            if every <= 0:
                return
            time.sleep(every)
