"""Scale: patient search against hand-written indexed SQL, the patient list and the
dashboard at a small and a large clinic, and registrations per second through the service
(audit included).

.venv/bin/python bench/bench_scale.py [--small 1000] [--large 100000] [--registrations 300]

Without DATABASE_URL: a fresh SQLite file ``var/bench/scale.sqlite3``. With
DATABASE_URL=postgres://...: that database, migrated and seeded (never a real one).

- search: the list view's query for one name (``search_patients``, first page of 25 and the
  capped count, as model instances), at the large clinic, for a name one patient has and
  a name 50 patients have; beside it the best hand-written SQL for the same rows (the same
  index, rows as tuples): the ratio is the ORM's and the search module's cost.
- pages: the patient list and the dashboard through Django's test client, signed in as
  a practitioner of the clinic (no second factor to pass) (middleware, read audit, template), at both clinic sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def paired_ms(fns, runs: int = 15) -> list[float]:  # type: ignore[no-untyped-def]
    """Median ms of each of ``fns``, timed in turn within each run (so that a busy moment of
    the machine weighs on all of them alike)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, samples in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
    return [statistics.median(samples) for samples in times]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        path = ROOT / "var" / "bench" / "scale.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from mesochart.accounts.middleware import SESSION_CLINIC_KEY
    from mesochart.accounts.models import Membership, Role, User
    from mesochart.patients import services
    from mesochart.patients.models import Patient, PatientSearchTerm
    from mesochart.patients.search import CappedPaginator, search_patients
    from mesochart.stock.scale import seed_scale

    settings.ALLOWED_HOSTS = ["*"]
    runs = args.runs
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    small = seed_scale(0, 1, patients=args.small, quiet=True).clinics[0]
    large = seed_scale(0, 1, patients=args.large, quiet=True).clinics[0]
    actor = User.objects.get(username="scale-seeder")

    # Two names the seeded lists never give: one patient, and 50 patients.
    extra = []
    for i, (given, family) in enumerate(
        [("Ottilie", "Zabaleta")] + [("Mireille", "Quenneville")] * 50
    ):
        patient = Patient(
            organisation_id=large.organisation_id,
            clinic=large,
            mrn=f"{large.organisation.mrn_prefix}-X{i:05d}",
            given_name=given,
            family_name=family,
            birth_date=date(1980, 1, 1 + i % 28),
            sex="female",
            created_by=actor,
        )
        patient.set_match_keys()
        extra.append(patient)
    Patient.objects.bulk_create(extra)
    PatientSearchTerm.write(extra, replace=False)
    with connection.cursor() as cursor:
        # What autovacuum does to a live database after a load: statistics, and (PostgreSQL)
        # the trigram index's pending list merged (GIN's fast update), without which every
        # search also reads the 100,000 freshly loaded rows' pending entries.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    columns = ["id", "mrn", "given_name", "family_name", "birth_date", "sex", "phone", "updated_at"]

    def orm_search(query: str):  # type: ignore[no-untyped-def]
        def run() -> None:
            found = search_patients(Patient.objects.filter(clinic=large), query, large)
            paginator = CappedPaginator(found.only(*columns), 25)
            page = paginator.get_page(1)
            list(page.object_list)

        return run

    def sql_search(word: str):  # type: ignore[no-untyped-def]
        if connection.vendor == "sqlite":
            clinic_id = large.pk.hex
            match = (
                "p.clinic_id = %s AND p.id IN (SELECT patient_id FROM patients_patientsearchterm"
                " WHERE clinic_id = %s AND term >= %s AND term < %s)"
            )
            params = [clinic_id, clinic_id, word, word + "\U0010ffff"]
        else:
            match = "p.clinic_id = %s AND p.search_text LIKE %s"
            params = [large.pk, f"% {word}%"]
        rows = (
            f"SELECT p.{', p.'.join(columns)} FROM patients_patient p WHERE {match}"
            " ORDER BY p.sort_name, p.mrn LIMIT 25"
        )
        count = (
            f"SELECT COUNT(*) FROM (SELECT 1 FROM patients_patient p WHERE {match} LIMIT 1001) t"
        )

        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute(count, params)
                cursor.fetchone()
                cursor.execute(rows, params)
                cursor.fetchall()

        return run

    def app_sql(word: str):  # type: ignore[no-untyped-def]
        """The statements ``orm_search`` sends, replayed on a cursor (no ORM around them)."""
        with CaptureQueriesContext(connection) as ctx:
            orm_search(word)()
        statements = [q["sql"] for q in ctx.captured_queries]

        def run() -> None:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()

        return run

    print(f"name search at {Patient.objects.filter(clinic=large).count():,} patients (median ms)")
    for label, word in (("1 hit", "zabaleta"), ("50 hits", "quenneville")):
        hits = search_patients(Patient.objects.filter(clinic=large), word, large).count()
        assert hits == (1 if word == "zabaleta" else 50), hits
        orm, app, sql = paired_ms([orm_search(word), app_sql(word), sql_search(word)], runs)
        print(
            f"  {label}: the app's statements {app:.3f} ms, hand-written SQL {sql:.3f} ms, "
            f"ratio {app / sql:.2f}; through the ORM (query building, model rows) {orm:.3f} ms"
        )

    manager, _ = User.objects.get_or_create(username="scale-manager")
    clients = {}
    for clinic in (small, large):
        Membership.objects.get_or_create(
            user=manager, clinic=clinic, defaults={"role": Role.PRACTITIONER}
        )
        client = Client()
        client.force_login(manager)
        session = client.session
        session[SESSION_CLINIC_KEY] = str(clinic.pk)
        session.save()
        clients[clinic.pk] = client

    def page(clinic, url: str, params: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        client = clients[clinic.pk]

        def run() -> None:
            response = client.get(url, params or {})
            assert response.status_code == 200, response.status_code

        return run

    print("pages through the test client (median ms)")
    for label, url, params in (
        ("patient list", reverse("patients:list"), None),
        ("patient list, page 3", reverse("patients:list"), {"page": "3"}),
        ("search 'moreau' (common)", reverse("patients:list"), {"q": "moreau"}),
        ("dashboard", reverse("core:dashboard"), None),
    ):
        a, b = paired_ms([page(small, url, params), page(large, url, params)], runs)
        print(
            f"  {label}: {args.small:,} patients {a:.2f} ms, {args.large:,} patients {b:.2f} ms, "
            f"ratio {b / a:.2f}"
        )

    # The chart of a patient with 3 sessions and of one with 300 (each session with about
    # 4.7 KB of JSON, as a charted one has).
    from datetime import timedelta

    from mesochart.care.models import TreatmentSession

    charts = []
    for n in (3, 300):
        patient = services.do_create_patient(
            actor,
            small,
            {
                "given_name": "Chart",
                "family_name": f"Sessions{n}",
                "birth_date": date(1980, 1, 1),
                "sex": "female",
            },
            {"fitzpatrick": 3},
        )
        TreatmentSession.objects.bulk_create(
            TreatmentSession(
                organisation_id=small.organisation_id,
                clinic=small,
                patient=patient,
                protocol="skin-revitalisation",
                scheduled_for=date(2025, 1, 1) + timedelta(days=i),
                status="signed",
                created_by=actor,
                screening={"findings": [{"code": "x", "message": "m" * 200}] * 6},
                check_input={"entries": [{"zone": "forehead", "volume_ml": "0.05"}] * 30},
                check_result={"findings": [{"code": "y", "message": "n" * 150}] * 8},
            )
            for i in range(n)
        )
        charts.append(patient)
    a, b = paired_ms([page(small, reverse("patients:chart", args=[p.pk])) for p in charts], runs)
    print(f"  patient chart: 3 sessions {a:.2f} ms, 300 sessions {b:.2f} ms, ratio {b / a:.2f}")

    started = time.perf_counter()
    for i in range(args.registrations):
        services.do_create_patient(
            actor,
            large,
            {
                "given_name": "Élodie",
                "family_name": f"Bench{i}",
                "birth_date": date(1990, 1, 1),
                "sex": "female",
                "phone": f"+44 7700 {i:06d}",
                "email": f"bench{i}@example.org",
            },
            {"fitzpatrick": 3},
        )
    seconds = time.perf_counter() - started
    print(
        f"registrations: {args.registrations / seconds:,.0f}/s ({args.registrations} in {seconds:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
