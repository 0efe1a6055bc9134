"""Background tasks of messaging (Django's task API via django-tasks). Both are idempotent:
a re-run finds the message already claimed or sent and does nothing."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_message(message_id: str) -> str:
    from . import services

    return str(services.deliver(message_id).status)


@task()
def send_due_messages() -> dict[str, int]:
    from . import services

    return services.send_due_messages()
