"""Charting at the chair: time from a click on the map to the refreshed workspace (the
request that adds the point, re-runs the safety check and renders map, totals and
findings), for a new patient and for a patient with a long history of signed sessions,
with the queries each click runs; and the sign-off of a 50-point session (throwaway
SQLite database).

.venv/bin/python bench/bench_charting.py [--points 50] [--sessions 5] [--history 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--history", type=int, default=300)
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
    from mesochart.care import maps
    from mesochart.care.demo import signature_png
    from mesochart.care.models import (
        SignerRole,
        SignMethod,
        TreatmentSession,
    )
    from mesochart.care.services import charting, consents, lifecycle, plans
    from mesochart.library.services import library_for
    from mesochart.patients import services as patient_services
    from mesochart.patients.models import Patient
    from mesochart.stock import services as stock
    from mesochart.stock.models import Storage, Unit

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench", mrn_prefix="BN")
    clinic = Clinic.objects.create(organisation=org, name="Bench clinic", timezone="UTC")
    practitioner = User.objects.create_user(username="bench", password="x")
    Membership.objects.create(user=practitioner, clinic=clinic, role=Role.PRACTITIONER)
    manager = User.objects.create_user(username="bench-manager", password="x")
    Membership.objects.create(user=manager, clinic=clinic, role=Role.MANAGER)
    prescriber = User.objects.create_user(username="bench-prescriber", password="x")
    rx_member = Membership.objects.create(user=prescriber, clinic=clinic, role=Role.PRESCRIBER)
    templates = {t.kind: t for t in consents.ensure_default_templates(clinic, manager)}
    lot = stock.do_receive_lot(
        manager,
        clinic,
        product="dca-10mg-ml",
        lot_number="BENCH-1",
        expiry=date.today() + timedelta(days=300),  # noqa: DTZ011
        quantity=Decimal("100000"),
        unit=Unit.ML,
        storage=Storage.ROOM,
    )
    client = Client()
    client.force_login(practitioner)
    grid = [
        (x / 200, y / 200)
        for y in range(200)
        for x in range(200)
        if maps.zone_at("face", x / 200, y / 200) == "submental"
    ]
    library = library_for(clinic)
    limits = plans.label_limits(library, "submental-dca")

    def new_patient(name: str) -> Patient:
        patient = patient_services.do_create_patient(
            practitioner,
            clinic,
            {
                "given_name": name,
                "family_name": "Patient",
                "birth_date": date(1980, 1, 1),
                "sex": "female",
            },
            {},
        )
        version = templates["treatment"].current_version()
        assert version is not None
        consents.do_sign_consent(
            practitioner,
            clinic,
            patient,
            version,
            signer_name=patient.full_name,
            signer_role=SignerRole.PATIENT,
            method=SignMethod.ON_SCREEN,
            signature_png=signature_png(patient.full_name),
        )
        plans.do_prescribe(
            prescriber,
            rx_member,
            patient,
            "submental-dca",
            plans.PrescriptionDraft(
                products=("dca-10mg-ml",),
                zones=("submental",),
                max_volume_ml=Decimal(str(limits["max_volume_ml"].number)),
                max_points=int(limits["max_points"].number),
                sessions=50,
                valid_until=clinic.today() + timedelta(days=90),
            ),
        )
        return patient

    def history(patient: Patient, n: int) -> None:
        """``n`` earlier signed sessions, as signing leaves them (the tests' factory)."""
        from mesochart.care.tests.session_factories import signed_history

        signed_history(patient, practitioner, n)

    def started(patient: Patient) -> TreatmentSession:
        session = lifecycle.do_create_session(
            practitioner, clinic, patient, protocol="submental-dca", scheduled_for=clinic.today()
        )
        session = lifecycle.do_start_session(practitioner, session)
        return charting.do_set_brush(
            practitioner,
            session,
            charting.Brush(
                kind="injection",
                technique="point",
                lot=lot,
                volume_ml=Decimal("0.2"),
                depth_mm=Decimal("6"),
                needle_gauge=30,
                needle_length_mm=Decimal("13"),
            ),
        )

    def clicks(session: TreatmentSession, n: int) -> tuple[list[float], list[int]]:
        url = reverse("care:point_add", args=[session.pk])
        times, queries = [], []
        for i in range(n):
            x, y = grid[(i * 7) % len(grid)]
            with CaptureQueriesContext(connection) as ctx:
                started_at = time.perf_counter()
                response = client.post(
                    url, {"view": "face", "x": x, "y": y}, HTTP_HX_REQUEST="true"
                )
                times.append(time.perf_counter() - started_at)
            queries.append(len(ctx.captured_queries))
            assert response.status_code == 200, response.content[:300]
        return times, queries

    new_times: list[float] = []
    new_queries: list[int] = []
    signs: list[float] = []
    for n in range(args.sessions):
        session = started(new_patient(f"Bench{n}"))
        times, queries = clicks(session, args.points)
        new_times += times
        new_queries += queries
        started_at = time.perf_counter()
        response = client.post(
            reverse("care:session_sign", args=[session.pk]), HTTP_HX_REQUEST="true"
        )
        signs.append(time.perf_counter() - started_at)
        assert response.status_code == 204, response.content[:500]

    long = new_patient("Long")
    history(long, args.history)
    long_times, long_queries = clicks(started(long), args.points)

    def p95(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[int(0.95 * (len(ordered) - 1))]

    print(
        f"charting click -> workspace, new patient (sqlite): median "
        f"{statistics.median(new_times) * 1000:.1f} ms, p95 {p95(new_times) * 1000:.1f} ms, "
        f"{min(new_queries)}-{max(new_queries)} queries ({len(new_times)} clicks, up to "
        f"{args.points} points per session)"
    )
    print(
        f"charting click -> workspace, patient with {args.history} earlier signed sessions "
        f"(sqlite): median {statistics.median(long_times) * 1000:.1f} ms, p95 "
        f"{p95(long_times) * 1000:.1f} ms, {min(long_queries)}-{max(long_queries)} queries "
        f"({len(long_times)} clicks)"
    )
    print(
        f"sign-off of a {args.points}-point session (sqlite): median "
        f"{statistics.median(signs) * 1000:.1f} ms ({len(signs)} sessions; {args.points} stock "
        "movements, follow-ups, audit)"
    )


if __name__ == "__main__":
    main()
