"""Messaging: how fast the due-messages sweep delivers (throwaway SQLite database, email to
Django's in-memory backend, SMS to the file backend), how long an idle sweep takes, and the
clinic's messages page with many messages.

.venv/bin/python bench/bench_messaging.py [--patients 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=500)
    args, _ = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="mesochart-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["MESOCHART_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    settings.ALLOWED_HOSTS = ["*"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "mesochart.messaging.sms.FileBackend"
    settings.SMS_FILE_PATH = Path(tmp) / "sms.jsonl"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

    from mesochart.accounts.models import Clinic, Membership, Organisation, Role, User
    from mesochart.conftest import create_patient
    from mesochart.messaging import services
    from mesochart.messaging.models import MessageKind

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench", mrn_prefix="BN")
    clinic = Clinic.objects.create(organisation=org, name="Bench clinic", timezone="UTC")
    user = User.objects.create_user(username="bench-reception", password="x")
    Membership.objects.create(user=user, clinic=clinic, role=Role.RECEPTION)
    when = timezone.now() + timedelta(hours=49)
    start = time.perf_counter()
    for i in range(args.patients):
        patient = create_patient(clinic, user, given_name=f"P{i}", phone=f"+4477009{i:05d}")
        services.schedule_reminders(
            MessageKind.APPOINTMENT_REMINDER, patient, when, {"what": "Review"}, f"bench:{i}"
        )
    queued = time.perf_counter() - start
    messages = args.patients * 4
    print(f"queued {messages} reminders: {messages / queued:.0f}/s")
    with time_machine_at(when - timedelta(hours=47)):
        start = time.perf_counter()
        sent = 0
        while True:  # one sweep delivers up to 500; the worker runs it again
            counts = services.send_due_messages()
            sent += counts["sent"]
            if not counts["sent"]:
                break
        took = time.perf_counter() - start
        print(f"sweeps delivering {sent} (the 48 h reminders): {sent / took:.0f} messages/s")
        start = time.perf_counter()
        again = services.send_due_messages()
        idle = (time.perf_counter() - start) * 1000
        print(f"idle sweep (nothing due, {again['sent']} sent): {idle:.1f} ms")

    client = Client()
    client.force_login(user)
    url = reverse("messaging:list")
    client.get(url)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    print(
        f"messages page ({messages} messages, 50 a page): median {statistics.median(times):.1f} ms, "
        f"{len(ctx.captured_queries)} queries"
    )


def time_machine_at(moment):  # type: ignore[no-untyped-def]
    import time_machine

    return time_machine.travel(moment, tick=True)


if __name__ == "__main__":
    main()
