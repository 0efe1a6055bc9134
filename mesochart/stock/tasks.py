"""Background tasks of the stock app (Django's task API via django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_fridge_import(import_id: str) -> None:
    from . import services

    services.run_fridge_import(import_id)
