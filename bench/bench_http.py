"""Pages under the production server: `wrk` against `mesochart serve` (gunicorn), signed in
as a practitioner, on a clinic of 100,000 patients.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mesochart_bench_http \\
  .venv/bin/python bench/bench_http.py [--patients 100000] [--duration 20] [--connections 16]

Needs `wrk` (`apt-get install wrk`). The database is migrated and seeded (never a real
one); without DATABASE_URL a throwaway SQLite file is used. For each page: one request
first, which must answer 200 with the page's content (wrk counts a redirect to the
sign-in page as a success), then `wrk -t2 -c16 -d20s --latency`: requests/s, p50, p99,
errors, and the machine's load average beside them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer {url}")


def fetch(url: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def parse_wrk(output: str) -> dict[str, str]:
    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        return match.group(1) if match else "?"

    return {
        "rps": find(r"^Requests/sec:\s+([\d.]+)"),
        "p50": find(r"^\s+50%\s+(\S+)"),
        "p99": find(r"^\s+99%\s+(\S+)"),
        "requests": find(r"^\s+(\d+) requests in"),
        "non2xx": find(r"Non-2xx or 3xx responses: (\d+)") if "Non-2xx" in output else "0",
        "socket_errors": find(r"Socket errors: (.*)$") if "Socket errors" in output else "none",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (0: serve's default)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("not run: wrk is not installed (apt-get install wrk)")
        return 0
    var_dir = tempfile.mkdtemp(prefix="mesochart-bench-http-")
    os.environ["MESOCHART_VAR_DIR"] = var_dir
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ["DATABASE_URL"] = f"sqlite:///{var_dir}/bench.sqlite3"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection

    from mesochart.accounts.idle import SESSION_ACTIVITY_KEY
    from mesochart.accounts.middleware import SESSION_CLINIC_KEY
    from mesochart.accounts.models import Membership, Role, User
    from mesochart.care.models import TreatmentSession
    from mesochart.patients import services
    from mesochart.stock.scale import seed_scale

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    clinic = seed_scale(0, 1, patients=args.patients, quiet=True).clinics[0]
    print(
        f"database: {connection.vendor}; seeded {args.patients:,} patients in {time.perf_counter() - started:.0f} s"
    )
    actor = User.objects.get(username="scale-seeder")
    patient = services.do_create_patient(
        actor,
        clinic,
        {
            "given_name": "Élodie",
            "family_name": "Benchmark",
            "birth_date": date(1980, 1, 1),
            "sex": "female",
        },
        {"fitzpatrick": 3},
    )
    TreatmentSession.objects.bulk_create(
        TreatmentSession(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            protocol="skin-revitalisation",
            scheduled_for=date(2025, 1, 1) + timedelta(days=14 * i),
            status="signed",
            created_by=actor,
        )
        for i in range(20)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    manager = User.objects.create_user("bench-manager", password=None)
    Membership.objects.create(user=manager, clinic=clinic, role=Role.PRACTITIONER)
    session = SessionStore()
    session[SESSION_KEY] = str(manager.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = manager.get_session_auth_hash()
    session[SESSION_CLINIC_KEY] = str(clinic.pk)
    session[SESSION_ACTIVITY_KEY] = time.time() + 3600  # not signed out as idle during the run
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    connection.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        str(ROOT / ".venv/bin/mesochart"),
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-log",
        "",
    ]
    if args.workers:
        command += ["--workers", str(args.workers)]
    server = subprocess.Popen(command, env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1"})
    try:
        wait_until_up(f"{base}/healthz")
        pages = [
            ("patient chart", f"/patients/{patient.pk}/", "Benchmark"),
            ("patient list", "/patients/", "patients"),
        ]
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
            f"mesochart serve ({args.workers or 'default'} workers), {os.cpu_count()} CPUs"
        )
        for label, path, expected in pages:
            status, body = fetch(base + path, cookie)
            assert status == 200 and expected in body, (label, status)
            for _ in range(20):
                fetch(base + path, cookie)
            before = os.getloadavg()[0]
            output = subprocess.run(
                ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
                 "--latency", "-H", f"Cookie: {cookie}", base + path],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            after = os.getloadavg()[0]
            figures = parse_wrk(output)
            print(
                f"  {label}: {figures['rps']} requests/s, p50 {figures['p50']}, p99 {figures['p99']}, "
                f"{figures['requests']} requests, non-2xx {figures['non2xx']}, socket errors "
                f"{figures['socket_errors']}; load average {before:.2f} before, {after:.2f} after"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
