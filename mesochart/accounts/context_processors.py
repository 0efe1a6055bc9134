from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .permissions import PERMISSIONS, has_perm


def clinic(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "clinic": getattr(request, "clinic", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "can": {perm.replace(".", "_"): has_perm(membership, perm) for perm in PERMISSIONS},
    }
