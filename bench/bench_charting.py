"""Charting at the chair: time from a click on the map to the refreshed workspace (the htmx
request that adds the point, re-runs the safety check and renders map, totals and
findings), and the sign-off of a 50-point session (throwaway SQLite database).

.venv/bin/python bench/bench_charting.py [--points 50] [--sessions 5]
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
    args, _ = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="mesochart-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["MESOCHART_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp

    from mesochart.accounts.models import Clinic, Membership, Organisation, Role, User
    from mesochart.care import maps, services, sessions
    from mesochart.care.demo import signature_png
    from mesochart.care.models import SignerRole, SignMethod
    from mesochart.patients import services as patient_services
    from mesochart.stock import services as stock
    from mesochart.stock.models import Storage, Unit

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench", mrn_prefix="BN")
    clinic = Clinic.objects.create(organisation=org, name="Bench clinic", timezone="UTC")
    practitioner = User.objects.create_user(username="bench", password="x")
    Membership.objects.create(user=practitioner, clinic=clinic, role=Role.PRACTITIONER)
    manager = User.objects.create_user(username="bench-manager", password="x")
    Membership.objects.create(user=manager, clinic=clinic, role=Role.MANAGER)
    templates = {t.kind: t for t in services.ensure_default_templates(clinic, manager)}
    lot = stock.do_receive_lot(
        manager,
        clinic,
        product="dca-10mg-ml",
        lot_number="BENCH-1",
        expiry=date.today() + timedelta(days=300),  # noqa: DTZ011
        quantity=Decimal("1000"),
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
    clicks: list[float] = []
    signs: list[float] = []
    for n in range(args.sessions):
        patient = patient_services.do_create_patient(
            practitioner,
            clinic,
            {
                "given_name": f"Bench{n}",
                "family_name": "Patient",
                "birth_date": date(1980, 1, 1),
                "sex": "female",
            },
            {},
        )
        version = templates["treatment"].current_version()
        assert version is not None
        services.do_sign_consent(
            practitioner,
            clinic,
            patient,
            version,
            signer_name=patient.full_name,
            signer_role=SignerRole.PATIENT,
            method=SignMethod.ON_SCREEN,
            signature_png=signature_png(patient.full_name),
        )
        session = sessions.do_create_session(
            practitioner,
            clinic,
            patient,
            protocol="submental-dca",
            scheduled_for=date.today(),  # noqa: DTZ011
        )
        session = sessions.do_start_session(practitioner, session)
        sessions.do_set_brush(
            practitioner,
            session,
            {
                "kind": "injection",
                "technique": "point",
                "lot": str(lot.pk),
                "volume_ml": "0.2",
                "depth_mm": "6",
                "needle_gauge": "30",
                "needle_length_mm": "13",
            },
        )
        url = reverse("care:point_add", args=[session.pk])
        for i in range(args.points):
            x, y = grid[(i * 7) % len(grid)]
            started = time.perf_counter()
            response = client.post(url, {"view": "face", "x": x, "y": y}, HTTP_HX_REQUEST="true")
            clicks.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
        started = time.perf_counter()
        response = client.post(
            reverse("care:session_sign", args=[session.pk]), HTTP_HX_REQUEST="true"
        )
        signs.append(time.perf_counter() - started)
        assert response.status_code == 204, response.content[:500]
    clicks.sort()
    p95 = clicks[int(0.95 * (len(clicks) - 1))]
    print(
        f"charting click -> workspace (sqlite): median {statistics.median(clicks) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms ({len(clicks)} clicks, up to {args.points} points per session)"
    )
    print(
        f"sign-off of a {args.points}-point session (sqlite): median "
        f"{statistics.median(signs) * 1000:.1f} ms ({len(signs)} sessions; {args.points} stock "
        "movements, follow-ups, audit)"
    )


if __name__ == "__main__":
    main()
