"""Patient search: by name, record number or birth date, in one box."""

from __future__ import annotations

import re
from datetime import date, datetime

from django.db.models import Q, QuerySet

from .models import Patient

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
_MRN = re.compile(r"^[A-Za-z]{1,8}-?\d+$|^\d{3,}$")


def parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def search_patients(queryset: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    text = " ".join(query.split())
    if not text:
        return queryset
    birth = parse_date(text)
    if birth is not None:
        return queryset.filter(birth_date=birth)
    if _MRN.match(text):
        digits = re.sub(r"\D", "", text)
        return queryset.filter(Q(mrn__iexact=text) | Q(mrn__endswith=digits.zfill(6)))
    condition = Q()
    for token in text.split(" "):
        condition &= Q(given_name__icontains=token) | Q(family_name__icontains=token)
    return queryset.filter(condition)
