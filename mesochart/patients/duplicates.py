"""Possible duplicates of a patient about to be registered (docs/patients.md).

A warning, not a rule: reception may register the person anyway with a reason
(``services.do_create_patient(..., duplicate_reason=...)``). Matching uses the
stored match keys (``keys.py``) through indexes that start with the clinic, and
never looks outside the one clinic: patients of another clinic are not visible,
even in the same organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext, gettext_lazy, ngettext

from mesochart.accounts.models import Clinic

from . import keys
from .models import Patient

MAX_DUPLICATES = 10
MIN_REASON_WORDS = 3


class MatchReason(models.TextChoices):
    NAME_AND_BIRTH_DATE = "name_birth_date", gettext_lazy("same name and birth date")
    PHONE = "phone", gettext_lazy("same phone")
    EMAIL = "email", gettext_lazy("same email")


@dataclass(frozen=True)
class Duplicate:
    patient: Patient
    reasons: tuple[MatchReason, ...]

    @property
    def phone_hint(self) -> str:
        return mask_phone(self.patient.phone)

    @property
    def email_hint(self) -> str:
        return mask_email(self.patient.email)


def possible_duplicates(clinic: Clinic, data: Mapping[str, Any]) -> list[Duplicate]:
    """Patients of ``clinic`` that ``data`` (the fields of ``PatientForm``) may be.

    A patient matches on the same name and birth date (family and given name
    compared casefolded, accents and extra spaces ignored), the same phone (the
    last 9 digits when both numbers have at least 9, all digits otherwise: see
    ``keys.phone_key``) or the same email (case ignored). At most
    ``MAX_DUPLICATES``, by record number. One query.
    """
    name, birth, phone, email = _keys(data)
    candidates = duplicate_candidates(clinic, data)
    if candidates is None:
        return []
    found = []
    for patient in candidates[:MAX_DUPLICATES]:
        reasons = []
        if name and patient.name_key == name and patient.birth_date == birth:
            reasons.append(MatchReason.NAME_AND_BIRTH_DATE)
        if phone and patient.phone_key == phone:
            reasons.append(MatchReason.PHONE)
        if email and patient.email_key == email:
            reasons.append(MatchReason.EMAIL)
        found.append(Duplicate(patient, tuple(reasons)))
    return found


def duplicate_candidates(clinic: Clinic, data: Mapping[str, Any]) -> QuerySet[Patient] | None:
    """The query behind ``possible_duplicates`` (one branch per key, each served by an
    index that starts with the clinic); ``None`` when ``data`` has nothing to match on."""
    name, birth, phone, email = _keys(data)
    condition = Q()
    if name and birth is not None:
        condition |= Q(clinic=clinic, name_key=name, birth_date=birth)
    if phone:
        condition |= Q(clinic=clinic, phone_key=phone)
    if email:
        condition |= Q(clinic=clinic, email_key=email)
    if not condition:
        return None
    return Patient.objects.filter(condition).order_by("mrn")


def reason_problem(reason: str) -> str | None:
    """What is wrong with a reason for registering a possible duplicate anyway, if anything."""
    words = len(reason.split())
    if words == 0:
        return gettext("Give the reason to register this patient anyway.")
    if words < MIN_REASON_WORDS:
        return ngettext(
            "Say in at least %(count)d word why this is a different person.",
            "Say in at least %(count)d words why this is a different person.",
            MIN_REASON_WORDS,
        ) % {"count": MIN_REASON_WORDS}
    return None


def mask_phone(phone: str) -> str:
    """Only the last 4 digits: ``"+44 7700 900123"`` -> ``"••• 0123"``; "" stays ""."""
    digits = "".join(c for c in phone if c.isdigit())
    if not digits:
        return ""
    return f"••• {digits[-4:]}" if len(digits) > 4 else "•••"


def mask_email(email: str) -> str:
    """First letter and domain: ``"elena@example.org"`` -> ``"e•••@example.org"``."""
    local, at, domain = email.partition("@")
    if not at:
        return "•••" if email else ""
    return f"{local[:1]}•••@{domain}"


def _keys(data: Mapping[str, Any]) -> tuple[str, date | None, str, str]:
    return (
        keys.name_key(data.get("family_name") or "", data.get("given_name") or ""),
        _as_date(data.get("birth_date")),
        keys.phone_key(data.get("phone") or ""),
        keys.email_key(data.get("email") or ""),
    )


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
