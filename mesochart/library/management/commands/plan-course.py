from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesochart.protocols import InvalidInput, plan_course_text


class Command(BaseCommand):
    help = (
        "Print the dated schedule of a course: `plan-course PROTOCOL --start YYYY-MM-DD "
        "[--history YYYY-MM-DD ...]` (earlier sessions of the same protocol)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("protocol")
        parser.add_argument("--start", required=True, help="date of the next session")
        parser.add_argument("--history", nargs="*", default=[], help="dates of earlier sessions")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = plan_course_text(options["protocol"], options["start"], options["history"])
        except InvalidInput as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from None
        self.stdout.write(text, ending="")
