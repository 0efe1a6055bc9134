"""Every write to patients and medical profiles; each is atomic and audited."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from mesochart.accounts.models import Clinic, Organisation, User
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput

from .duplicates import MAX_DUPLICATES, duplicate_candidates, reason_problem
from .models import PROFILE_FIELDS, MedicalProfile, MedicalProfileVersion, Patient

PATIENT_FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "email",
    "phone",
    "address",
    "preferred_language",
)


def _allocate_mrn(organisation: Organisation) -> str:
    """The organisation's next record number, in one statement that also locks the row
    until the registration commits (``UPDATE ... RETURNING``: PostgreSQL, SQLite >= 3.35)."""
    table = connection.ops.quote_name(Organisation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_mrn = next_mrn + 1 WHERE id = %s "
            "RETURNING next_mrn - 1, mrn_prefix",
            [Organisation._meta.pk.get_db_prep_value(organisation.pk, connection)],
        )
        number, prefix = cursor.fetchone()
    return f"{prefix}-{number:06d}"


def do_create_patient(
    actor: User,
    clinic: Clinic,
    data: dict[str, Any],
    profile: dict[str, Any] | None = None,
    *,
    duplicate_reason: str | None = None,
) -> Patient:
    """Register a patient with their first profile version.

    Possible duplicates (``duplicates.possible_duplicates``) do not stop this: the
    registration page warns first and passes ``duplicate_reason`` when reception
    continues. The audit event names the possible duplicates found at the moment of
    saving (``possible_duplicates``: ids) and the reason given (``duplicate_reason``).
    A reason that is given must be a few words (``InvalidInput`` on
    ``duplicate_reason`` otherwise).
    """
    if duplicate_reason is not None:
        duplicate_reason = " ".join(duplicate_reason.split())
        problem = reason_problem(duplicate_reason)
        if problem is not None:
            raise InvalidInput(problem, field="duplicate_reason")
    with transaction.atomic():
        patient = Patient(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            mrn=_allocate_mrn(clinic.organisation),
            created_by=actor,
            **{name: data[name] for name in PATIENT_FIELDS if name in data},
        )
        # Field validation only: the foreign keys are objects the caller holds, the id is
        # new and the record number was just allocated; the database guarantees the rest.
        patient.full_clean(
            exclude=["organisation", "clinic", "created_by"],
            validate_unique=False,
            validate_constraints=False,
        )
        # Only their ids are recorded: no rows to build.
        candidates = duplicate_candidates(
            clinic, {name: getattr(patient, name) for name in PATIENT_FIELDS}
        )
        duplicates = (
            []
            if candidates is None
            else list(candidates.values_list("pk", flat=True)[:MAX_DUPLICATES])
        )
        patient.save(force_insert=True)
        medical = MedicalProfile(patient=patient, updated_by=actor, version=1)
        for name in PROFILE_FIELDS:
            if profile is not None and name in profile:
                setattr(medical, name, profile[name])
        medical.full_clean(
            exclude=["patient", "updated_by"], validate_unique=False, validate_constraints=False
        )
        medical.save(force_insert=True)
        snapshot = medical.snapshot()
        MedicalProfileVersion.objects.create(
            profile=medical,
            version=1,
            data=snapshot,
            changes=[
                {"field": k, "old": None, "new": v}
                for k, v in snapshot.items()
                if v not in (None, "", [], False)
            ],
            changed_by=actor,
            changed_at=timezone.now(),
        )
        details: dict[str, Any] = {"mrn": patient.mrn}
        if duplicates:
            details["possible_duplicates"] = [str(pk) for pk in duplicates]
        if duplicate_reason is not None:
            details["duplicate_reason"] = duplicate_reason
        record("patient.create", actor=actor, clinic=clinic, obj=patient, details=details)
    return patient


def do_update_patient(
    actor: User, clinic: Clinic, patient: Patient, data: dict[str, Any]
) -> list[str]:
    """Save demographics; returns the names of the fields that changed."""
    with transaction.atomic():
        # Compare with the stored row: a bound ModelForm has already changed
        # the in-memory ``patient``.
        current = Patient.objects.select_for_update().get(pk=patient.pk)
        changed = [
            name for name in PATIENT_FIELDS if name in data and getattr(current, name) != data[name]
        ]
        if not changed:
            return []
        for name in changed:
            setattr(current, name, data[name])
        current.full_clean()
        current.save(update_fields=[*changed, "updated_at"])
        record(
            "patient.update", actor=actor, clinic=clinic, obj=patient, details={"fields": changed}
        )
    return changed


def do_update_profile(
    actor: User,
    clinic: Clinic,
    patient: Patient,
    data: dict[str, Any],
    *,
    expected_version: int,
) -> MedicalProfileVersion | None:
    """Save a new version of the medical profile, keeping the previous ones.

    ``expected_version`` is the version the editor started from: if someone
    saved in between, nothing is written and ``Conflict`` names what to do.
    """
    with transaction.atomic():
        profile = MedicalProfile.objects.select_for_update().get(patient=patient)
        if profile.version != expected_version:
            raise Conflict(
                f"Someone else saved this profile (now version {profile.version}) while you were "
                "editing version {expected_version}. Reload to see their changes; your entries are "
                "still in the form.".replace("{expected_version}", str(expected_version)),
                field="version",
            )
        before = profile.snapshot()
        for name in PROFILE_FIELDS:
            if name in data:
                setattr(profile, name, data[name])
        profile.full_clean()
        after = profile.snapshot()
        changes = [
            {"field": name, "old": before[name], "new": after[name]}
            for name in PROFILE_FIELDS
            if before[name] != after[name]
        ]
        if not changes:
            return None
        profile.version += 1
        profile.updated_by = actor
        profile.save()
        version = MedicalProfileVersion.objects.create(
            profile=profile,
            version=profile.version,
            data=after,
            changes=changes,
            changed_by=actor,
            changed_at=timezone.now(),
        )
        record(
            "profile.update",
            actor=actor,
            clinic=clinic,
            obj=patient,
            details={"version": profile.version, "fields": [c["field"] for c in changes]},
        )
    return version


def record_chart_view(actor: User, clinic: Clinic, patient: Patient) -> None:
    record("patient.view_chart", actor=actor, clinic=clinic, obj=patient)
