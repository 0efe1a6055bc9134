"""The request type that views see once the middleware has run."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from mesochart.accounts.models import Clinic, Membership, User


class ClinicRequest(HttpRequest):
    """A request from signed-in staff: ``ActiveClinicMiddleware`` sets the clinic."""

    htmx: HtmxDetails
    user: User  # type: ignore[assignment]
    membership: Membership
    clinic: Clinic
    memberships: list[Membership]
    request_id: str
