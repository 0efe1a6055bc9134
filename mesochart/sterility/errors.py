"""Domain errors of the sterility app, each with a stable ``sterility.*`` code."""

from __future__ import annotations

from mesochart.errors import Conflict, DomainError, InvalidInput


class SterilityRefusal(Conflict):
    """A rule refuses the action (409): release, pack use, single-use item reuse."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SterilityInvalid(InvalidInput):
    """Bad input (400), named by field."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SterilityNotFound(DomainError):
    """An object of another clinic: the same answer as a missing one."""

    status = 404

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


# Stable codes (documented in docs/sterility.md).
PHYSICAL_NOT_MET = "sterility.physical_parameters_not_met"
CI_MISSING = "sterility.ci_missing"
CI_FAILED = "sterility.ci_failed"
BI_PENDING = "sterility.bi_pending"
BI_FAILED = "sterility.bi_failed"
BOWIE_DICK_MISSING = "sterility.bowie_dick_missing"
BOWIE_DICK_FAILED = "sterility.bowie_dick_failed"
CYCLE_FAILED = "sterility.cycle_failed"
ALREADY_RELEASED = "sterility.already_released"
BAD_TRANSITION = "sterility.bad_transition"
PACK_NOT_RELEASED = "sterility.pack_not_released"
PACK_EXPIRED = "sterility.pack_expired"
PACK_USED = "sterility.pack_used"
PACK_SUSPECT = "sterility.pack_suspect"
PACK_NOT_FOUND = "sterility.pack_not_found"
SINGLE_USE_REUSED = "sterility.single_use_reused"
ITEM_EXPIRED = "sterility.item_expired"
ITEM_LOT_EXHAUSTED = "sterility.item_lot_exhausted"
ITEM_NOT_FOUND = "sterility.item_lot_not_found"
PATIENT_NOT_FOUND = "sterility.patient_not_found"
CYCLE_NUMBER_TAKEN = "sterility.cycle_number_taken"
PROGRAM_NEEDS_PRE_VACUUM = "sterility.program_needs_pre_vacuum"
STERILISER_INACTIVE = "sterility.steriliser_inactive"
IN_FUTURE = "sterility.in_future"
