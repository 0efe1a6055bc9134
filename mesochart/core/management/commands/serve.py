"""Serve Mesochart for real: gunicorn (the production WSGI server) with defaults for a small
clinic server, behind the reverse proxy of docs/deploy.md.

    mesochart serve [--bind 127.0.0.1:8000] [--workers N] [--threads N] [--timeout S]

Defaults (each also from the environment: ``WEB_BIND``, ``WEB_WORKERS``, ``WEB_THREADS``,
``WEB_TIMEOUT``): one worker process per CPU core plus one, each with 4 threads (``gthread``:
a request waiting on the database does not hold a whole process), requests killed after
60 s (every long job, such as a large fridge import, runs as a background task instead),
workers recycled after about 2,000 requests. Static files come from the app itself
(WhiteNoise), so nothing else needs serving. Measured on 2 cores: docs/benchmarks.md.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def default_workers() -> int:
    return (os.cpu_count() or 1) + 1


class Command(BaseCommand):
    help = "Serve the app with gunicorn (production), with defaults for a small server."
    requires_system_checks = []  # gunicorn's workers import the app and run it themselves

    def add_arguments(self, parser: CommandParser) -> None:
        env = os.environ.get
        parser.add_argument("--bind", default=env("WEB_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(env("WEB_WORKERS", "0")) or None)
        parser.add_argument("--threads", type=int, default=int(env("WEB_THREADS", "4")))
        parser.add_argument("--timeout", type=int, default=int(env("WEB_TIMEOUT", "60")))
        parser.add_argument(
            "--access-log",
            default=env("WEB_ACCESS_LOG", "-"),
            help="file for the access log; '-' is standard output, '' none",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from mesochart.wsgi import application

        settings = {
            "bind": options["bind"],
            "workers": options["workers"] or default_workers(),
            "threads": options["threads"],
            "worker_class": "gthread",
            "timeout": options["timeout"],
            "graceful_timeout": 30,
            "keepalive": 5,
            "max_requests": 2000,
            "max_requests_jitter": 200,
            "accesslog": options["access_log"] or None,
            # The proxy in front (docs/deploy.md) runs on the same machine.
            "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        }

        class Server(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in settings.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return application

        Server().run()
