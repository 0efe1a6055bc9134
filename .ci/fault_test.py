"""Fault test: kill the real server (SIGKILL) in the middle of consent signings and photo
uploads, restart it, and check that the database and the media folder agree.

Run from the project root with the project's Python: ``.venv/bin/python .ci/fault_test.py``.
Everything lives in a temporary folder (SQLite database, media folder); the server listens
on a free loopback port; every wait has a timeout, so the test stops by itself.

Checks, after all the kills:
- every row's files exist, whole (PNG/JPEG decode, PDF ends with %%EOF), mode 0600;
- what no row names is exactly what ``mesochart media-orphans`` reports, and after
  ``media-orphans --delete`` every file left in the folder is named by a row;
- the restarted server still signs and uploads (a final uncut signing and upload).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import io
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESOCHART = [sys.executable, "-m", "mesochart"]
KILLS_PER_KIND = 5
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port, self.proc = env, port, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*MESOCHART, "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/accounts/login/", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        self.kill()
        raise SystemExit("fault test: the server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=TIMEOUT)


class Browser:
    """Signed-in staff: a cookie jar and the CSRF token."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=TIMEOUT) as r:
            return r.read().decode("utf-8", "replace")

    def post(
        self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None
    ) -> int:
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in {**fields, "csrfmiddlewaretoken": self.csrf()}.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, (filename, data) in (files or {}).items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            body.write(data + b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(
            self.base + path,
            data=body.getvalue(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Referer": self.base + path,
            },
        )
        try:
            with self.opener.open(request, timeout=TIMEOUT) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def login(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        self.post("/accounts/login/", {"username": username, "password": password})
        if "sessionid" not in {c.name for c in self.jar}:
            raise SystemExit("fault test: could not sign in")


def interrupted(server: Server, send, delay: float) -> None:
    """Send a request in a thread and SIGKILL the server ``delay`` seconds later."""
    worker = threading.Thread(target=lambda: _swallow(send), daemon=True)
    worker.start()
    time.sleep(delay)
    server.kill()
    worker.join(timeout=TIMEOUT)


def _swallow(send) -> None:
    # The server dies under the request: an error here is expected.
    with contextlib.suppress(urllib.error.URLError, ConnectionError, OSError):
        send()


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="mesochart-fault-"))
    env = {
        **os.environ,
        "MESOCHART_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "DEBUG": "true",
        "LOG_LEVEL": "CRITICAL",
    }
    env.pop("DATABASE_URL", None)
    os.environ.update({k: env[k] for k in ("MESOCHART_VAR_DIR", "MEDIA_ROOT", "DEBUG")})
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesochart.settings")
    try:
        subprocess.run(
            [*MESOCHART, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300
        )
        subprocess.run(
            [*MESOCHART, "demo"], env=env, check=True, stdout=subprocess.DEVNULL, timeout=300
        )

        import django

        django.setup()
        from PIL import Image

        from mesochart.care.demo import signature_png
        from mesochart.care.models import ConsentKind, SignedConsent
        from mesochart.core.demo import DEMO_PASSWORD
        from mesochart.outcomes.models import Photo
        from mesochart.patients.models import Patient

        user = "practitioner"
        patient = Patient.objects.filter(clinic__memberships__user__username=user).first()
        assert patient is not None
        port = free_port()
        server = Server(env, port)
        server.start()
        browser = Browser(port)
        browser.login(user, DEMO_PASSWORD)

        # The template version is on the take page (chosen by kind).
        page = browser.get(f"/care/patients/{patient.pk}/consents/take/?kind=photo")
        template = re.search(r"[?&;]template=([0-9a-f-]{36})", page)
        assert template, "no photo consent template offered"
        take = f"/care/patients/{patient.pk}/consents/take/?template={template.group(1)}"
        version = re.search(r'name="version" value="([0-9a-f-]{36})"', browser.get(take))
        assert version, "no consent version on the take page"
        png = signature_png(patient.full_name)
        import base64

        signing = {
            "version": version.group(1),
            "signer_name": patient.full_name,
            "signer_role": "patient",
            "method": "on_screen",
            "signature": "data:image/png;base64," + base64.b64encode(png).decode(),
            "photo_uses": "record_only",
        }
        photo = io.BytesIO()
        Image.new("RGB", (3000, 4000), (196, 160, 140)).save(photo, "JPEG", quality=90)
        upload = ("front.jpg", photo.getvalue())

        def sign_once() -> int:
            return browser.post(take, signing)

        def upload_once() -> int:
            return browser.post(
                f"/outcomes/patients/{patient.pk}/photos/new/", {"view": "front"}, {"photo": upload}
            )

        # How long each takes uncut, to spread the kills over the request.
        t = time.monotonic()
        assert sign_once() in (200, 302), "a signing failed before any kill"
        sign_time = time.monotonic() - t
        t = time.monotonic()
        status = upload_once()
        assert status in (200, 302), f"an upload failed before any kill ({status})"
        upload_time = time.monotonic() - t

        rng = random.Random(20261207)
        for kind, send, span in (
            ("a signing", sign_once, sign_time),
            ("an upload", upload_once, upload_time),
        ):
            for i in range(KILLS_PER_KIND):
                delay = span * (i + rng.random()) / KILLS_PER_KIND
                interrupted(server, send, delay)
                server.start()
                browser = Browser(port)
                browser.login(user, DEMO_PASSWORD)
                print(f"killed during {kind} after {delay * 1000:.0f} ms; restarted")

        assert sign_once() in (200, 302), "the restarted server cannot sign"
        assert upload_once() in (200, 302), "the restarted server cannot upload"
        server.kill()

        # The database and the folder agree.
        media = Path(env["MEDIA_ROOT"])
        named: set[str] = set()
        problems: list[str] = []
        for consent in SignedConsent.objects.all():
            for field in (consent.signature, consent.scan, consent.pdf):
                if field:
                    named.add(field.name)
        for p in Photo.objects.all():
            named.update({p.original.name, p.derived.name})
        for name in sorted(named):
            path = media / name
            if not path.exists():
                problems.append(f"a row names {name}, which is not in the folder")
                continue
            if stat.S_IMODE(path.stat().st_mode) != 0o600:
                problems.append(f"{name} is not 0600")
            data = path.read_bytes()
            if name.endswith(".pdf"):
                if not data.startswith(b"%PDF") or b"%%EOF" not in data[-64:]:
                    problems.append(f"{name} is not a whole PDF")
            else:
                try:
                    Image.open(io.BytesIO(data)).load()
                except Exception as exc:
                    problems.append(f"{name} does not decode: {exc}")
        on_disk = {p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()}
        stray = sorted(on_disk - named)
        listed = subprocess.run(
            [*MESOCHART, "media-orphans", "--temp-age", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        for name in stray:
            if name not in listed:
                problems.append(f"{name} is named by no row and not reported by media-orphans")
        subprocess.run(
            [*MESOCHART, "media-orphans", "--delete", "--temp-age", "0"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
        left = {p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()}
        if left - named:
            problems.append(f"left after media-orphans --delete: {sorted(left - named)}")
        consents = SignedConsent.objects.filter(kind=ConsentKind.PHOTO, patient=patient).count()
        print(
            f"{2 * KILLS_PER_KIND} kills; {consents} photo consents and {Photo.objects.count()} photos "
            f"stored, {len(stray)} leftover file(s) found and removed by media-orphans; "
            f"{time.monotonic() - started:.1f} s"
        )
        if problems:
            print("fault test FAILED:\n  " + "\n  ".join(problems))
            return 1
        print("fault test passed: the database and the media folder agree")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
