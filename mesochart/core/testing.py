"""Helpers for the test suites (imported by tests only)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from django.db import connections

_CSRF = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')


def strip_csrf(content: bytes) -> bytes:
    """A page without its per-response CSRF tokens, for comparing two pages."""
    return _CSRF.sub(rb"\1", content)


def race(workers: int, action: Callable[[int], object]) -> list[object]:
    """Run ``action(i)`` in ``workers`` threads released together; each thread has its
    own database connection. Returns each result, or the exception it raised."""
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        except Exception as exc:  # the outcome is what the caller checks
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
