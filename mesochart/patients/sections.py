"""The chart's growing sections (sessions, plans, consents, profile history, audit): the
latest rows only, with a "show all" link when there are more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Model, QuerySet

CHART_ROWS = 10

T = TypeVar("T", bound=Model)


@dataclass(frozen=True)
class Latest(Generic[T]):
    rows: list[T]
    more: bool  # rows beyond those shown exist

    def __iter__(self) -> Iterator[T]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def latest(queryset: QuerySet[T], *, everything: bool = False, rows: int = CHART_ROWS) -> Latest[T]:
    """The first ``rows`` of ``queryset`` in its order (one query: ``rows + 1`` are read to
    know whether there are more), or all of them with ``everything``."""
    if everything:
        return Latest(list(queryset), more=False)
    found = list(queryset[: rows + 1])
    return Latest(found[:rows], more=len(found) > rows)
