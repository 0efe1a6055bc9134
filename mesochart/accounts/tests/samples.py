"""Objects of ``clinic`` for every id parameter of the accounts URLs (see the URL walker)."""

from __future__ import annotations

from typing import Any

from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from mesochart.accounts.models import Membership


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    practitioner = staff["practitioner"]
    return {
        "user_id": practitioner.pk,
        "membership_id": Membership.objects.get(user=practitioner, clinic=clinic).pk,
        # A set-password link is its own credential: the right account with a token that
        # is not its own answers 404 like any missing page.
        "uidb64": urlsafe_base64_encode(force_bytes(practitioner.pk)),
        "token": "cl0000-not-a-token",
    }
