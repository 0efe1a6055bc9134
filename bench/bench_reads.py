"""Read pages and their audit: median time and queries of the patient chart page and the
session page, each of which writes one read event to the audit chain (throwaway SQLite
database, Django's test client, a prescriber of the clinic).

.venv/bin/python bench/bench_reads.py [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args, _ = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="mesochart-bench-")
    os.environ.pop("DATABASE_URL", None)
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

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp

    from mesochart.accounts.models import Clinic, Membership, Organisation, Role, User
    from mesochart.conftest import create_patient
    from mesochart.core.testing import login_with_two_factor
    from mesochart.outcomes.tests.factories import make_session

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench", mrn_prefix="BN")
    clinic = Clinic.objects.create(organisation=org, name="Bench clinic", timezone="UTC")
    staff = {}
    for role in (Role.PRESCRIBER, Role.PRACTITIONER, Role.MANAGER):
        user = User.objects.create_user(username=f"bench-{role}", password="x")
        Membership.objects.create(user=user, clinic=clinic, role=role)
        staff[str(role)] = user
    patient = create_patient(clinic, staff["practitioner"])
    session = make_session(clinic, staff, patient)
    client = Client()
    login_with_two_factor(client, staff["prescriber"])
    pages = {
        "patient chart": reverse("patients:chart", args=[patient.pk]),
        "session page": reverse("care:session", args=[session.pk]),
    }
    for name, url in pages.items():
        assert client.get(url).status_code == 200  # warm caches and templates
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        print(
            f"{name}: median {statistics.median(times):.1f} ms "
            f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs), "
            f"{len(ctx.captured_queries)} queries"
        )


if __name__ == "__main__":
    main()
