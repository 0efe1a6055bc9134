"""The request type that views see once the middleware has run."""

from __future__ import annotations

import logging
from typing import Any

from django.http import FileResponse, Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from mesochart.accounts.models import Clinic, Membership, User

logger = logging.getLogger(__name__)


class ClinicRequest(HttpRequest):
    """A request from signed-in staff: ``ActiveClinicMiddleware`` sets the clinic."""

    htmx: HtmxDetails
    user: User  # type: ignore[assignment]
    membership: Membership
    clinic: Clinic
    memberships: list[Membership]
    request_id: str


def posted(request: HttpRequest) -> Any:
    """The form data of a POST, even an empty one (``request.POST or None`` would treat an
    empty submission, such as a form of unticked boxes, as no submission at all)."""
    return request.POST if request.method == "POST" else None


def posted_files(request: HttpRequest) -> Any:
    return request.FILES if request.method == "POST" else None


def private_file_response(
    field: Any, content_type: str, filename: str, *, attachment: bool = False
) -> FileResponse:
    """Stream a private upload (a FileField value) to a caller the view has already
    passed through its access gate; never cached by the browser or a proxy."""
    if not field:
        raise Http404("No such file")
    try:
        handle = field.open("rb")
    except OSError as exc:
        # The row names a file the media folder no longer holds (or cannot be read): the
        # operator is told in the log; the user gets a plain "not found", never a 500.
        logger.error("Stored file %s cannot be read: %s", field.name, exc)
        raise Http404("The stored file is missing") from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=attachment, filename=filename
    )
    response["Cache-Control"] = "private, no-store"
    return response


def clinic_object_or_404(
    request: HttpRequest,
    queryset: Any,
    pk: Any,
    perm: str,
    what: str,
    *,
    clinic_field: str = "clinic",
) -> Any:
    """The row ``pk`` of ``queryset`` in the request's active clinic, else 404 (the same
    404 whether it is missing or another clinic's), and only then the role check (403).
    ``clinic_field`` names the path to the clinic (e.g. ``session__clinic``)."""
    from mesochart.accounts.permissions import check_perm

    clinic = getattr(request, "clinic", None)
    obj = queryset.filter(**{clinic_field: clinic}, pk=pk).first() if clinic is not None else None
    if obj is None:
        raise Http404(f"No {what} with this id")
    check_perm(request, perm)
    return obj
