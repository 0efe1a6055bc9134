from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DbWorker


def lower_priority() -> int:
    """Give the web process the CPU first: background work (imports, message sends) runs at
    ``WORKER_NICE`` (default 10; 0 keeps the normal priority). Returns the new niceness."""
    return os.nice(settings.WORKER_NICE) if settings.WORKER_NICE else os.nice(0)


class Command(DbWorker):
    help = (
        "Run background tasks (messages to patients, large fridge CSV imports) from the "
        "database queue at a lower CPU priority than the web process (WORKER_NICE); "
        "run it beside the web process. Same options as django-tasks-db's db_worker."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        lower_priority()
        super().handle(*args, **options)
