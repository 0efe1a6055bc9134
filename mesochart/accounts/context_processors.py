from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import two_factor
from .permissions import PERMISSIONS, has_perm


def clinic(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    memberships = getattr(request, "memberships", [])
    return {
        # Held on the enrolment page until a second factor is set up: no menu to elsewhere.
        "two_factor_held": bool(memberships)
        and not two_factor.is_verified(request)
        and two_factor.requires_two_factor(memberships),
        "clinic": getattr(request, "clinic", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "can": {perm.replace(".", "_"): has_perm(membership, perm) for perm in PERMISSIONS},
    }
