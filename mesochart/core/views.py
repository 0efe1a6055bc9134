from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mesochart.core.http import ClinicRequest
from mesochart.outcomes.services import dashboard_context
from mesochart.patients.access import patients_visible_to


@login_required
def dashboard(request: ClinicRequest) -> HttpResponse:
    clinic = request.clinic
    patients = patients_visible_to(request)
    context = {
        "today": clinic.local_now().date() if clinic else None,
        "patient_count": patients.count(),
        "recent_patients": list(patients.order_by("-updated_at")[:8]),
    }
    context.update(dashboard_context(clinic, getattr(request, "membership", None)))
    return render(request, "core/dashboard.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
