from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from mesochart.errors import DomainError, InvalidInput


def domain_error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The HTTP answer to a domain error: JSON for API callers, else the error page."""
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(
            {"error": error.message, "code": error.code, "field": error.field},
            status=error.status,
        )
    return render(request, "core/error.html", {"error": error}, status=error.status)


class DomainErrorMiddleware:
    """The one place that turns a domain error raised by a view into an HTTP answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        return domain_error_response(request, exception)


class NullCharacterMiddleware:
    """Refuses a request whose query or form carries a NUL character, naming the field.

    No text the app stores may hold one (PostgreSQL refuses it in any text column), and no
    one types it: it arrives only from broken or hostile clients. Forms refuse it field by
    field; this refuses it for every parameter at once, before any view reads it (uploaded
    files are not parameters and are not looked at).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _null_field(request)
        if field is not None:
            error = InvalidInput(
                _("%(field)s: contains a NUL character, which cannot be stored.")
                % {"field": field},
                field=field,
            )
            return domain_error_response(request, error)
        return self.get_response(request)


def _null_field(request: HttpRequest) -> str | None:
    sources = [request.GET]
    if request.method == "POST":
        sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return name.replace("\x00", "\\x00")
    return None


class NoStoreForStaffMiddleware:
    """Every page served to a signed-in member of staff may carry patient data: no browser
    or proxy may keep a copy (Cache-Control: no-store, private)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and "no-store" not in response.get("Cache-Control", "")
        ):
            patch_cache_control(response, private=True, no_store=True)
        return response
