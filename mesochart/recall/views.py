from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import has_perm, require
from mesochart.audit.services import record_read
from mesochart.core.http import ClinicRequest
from mesochart.errors import DomainError
from mesochart.patients.access import patient_for

from . import services
from .export import rows_csv
from .forms import ContactForm, RecallSearchForm
from .rows import RecallRow


def _by_patient(rows: list[RecallRow]) -> list[dict[str, Any]]:
    patients: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        entry = patients.setdefault(row.patient_id, {"first": row, "rows": []})
        entry["rows"].append(row)
    return list(patients.values())


@require("recall.view")
def index(request: ClinicRequest) -> HttpResponse:
    form = RecallSearchForm(request.GET if "identifier" in request.GET else None)
    context: dict[str, Any] = {
        "form": form,
        "can_contact": has_perm(request.membership, "recall.contact"),
    }
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            try:
                rows = services.do_run_recall(
                    request.user, request.clinic, data["kind"], data["identifier"], data["product"]
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = 400
            else:
                if request.GET.get("format") == "csv":
                    record_read(
                        request,
                        "recall_export",
                        patients=sorted({str(r.patient_id) for r in rows}),
                    )
                    response = HttpResponse(rows_csv(rows), content_type="text/csv; charset=utf-8")
                    name = f"recall-{data['kind']}-{data['identifier']}.csv".replace("/", "_")
                    response["Content-Disposition"] = f'attachment; filename="{name}"'
                    return response
                marks = services.contact_marks(request.clinic, data["kind"], data["identifier"])
                patients = _by_patient(rows)
                for entry in patients:
                    entry["marks"] = marks.get(entry["first"].patient_id, [])
                context.update(
                    patients=patients,
                    rows=rows,
                    query=urlencode({k: v for k, v in data.items() if v}),
                    contacted=sum(1 for p in patients if p["marks"]),
                )
        else:
            status = 400
    return render(request, "recall/index.html", context, status=status)


@login_required
@require_POST
def contact(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "recall.contact", with_profile=False)
    form = ContactForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form[f].label}: {e[0]}" for f, e in form.errors.items())
        return render(request, "core/error.html", {"error": DomainError(errors)}, status=400)
    data = form.cleaned_data
    try:
        services.do_mark_contacted(
            request.user, request.clinic, patient, data["kind"], data["identifier"], data["note"]
        )
    except DomainError as exc:
        return render(request, "core/error.html", {"error": exc}, status=exc.status)
    query = urlencode({k: data[k] for k in ("kind", "identifier", "product") if data[k]})
    return redirect(f"{reverse('recall:index')}?{query}#patient-{patient.pk}")
