from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Command as DbWorker


class Command(DbWorker):
    help = (
        "Run background tasks (messages to patients, large fridge CSV imports) from the "
        "database queue; "
        "run it beside the web process. Same options as django-tasks-db's db_worker."
    )
