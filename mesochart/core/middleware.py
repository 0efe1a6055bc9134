from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from mesochart.errors import DomainError


class DomainErrorMiddleware:
    """The one place that turns a domain error into an HTTP answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse(
                {"error": exception.message, "code": exception.code, "field": exception.field},
                status=exception.status,
            )
        return render(request, "core/error.html", {"error": exception}, status=exception.status)
