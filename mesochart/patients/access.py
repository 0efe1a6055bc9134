"""The access gate for patients: the one way views reach a patient record."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from mesochart.accounts.permissions import check_perm

from .models import Patient


def patients_visible_to(request: HttpRequest) -> QuerySet[Patient]:
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        return Patient.objects.none()
    return Patient.objects.filter(clinic=clinic)


def patient_for(
    request: HttpRequest, patient_id: uuid.UUID, perm: str, *, with_profile: bool = True
) -> Patient:
    """The patient, or the same 404 whether it is missing or another clinic's.

    Visibility is checked before ``perm``: someone outside the clinic gets 404
    whatever their role; someone inside without ``perm`` gets 403.
    """
    queryset = patients_visible_to(request).select_related("clinic", "created_by")
    if with_profile:
        queryset = queryset.select_related("profile", "profile__updated_by")
    patient = queryset.filter(pk=patient_id).first()
    if patient is None:
        raise Http404("No patient with this id")
    check_perm(request, perm)
    return patient
