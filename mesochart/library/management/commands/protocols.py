from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.protocols import list_protocols_json, list_protocols_text, show_protocol_text


class Command(BaseCommand):
    help = "List the protocol library (`protocols [--json]`) or show one (`protocols show ID`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "show"], default="list")
        parser.add_argument("protocol_id", nargs="?")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            if not options["protocol_id"]:
                raise CommandError(
                    "protocol: give the protocol id, e.g. `protocols show submental-dca`"
                )
            try:
                self.stdout.write(show_protocol_text(options["protocol_id"]), ending="")
            except KeyError as exc:
                raise CommandError(f"protocol: {exc.args[0]}") from None
            return
        self.stdout.write(
            list_protocols_json() if options["json"] else list_protocols_text(), ending=""
        )
