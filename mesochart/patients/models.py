from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models

from mesochart.accounts.models import Clinic, Organisation

from . import keys, vocabulary


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not stated"


class Language(models.TextChoices):
    EN = "en", "English"
    FR = "fr", "French"
    DE = "de", "German"
    ES = "es", "Spanish"
    IT = "it", "Italian"
    PT = "pt", "Portuguese"
    NL = "nl", "Dutch"
    PL = "pl", "Polish"
    AR = "ar", "Arabic"
    RU = "ru", "Russian"


MATCH_KEY_FIELDS = ("name_key", "phone_key", "email_key", "search_text", "sort_name")


class Patient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("record number", max_length=20)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    preferred_language = models.CharField(
        max_length=5, choices=Language.choices, default=Language.EN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # Match keys for the duplicate check (``keys.py``), set by ``save()`` from the
    # fields above; "" means "nothing to match on".
    name_key = models.CharField(max_length=keys.KEY_MAX_LENGTH, blank=True, editable=False)
    phone_key = models.CharField(max_length=keys.PHONE_KEY_DIGITS, blank=True, editable=False)
    email_key = models.CharField(max_length=keys.KEY_MAX_LENGTH, blank=True, editable=False)
    # What search and the list use (``keys.search_text``, ``keys.sort_name``), also set by
    # ``save()``. PostgreSQL searches ``search_text`` through a trigram index; SQLite
    # through ``PatientSearchTerm`` rows (``search.py``, docs/patients.md).
    search_text = models.TextField(blank=True, editable=False)
    sort_name = models.CharField(max_length=keys.KEY_MAX_LENGTH, blank=True, editable=False)

    class Meta:
        ordering = ["sort_name", "mrn"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "mrn"], name="patient_unique_mrn"),
        ]
        indexes = [
            # The list's order, per clinic (search results are sorted the same way).
            models.Index(fields=["clinic", "sort_name", "mrn"], name="patient_clinic_sort_idx"),
            models.Index(fields=["clinic", "birth_date"], name="patient_clinic_birth_idx"),
            # The dashboard's "recently updated".
            models.Index(fields=["clinic", "-updated_at"], name="patient_clinic_updated_idx"),
            models.Index(
                fields=["clinic", "name_key", "birth_date"], name="patient_dup_name_birth_idx"
            ),
            models.Index(fields=["clinic", "phone_key"], name="patient_dup_phone_idx"),
            models.Index(fields=["clinic", "email_key"], name="patient_dup_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Patient:
        patient = super().from_db(db, field_names, values)
        patient._indexed = (patient.__dict__.get("clinic_id"), patient.__dict__.get("search_text"))  # type: ignore[assignment]
        return patient

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves with the match keys and search words recomputed (also when
        ``update_fields`` is given), and the search terms kept in step where the database
        uses them.

        ``bulk_create``/``update()`` bypass this: they must call ``set_match_keys()`` and
        ``PatientSearchTerm.write`` themselves (as ``mesochart seed-scale`` does).
        """
        self.set_match_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *MATCH_KEY_FIELDS}
        adding = self._state.adding
        super().save(*args, **kwargs)
        indexed = (self.clinic_id, self.search_text)
        if adding or getattr(self, "_indexed", None) != indexed:
            PatientSearchTerm.write([self], replace=not adding)
        self._indexed = indexed

    def set_match_keys(self) -> None:
        self.name_key = keys.name_key(self.family_name, self.given_name)
        self.phone_key = keys.phone_key(self.phone)
        self.email_key = keys.email_key(self.email)
        self.search_text = keys.search_text(self.given_name, self.family_name)
        self.sort_name = keys.sort_name(self.family_name, self.given_name)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class PatientSearchTerm(models.Model):
    """One word of a patient's ``search_text``: SQLite's search index.

    SQLite has no trigram index, so a name search there looks up each typed token as a
    prefix range of ``term`` under the clinic (an index range, never a table scan).
    PostgreSQL searches ``Patient.search_text`` through its trigram index instead and
    keeps no rows here. ``mesochart reindex-patients`` rebuilds the rows (after a bulk
    load, or a database moved from PostgreSQL to SQLite).
    """

    id = models.BigAutoField(primary_key=True)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=keys.SEARCH_TEXT_MAX_LENGTH)

    class Meta:
        indexes = [models.Index(fields=["clinic", "term"], name="patient_search_term_idx")]

    @staticmethod
    def in_use(using: str | None = None) -> bool:
        return connections[using or "default"].vendor == "sqlite"

    @staticmethod
    def write(patients: Sequence[Patient], *, replace: bool = True) -> None:
        """The terms of ``patients`` (saved rows with ``search_text`` set), replacing any
        they had; nothing on a database that does not use them."""
        if not patients or not PatientSearchTerm.in_use():
            return
        if replace:
            PatientSearchTerm.objects.filter(patient__in=[p.pk for p in patients]).delete()
        PatientSearchTerm.objects.bulk_create(
            [
                PatientSearchTerm(clinic_id=p.clinic_id, patient_id=p.pk, term=term)
                for p in patients
                for term in p.search_text.split()
            ],
            batch_size=2000,
        )


def _choices(mapping: dict[Any, str]) -> list[tuple[Any, str]]:
    return list(mapping.items())


PROFILE_FIELDS = (
    "pregnant",
    "breastfeeding",
    "bmi",
    "fitzpatrick",
    "glogau",
    "conditions",
    "medications",
    "allergies",
    "isotretinoin_last_dose",
    "notes",
)


class MedicalProfile(models.Model):
    """What screening needs to know, in the contract's vocabulary.

    Every change is kept as a ``MedicalProfileVersion``; ``version`` guards
    against two people saving over each other.
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="profile")
    pregnant = models.BooleanField(default=False)
    breastfeeding = models.BooleanField(default=False)
    bmi = models.DecimalField(
        "BMI",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("10.0")), MaxValueValidator(Decimal("80.0"))],
    )
    fitzpatrick = models.PositiveSmallIntegerField(
        "Fitzpatrick phototype", null=True, blank=True, choices=_choices(vocabulary.FITZPATRICK)
    )
    glogau = models.PositiveSmallIntegerField(
        "Glogau photoaging type", null=True, blank=True, choices=_choices(vocabulary.GLOGAU)
    )
    conditions = models.JSONField(default=list, blank=True)
    medications = models.JSONField("medication classes", default=list, blank=True)
    allergies = models.JSONField("allergies (ingredients)", default=list, blank=True)
    isotretinoin_last_dose = models.DateField("isotretinoin, last dose", null=True, blank=True)
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    def snapshot(self) -> dict[str, Any]:
        """The profile's clinical content as JSON-safe values."""
        data: dict[str, Any] = {}
        for name in PROFILE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, list):
                value = sorted(value)
            data[name] = value
        return data


class MedicalProfileVersion(models.Model):
    """One saved state of a profile: who, when, and what changed from the last."""

    profile = models.ForeignKey(MedicalProfile, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    changes = models.JSONField(default=list, help_text="[{field, old, new}, ...]")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "version"], name="profile_version_unique")
        ]
