from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from mesochart.accounts.permissions import has_perm, require
from mesochart.audit.models import AuditEvent
from mesochart.audit.services import record_read
from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError
from mesochart.library.services import library_for

from . import services
from .access import patient_for, patients_visible_to
from .duplicates import Duplicate, possible_duplicates
from .forms import DuplicateCheckForm, PatientForm, PatientSearchForm, ProfileForm
from .screening import screen_all
from .search import CappedPaginator, search_patients
from .sections import Latest, latest


@require("patient.view")
def patient_list(request: ClinicRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    patients = search_patients(patients_visible_to(request), query, request.clinic).only(
        "id", "mrn", "given_name", "family_name", "birth_date", "sex", "phone", "updated_at"
    )
    paginator = CappedPaginator(patients, settings.PATIENTS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query}
    # The list shows demographics: its page of results is logged, never the query (a
    # searched name would put patient data into the log).
    record_read(request, "patient_search", patients=[str(p.pk) for p in page])
    if request.htmx:
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


@require("patient.create")
def patient_create(request: ClinicRequest) -> HttpResponse:
    """Register a patient. Possible duplicates in the clinic are shown first (409,
    nothing saved, everything typed kept); "register anyway" needs a reason (400
    without one)."""
    can_profile = has_perm(request.membership, "profile.edit")
    form = PatientForm(posted(request), prefix="p")
    profile_form = ProfileForm(posted(request), prefix="m") if can_profile else None
    check = DuplicateCheckForm(posted(request), prefix="d")
    duplicates: list[Duplicate] = []
    status = 400 if request.method == "POST" else 200
    if (
        request.method == "POST"
        and form.is_valid()
        and (profile_form is None or profile_form.is_valid())
    ):
        duplicates = possible_duplicates(request.clinic, form.cleaned_data)
        blocked = check.blocks(duplicates)
        if blocked is None:
            patient = services.do_create_patient(
                request.user,
                request.clinic,
                form.cleaned_data,
                profile_form.profile_data() if profile_form is not None else None,
                duplicate_reason=check.given_reason() if duplicates else None,
            )
            return redirect("patients:chart", patient_id=patient.pk)
        status = blocked
    context = {
        "form": form,
        "profile_form": profile_form,
        "check": check,
        "duplicates": duplicates,
    }
    return render(request, "patients/create.html", context, status=status)


@login_required
def patient_chart(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The chart: each growing section shows its latest ``CHART_ROWS`` rows and a "show
    all" link (``?all=<section>``, that section in full), so the page costs the same with
    3 sessions or 300."""
    patient = patient_for(request, patient_id, "patient.view")
    services.record_chart_view(request.user, request.clinic, patient)
    membership = request.membership
    show_all = request.GET.get("all", "")
    versions: Latest[Any] = Latest([], more=False)
    screening = []
    if has_perm(membership, "profile.view"):
        versions = latest(
            patient.profile.versions.select_related("changed_by").defer("data"),
            everything=show_all == "history",
        )
        screening = screen_all(patient, library_for(request.clinic), request.clinic.today())
    audit_events: Latest[Any] = Latest([], more=False)
    if has_perm(membership, "audit.view"):
        audit_events = latest(
            AuditEvent.objects.filter(
                object_type="patients.patient", object_id=str(patient.pk)
            ).order_by("-seq"),
            everything=show_all == "audit",
        )
    return render(
        request,
        "patients/chart.html",
        {
            "patient": patient,
            "versions": versions,
            "audit_events": audit_events,
            "screening": screening,
            "show_all": show_all,
        },
    )


@login_required
def patient_edit(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "patient.edit", with_profile=False)
    if request.method == "GET":
        record_read(request, patient, page="edit")
    form = PatientForm(posted(request), instance=patient)
    if request.method == "POST" and form.is_valid():
        services.do_update_patient(request.user, request.clinic, patient, form.cleaned_data)
        return redirect("patients:chart", patient_id=patient.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/edit.html", {"form": form, "patient": patient}, status=status)


@login_required
def profile_edit(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "profile.edit")
    if request.method == "GET":
        record_read(request, patient, page="profile")
    profile = patient.profile
    form = ProfileForm(posted(request), instance=profile, initial={"version": profile.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.do_update_profile(
                    request.user,
                    request.clinic,
                    patient,
                    form.profile_data(),
                    expected_version=form.cleaned_data["version"] or 0,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                return redirect("patients:chart", patient_id=patient.pk)
    return render(
        request, "patients/profile_edit.html", {"form": form, "patient": patient}, status=status
    )
