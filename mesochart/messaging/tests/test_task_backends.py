"""The same messaging tasks on both task backends: the database queue run by the
``mesochart worker`` command, and Redis (RQ) when REDIS_URL is set, against a real
``redis-server`` (REDIS_URL given, or one started on a free loopback port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from mesochart.messaging import services, tasks
from mesochart.messaging.models import Channel, Message, MessageKind, MessageStatus
from mesochart.messaging.tests.conftest import sms_sent

ROOT = Path(__file__).resolve().parents[3]
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
RQ_BACKEND = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}


def queue_due_sms(patient: Any) -> Message:
    message = services.queue_message(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        channel=Channel.SMS,
        context={"due": patient.clinic.today()},
        key="backend-test",
    )
    assert message is not None
    return message


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_sends_the_due_messages(patient, settings):
    settings.TASKS = DB_BACKEND
    from django_tasks_db.models import DBTaskResult

    message = queue_due_sms(patient)
    tasks.send_due_messages.enqueue()
    assert DBTaskResult.objects.count() == 1
    assert sms_sent(settings) == []  # nothing happens until the worker runs
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(sms_sent(settings)) == 1
    result = DBTaskResult.objects.get()
    assert result.status == "SUCCESSFUL"
    # Running the sweep again (a re-run task) sends nothing more.
    tasks.send_due_messages.enqueue()
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert len(sms_sent(settings)) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: Any) -> Iterator[str]:
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    server = shutil.which("redis-server")
    if server is None:
        reason = "redis-server not installed (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: the Redis backend test must run)")
        pytest.skip(reason)
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_url_selects_the_rq_backend(redis_url):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from django_tasks import task_backends; b = task_backends['default']; "
        "print(settings.TASKS['default']['BACKEND'], 'django_rq' in settings.INSTALLED_APPS, "
        "type(b).__name__)"
    )
    env = {**os.environ, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "mesochart.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["django_tasks_rq.RQBackend", "True", "RQBackend"]


@pytest.mark.django_db(transaction=True)
def test_the_same_tasks_enqueue_on_redis_and_an_rq_worker_runs_them(
    redis_url, patient, settings, django_capture_on_commit_callbacks
):
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    class BurstWorker(SimpleWorker):
        """In the test's own process and database; no command channel (its listener
        thread's shutdown waits out a long poll under pytest's capture)."""

        def subscribe(self) -> None:
            pass

        def unsubscribe(self) -> None:
            pass

    queues = {"default": {"URL": redis_url}}
    with override_settings(TASKS=RQ_BACKEND, RQ_QUEUES=queues):
        queue = django_rq.get_queue("default", job_class=Job)
        queue.empty()
        with django_capture_on_commit_callbacks(execute=True):
            [message] = services.send_messages(
                patient=patient,
                kind=MessageKind.NEXT_SESSION,
                context={"due": patient.clinic.today()},
                key="rq-test",
                channels=[Channel.SMS],
            )
        sweep = tasks.send_due_messages.enqueue()
        assert queue.count == 2
        funcs = sorted(job.func_name for job in queue.get_jobs())
        assert funcs == [
            "mesochart.messaging.tasks.deliver_message",
            "mesochart.messaging.tasks.send_due_messages",
        ]
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED  # waiting for the RQ worker
        BurstWorker([queue], connection=queue.connection, job_class=Job).work(
            burst=True, logging_level="WARNING", with_scheduler=False
        )
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert len(sms_sent(settings)) == 1  # the sweep found it already sent
        assert tasks.send_due_messages.get_backend().get_result(sweep.id).status == "SUCCESSFUL"
        queue.empty()
