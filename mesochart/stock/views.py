from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from mesochart.accounts.permissions import require
from mesochart.core.http import ClinicRequest


@require("stock.view")
def index(request: ClinicRequest) -> HttpResponse:
    return render(request, "stock/index.html", {})
