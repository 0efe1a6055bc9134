from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mesochart.protocols import run_check_session


class Command(BaseCommand):
    help = (
        "Check one treatment session against the safety rules (contracts/check-session.md). "
        "FILE is a path, or - for standard input. Exit 0 ok/warn, 1 block, 2 invalid input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            message = f"cannot read {name}: {exc.strerror if isinstance(exc, OSError) else exc}"
            code, out, err = 2, json.dumps({"error": message, "field": "$"}), f"$: {message}"
        else:
            code, out, err = run_check_session(text)
        self.stdout.write(out)
        if err:
            self.stderr.write(err)
        sys.exit(code)
