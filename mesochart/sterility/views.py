from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from mesochart.accounts.permissions import require
from mesochart.core.http import ClinicRequest


@require("sterility.view")
def index(request: ClinicRequest) -> HttpResponse:
    return render(request, "sterility/index.html", {})
