from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mesochart.accounts.permissions import require


@require("protocols.view")
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "library/index.html", {})
