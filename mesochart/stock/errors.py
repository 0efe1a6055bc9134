"""Stock's domain errors: each carries a stable ``code`` (``lot.expired``...) and a field."""

from __future__ import annotations

from mesochart.errors import DomainError


class StockRuleError(DomainError):
    """A stock rule refuses the action; ``code`` names the rule (e.g. ``lot.expired``)."""

    status = 409

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code
