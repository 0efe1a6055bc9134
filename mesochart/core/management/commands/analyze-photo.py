from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mesochart.imaging import run_analyze_photo


class Command(BaseCommand):
    help = (
        "Measure skin from one clinical photo (contracts/analyze-photo.md): quality, face "
        "zones, CIELAB, ITA, redness, evenness, texture; --baseline compares with an earlier "
        "photo; --card expects a 24-patch ColorChecker. Exit 0 analysed, 2 invalid file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--baseline", metavar="FILE", default=None)
        parser.add_argument("--card", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        code, out, err = run_analyze_photo(options["file"], options["baseline"], options["card"])
        self.stdout.write(out)
        if err:
            self.stderr.write(err)
        sys.exit(code)
