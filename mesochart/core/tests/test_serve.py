"""`mesochart serve`: the production server starts, answers, serves the static files
itself, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, dict(response.headers), response.read()


def test_serve_runs_gunicorn_with_the_apps_static_files(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "MESOCHART_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.sqlite3",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_WORKERS": "2",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mesochart",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--threads",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("mesochart serve did not answer")
                time.sleep(0.2)
        assert (status, body) == (200, b"ok")
        assert headers["Server"] == "gunicorn"
        status, headers, body = get(f"http://127.0.0.1:{port}/static/css/mesochart.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css") and body
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "Using worker: gthread" in output
    assert output.count("Booting worker") == 2  # WEB_WORKERS
