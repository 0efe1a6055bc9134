"""Stock settings, read from Django settings with the documented defaults.

Set them in ``settings.py`` (or the environment there) to change a clinic chain's policy.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings


def fridge_bounds() -> tuple[Decimal, Decimal]:
    """Cold chain for refrigerated products: 2-8 °C (vaccine/biologic storage standard,
    repeated in product IFUs); a reading outside quarantines the fridge's lots."""
    low = Decimal(str(getattr(settings, "STOCK_FRIDGE_MIN_C", "2.0")))
    high = Decimal(str(getattr(settings, "STOCK_FRIDGE_MAX_C", "8.0")))
    return low, high


def expiry_warning_days() -> int:
    """Lots expiring within this many days appear on the stock dashboard."""
    return int(getattr(settings, "STOCK_EXPIRY_WARNING_DAYS", 30))


def multi_dose_beyond_use_days() -> int:
    """Opened multi-dose vial: 28 days after first puncture unless the product says
    otherwise (USP 797, clinical reference §9.5)."""
    return int(getattr(settings, "STOCK_MULTI_DOSE_BEYOND_USE_DAYS", 28))
