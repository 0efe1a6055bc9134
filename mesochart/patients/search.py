"""Patient search: by name, email, record number, phone or birth date, in one box.

Every kind of query is an index lookup under the clinic, never a scan of the table:

- a birth date (``1985-04-02``, ``02/04/1985``...): the (clinic, birth date) index;
- a number (digits, with spaces, ``+``, ``-``, ``.``, brackets): the record number with
  those digits, and the phone with those digits (the phone's match key, so
  ``07700 900123`` finds ``+44 7700 900123``);
- an email address (with ``@``): the whole address, case ignored (its match key);
- a record number as printed, with the organisation's prefix (``MC-000123``, ``mc123``);
- anything else: words. Each typed word must start one of the patient's name words,
  case and accents ignored (``elo mor`` finds Élodie Moreau). PostgreSQL looks the
  words up in ``search_text`` through a trigram index (``pg_trgm``); SQLite through the
  ``PatientSearchTerm`` prefix index.

Results come in the list's order (family name, given name, record number), and their
count is capped (``CappedPaginator``): "more than 1,000" costs no more than 1,000 rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cached_property
from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet

from mesochart.accounts.models import Clinic

from . import keys
from .models import Patient, PatientSearchTerm

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
_RECORD_NUMBER = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,7})-?(\d+)$")
_NUMBER = re.compile(r"^[\d\s+().-]+$")
MIN_PHONE_DIGITS = 7
MAX_TOKENS = 6
# The highest code point: ``term < token + _TOP`` bounds every word starting with token.
_TOP = "\U0010ffff"
COUNT_CAP = 1000


def parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def search_patients(
    queryset: QuerySet[Patient], query: str, clinic: Clinic | None
) -> QuerySet[Patient]:
    """``queryset`` (``clinic``'s patients) narrowed to those matching ``query``."""
    text = " ".join(query.split())
    if not text:
        return queryset
    if clinic is None:
        return queryset.none()
    birth = parse_date(text)
    if birth is not None:
        return queryset.filter(birth_date=birth)
    if "@" in text:
        return queryset.filter(email_key=keys.email_key(text))
    printed = _RECORD_NUMBER.match(text)
    prefix = clinic.organisation.mrn_prefix
    if printed is not None and printed.group(1).upper() == prefix.upper():
        return queryset.filter(
            organisation_id=clinic.organisation_id,
            mrn__in=_record_numbers(prefix, printed.group(2), text),
        )
    if _NUMBER.match(text):
        digits = re.sub(r"\D", "", text)
        if digits:
            condition = Q(
                organisation_id=clinic.organisation_id,
                mrn__in=_record_numbers(prefix, digits),
            )
            phone = keys.phone_key(digits)
            if len(digits) >= MIN_PHONE_DIGITS:
                condition |= Q(phone_key=phone)
            return queryset.filter(condition)
    tokens = list(dict.fromkeys(keys.words(text)))[:MAX_TOKENS]
    if not tokens:
        return queryset.none()
    if PatientSearchTerm.in_use(queryset.db):
        for token in tokens:
            ids = PatientSearchTerm.objects.filter(
                clinic=clinic, term__gte=token, term__lt=token + _TOP
            ).values("patient_id")
            queryset = queryset.filter(pk__in=ids)
        return queryset
    for token in tokens:
        # " token" inside " word word ": a word that starts with the token (pg_trgm's GIN
        # index serves LIKE '% token%').
        queryset = queryset.filter(search_text__contains=f" {token}")
    return queryset


def _record_numbers(prefix: str, digits: str, printed: str = "") -> list[str]:
    """The record numbers ``digits`` may mean in an organisation with ``prefix``: the
    number as the app writes it (``MC-000123``), and ``printed`` as typed."""
    numbers = {printed.upper(), printed} if printed else set()
    if len(digits) <= 12:
        numbers.add(f"{prefix}-{int(digits):06d}")
    return sorted(numbers)


class CappedPaginator(Paginator):
    """A paginator that counts at most ``COUNT_CAP + 1`` rows: past the cap the count
    says "more than" and the pages stop there (a narrower search finds the rest)."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        rows = cast("QuerySet[Any]", self.object_list)
        return min(rows.order_by()[: self.cap + 1].count(), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        if self.capped:
            return max(1, self.cap // self.per_page)
        return super().num_pages
