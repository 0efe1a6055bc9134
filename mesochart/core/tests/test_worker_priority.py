"""`mesochart worker` runs background work below the web process's CPU priority."""

from __future__ import annotations

import multiprocessing
import os


def _child(settings_nice: int, out) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from mesochart.core.management.commands.worker import lower_priority

    settings.WORKER_NICE = settings_nice
    out.put((os.nice(0), lower_priority(), os.getpriority(os.PRIO_PROCESS, 0)))


def run(nice: int) -> tuple[int, int, int]:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_child, args=(nice, out))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    return out.get(timeout=5)


def test_the_worker_lowers_its_priority_by_worker_nice():
    before, after, seen = run(10)
    assert after == seen == min(before + 10, 19)


def test_worker_nice_zero_keeps_the_priority():
    before, after, seen = run(0)
    assert after == seen == before
