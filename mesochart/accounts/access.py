"""The access gate of staff accounts for staff administration."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from .models import Clinic, Membership, Role, User
from .permissions import check_perm


def staff_for(request: HttpRequest, user_id: uuid.UUID | str, perm: str = "staff.manage") -> User:
    """A member of staff with a role (current or removed) in the active clinic, else 404
    (the same for a missing account and anyone else's, another clinic's or another
    organisation's), and only then the role check (403)."""
    clinic = getattr(request, "clinic", None)
    user = None
    if clinic is not None:
        user = User.objects.filter(pk=user_id, memberships__clinic=clinic).distinct().first()
    if user is None:
        raise Http404("No member of staff with this id")
    check_perm(request, perm)
    return user


def managed_clinics(actor: User, clinic: Clinic) -> QuerySet[Clinic]:
    """The clinics of ``clinic``'s organisation where ``actor`` is an active manager: where
    they may give and remove roles (never a clinic of another organisation)."""
    return Clinic.objects.filter(
        organisation_id=clinic.organisation_id,
        memberships__user=actor,
        memberships__role=Role.MANAGER,
        memberships__is_active=True,
    ).order_by("name")


def membership_for(request: HttpRequest, user: User, membership_id: int) -> Membership:
    """One of ``user``'s memberships in a clinic the requesting manager manages, else 404."""
    clinic = getattr(request, "clinic", None)
    membership = (
        Membership.objects.filter(
            pk=membership_id,
            user=user,
            clinic__in=managed_clinics(request.user, clinic),  # type: ignore[arg-type]
        )
        .select_related("clinic", "user")
        .first()
        if clinic is not None
        else None
    )
    if membership is None:
        raise Http404("No such role")
    return membership
