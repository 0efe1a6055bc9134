"""The clinic's view of the protocol library, and tuning its practice defaults."""

from __future__ import annotations

from django.db import transaction

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import InvalidInput
from mesochart.protocols import Library, OverrideError, load_library, tuned_library

from .models import ClinicParameter


def _typed(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def clinic_overrides(clinic: Clinic) -> dict[str, float | int]:
    """The clinic's tuned parameters (one query)."""
    return {p.param_id: _typed(p.value) for p in ClinicParameter.objects.filter(clinic=clinic)}


def library_for(clinic: Clinic) -> Library:
    """The shipped library with this clinic's tuned practice defaults."""
    return tuned_library(clinic_overrides(clinic))


def do_tune_parameter(
    actor: User, clinic: Clinic, param_id: str, value: float, reason: str
) -> ClinicParameter:
    """Set a P/G parameter for the clinic; L/S limits and bad values are refused."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "Give a reason for the change (it is kept in the audit log).", field="reason"
        )
    base = load_library()
    with transaction.atomic():
        overrides = clinic_overrides(clinic)
        try:
            param = base.param(param_id)
        except KeyError:
            raise InvalidInput(f"Unknown parameter {param_id!r}.", field="param_id") from None
        try:
            base.with_overrides({**overrides, param_id: _typed(value)})
        except OverrideError as exc:
            field = "value" if exc.param_id == param_id and param.tunable else "param_id"
            raise InvalidInput(str(exc), field=field) from None
        previous = overrides.get(param_id, param.value)
        row, _ = ClinicParameter.objects.update_or_create(
            clinic=clinic,
            param_id=param_id,
            defaults={"value": float(value), "reason": reason, "set_by": actor},
        )
        record(
            "protocols.tune",
            actor=actor,
            clinic=clinic,
            object_type="protocols.parameter",
            object_id=param_id,
            details={
                "old": previous,
                "new": _typed(value),
                "default": param.value,
                "evidence": param.evidence,
                "reason": reason,
            },
        )
    return row


def do_reset_parameter(actor: User, clinic: Clinic, param_id: str, reason: str) -> None:
    """Return a parameter to the library's default."""
    with transaction.atomic():
        row = ClinicParameter.objects.filter(clinic=clinic, param_id=param_id).first()
        if row is None:
            raise InvalidInput(f"{param_id} is not tuned at this clinic.", field="param_id")
        row.delete()
        record(
            "protocols.reset",
            actor=actor,
            clinic=clinic,
            object_type="protocols.parameter",
            object_id=param_id,
            details={"old": _typed(row.value), "reason": reason.strip()},
        )
