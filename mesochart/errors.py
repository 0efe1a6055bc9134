"""Domain errors: exception classes with a stable code, mapped to HTTP in one place
(``mesochart.core.middleware.DomainErrorMiddleware``)."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    code = "invalid"
    status = 400


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403


class AccountLocked(DomainError):
    code = "account_locked"
    status = 429
