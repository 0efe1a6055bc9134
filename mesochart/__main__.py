"""The `mesochart` console script: Django's management commands behind one name.

mesochart migrate
mesochart demo
mesochart verify-audit
mesochart check-session FILE
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mesochart", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
