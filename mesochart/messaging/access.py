"""The access gate of messages: the clinic's own, or 404 (missing or another clinic's)."""

from __future__ import annotations

import uuid

from django.http import Http404

from mesochart.accounts.permissions import check_perm
from mesochart.core.http import ClinicRequest

from .models import Message


def message_for(request: ClinicRequest, message_id: uuid.UUID, perm: str) -> Message:
    message = (
        Message.objects.filter(pk=message_id, clinic=request.clinic)
        .select_related("patient", "clinic", "created_by")
        .first()
    )
    if message is None:
        raise Http404("No message with this id")
    check_perm(request, perm)
    return message
