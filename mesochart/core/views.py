from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mesochart.accounts.permissions import has_perm
from mesochart.care.services.followups import follow_up_board
from mesochart.core.http import ClinicRequest
from mesochart.outcomes.services import dashboard_context
from mesochart.patients.access import patients_visible_to
from mesochart.scheduling.today import today_board
from mesochart.stock.services import alerts as stock_alerts

PATIENT_COUNT_CAP = 1000


@login_required
def dashboard(request: ClinicRequest) -> HttpResponse:
    clinic = request.clinic
    patients = patients_visible_to(request)
    context: dict[str, Any] = {
        "today": clinic.today() if clinic else None,
        # Counted up to the cap only: "more than 1,000" costs the same at any size.
        "patient_count": patients.order_by().values("pk")[: PATIENT_COUNT_CAP + 1].count(),
        "patient_count_cap": PATIENT_COUNT_CAP,
        "recent_patients": list(patients.order_by("-updated_at")[:8]),
    }
    if clinic is not None and has_perm(request.membership, "followup.view"):
        context["board"] = follow_up_board(clinic, context["today"])
    if clinic is not None and has_perm(request.membership, "scheduling.view"):
        context["appointments_today"] = today_board(clinic, context["today"])
    if clinic is not None and has_perm(request.membership, "stock.view"):
        context["stock_alerts"] = stock_alerts(clinic, context["today"])
    context.update(dashboard_context(clinic, getattr(request, "membership", None)))
    return render(request, "core/dashboard.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
