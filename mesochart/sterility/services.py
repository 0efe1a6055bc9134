"""Every write of the sterility app; each is atomic and audited.

Release rules live in ``release_blockers`` (a read) and ``do_release_cycle``
(the one write that releases a load). Status changes of a cycle go through
``set_status`` and the ``TRANSITIONS`` table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.patients.models import Patient

from . import errors, programs
from .errors import SterilityInvalid, SterilityNotFound, SterilityRefusal
from .models import (
    TRANSITIONS,
    BiResult,
    BowieDickTest,
    Cycle,
    CycleStatus,
    IndicatorResult,
    Pack,
    PackStatus,
    PackUse,
    SingleUseItemUse,
    SterileItemLot,
    Steriliser,
    SterilityPolicy,
)

FUTURE_TOLERANCE = timedelta(minutes=5)
STERILISER_FIELDS = (
    "name",
    "steriliser_class",
    "pre_vacuum",
    "serial",
    "bi_release_required",
    "active",
)
CYCLE_FIELDS = (
    "number",
    "started_at",
    "program",
    "temperature_c",
    "hold_min",
    "pressure_bar",
    "load_contents",
    "instrument_sets",
    "ci_type",
    "ci_result",
    "bi_lot",
    "bi_result",
    "contains_implants",
)
ITEM_LOT_FIELDS = ("kind", "product", "lot", "udi_di", "expiry", "quantity")


def _not_future(moment: datetime, field: str) -> None:
    if moment > timezone.now() + FUTURE_TOLERANCE:
        raise SterilityInvalid(errors.IN_FUTURE, "This time is in the future.", field=field)


# --- clinic policy and sterilisers -------------------------------------------


def policy_for(clinic: Clinic) -> SterilityPolicy:
    policy, _ = SterilityPolicy.objects.get_or_create(
        clinic=clinic, defaults={"organisation_id": clinic.organisation_id}
    )
    return policy


def do_set_shelf_life(actor: User, clinic: Clinic, days: int | None) -> SterilityPolicy:
    """Shelf life of new packs in days; ``None`` = event-related (no expiry date)."""
    with transaction.atomic():
        policy = policy_for(clinic)
        policy = SterilityPolicy.objects.select_for_update().get(pk=policy.pk)
        old = policy.pack_shelf_life_days
        policy.pack_shelf_life_days = days
        policy.full_clean()
        policy.save(update_fields=["pack_shelf_life_days"])
        record(
            "sterility.shelf_life",
            actor=actor,
            clinic=clinic,
            obj=policy,
            details={"old": old, "new": days},
        )
    return policy


def do_create_steriliser(actor: User, clinic: Clinic, data: dict[str, Any]) -> Steriliser:
    with transaction.atomic():
        steriliser = Steriliser(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            **{k: data[k] for k in STERILISER_FIELDS if k in data},
        )
        if steriliser.steriliser_class == "B":
            steriliser.pre_vacuum = True
        if Steriliser.objects.filter(clinic=clinic, name=steriliser.name).exists():
            raise SterilityInvalid(
                "sterility.steriliser_name_taken",
                "A steriliser of this clinic already has this name.",
                field="name",
            )
        steriliser.full_clean()
        steriliser.save(force_insert=True)
        record(
            "sterility.steriliser_create",
            actor=actor,
            clinic=clinic,
            obj=steriliser,
            details={"name": steriliser.name, "class": steriliser.steriliser_class},
        )
    return steriliser


def do_update_steriliser(actor: User, steriliser: Steriliser, data: dict[str, Any]) -> list[str]:
    """Edit a steriliser (e.g. take it out of service); returns the changed field names."""
    with transaction.atomic():
        current = Steriliser.objects.select_for_update().get(pk=steriliser.pk)
        changed = [k for k in STERILISER_FIELDS if k in data and getattr(current, k) != data[k]]
        if not changed:
            return []
        if (
            "name" in changed
            and Steriliser.objects.filter(clinic_id=current.clinic_id, name=data["name"])
            .exclude(pk=current.pk)
            .exists()
        ):
            raise SterilityInvalid(
                "sterility.steriliser_name_taken",
                "A steriliser of this clinic already has this name.",
                field="name",
            )
        for k in changed:
            setattr(current, k, data[k])
        current.full_clean()
        current.save(update_fields=changed)
        record(
            "sterility.steriliser_update",
            actor=actor,
            clinic=current.clinic,
            obj=current,
            details={"fields": changed},
        )
    return changed


# --- Bowie-Dick ------------------------------------------------------------------


def do_record_bowie_dick(
    actor: User,
    steriliser: Steriliser,
    *,
    result: str,
    performed_at: datetime,
    test_pack_lot: str = "",
    notes: str = "",
) -> BowieDickTest:
    if result not in IndicatorResult.values:
        raise SterilityInvalid("invalid", "Choose pass or fail.", field="result")
    _not_future(performed_at, "performed_at")
    clinic = steriliser.clinic
    with transaction.atomic():
        test = BowieDickTest(
            organisation_id=steriliser.organisation_id,
            clinic_id=steriliser.clinic_id,
            steriliser=steriliser,
            performed_at=performed_at,
            day=clinic.local_day(performed_at),
            result=result,
            operator=actor,
            test_pack_lot=test_pack_lot,
            notes=notes,
        )
        test.full_clean()
        test.save(force_insert=True)
        record(
            "sterility.bowie_dick",
            actor=actor,
            clinic=clinic,
            obj=test,
            details={"steriliser": str(steriliser.pk), "day": str(test.day), "result": result},
        )
    return test


def bowie_dick_blocker(cycle: Cycle) -> tuple[str, str] | None:
    """Why the day's Bowie-Dick tests block this cycle, or None. One query.

    The last test before the cycle started must have passed, and no test later
    that day may have failed (a failure means the air removal of that day's loads
    is in doubt). A passing retest after a failure clears only later cycles.
    """
    tests = list(
        BowieDickTest.objects.filter(steriliser_id=cycle.steriliser_id, day=cycle.day)
        .order_by("performed_at")
        .values_list("performed_at", "result")
    )
    before = [result for at, result in tests if at <= cycle.started_at]
    failed_later = any(
        result == IndicatorResult.FAIL for at, result in tests if at > cycle.started_at
    )
    if (before and before[-1] == IndicatorResult.FAIL) or failed_later:
        return (
            errors.BOWIE_DICK_FAILED,
            f"The Bowie-Dick test of {cycle.day} failed on this steriliser: its loads of that "
            "day cannot be released.",
        )
    if not before:
        return (
            errors.BOWIE_DICK_MISSING,
            f"No passing Bowie-Dick test on {cycle.day} before this cycle started: a pre-vacuum "
            "steriliser needs one daily before the first load.",
        )
    return None


# --- cycles ----------------------------------------------------------------------


def set_status(actor: User, cycle: Cycle, new_status: str, *, reason: str = "") -> Cycle:
    """The one way a cycle changes status: checks ``TRANSITIONS``, saves, audits."""
    old = cycle.status
    if new_status == old:
        return cycle
    if new_status not in TRANSITIONS[old]:
        raise SterilityRefusal(
            errors.BAD_TRANSITION,
            f"A {old} cycle cannot become {new_status}.",
            field="status",
        )
    with transaction.atomic():
        cycle.status = new_status
        cycle.status_reason = reason
        fields = ["status", "status_reason"]
        if new_status == CycleStatus.RELEASED:
            cycle.released_by = actor
            cycle.released_at = timezone.now()
            fields += ["released_by", "released_at"]
        cycle.save(update_fields=fields)
        record(
            "sterility.cycle_status",
            actor=actor,
            clinic=cycle.clinic,
            obj=cycle,
            details={"from": old, "to": new_status, "reason": reason, "number": cycle.number},
        )
    return cycle


def _initial_status(cycle: Cycle) -> tuple[str, str]:
    if not cycle.physical_met:
        return CycleStatus.FAILED, "physical parameters not met: " + cycle.physical_notes
    if cycle.ci_result == IndicatorResult.FAIL:
        return CycleStatus.FAILED, "chemical indicator failed"
    if cycle.bi_result == BiResult.FAIL:
        return CycleStatus.FAILED, "biological indicator positive"
    if cycle.bi_required and cycle.bi_result != BiResult.PASS:
        return CycleStatus.QUARANTINED, "BI release required: waiting for a negative BI"
    return CycleStatus.RECORDED, ""


def do_record_cycle(actor: User, steriliser: Steriliser, data: dict[str, Any]) -> Cycle:
    """Record one load from the steriliser's printout; its status follows from the data."""
    if not steriliser.active:
        raise SterilityInvalid(
            errors.STERILISER_INACTIVE, "This steriliser is out of service.", field="steriliser"
        )
    program = programs.BY_CODE.get(data.get("program", ""))
    if program is None:
        raise SterilityInvalid("invalid", "Choose a program.", field="program")
    if program.pre_vacuum_only and not steriliser.pre_vacuum:
        raise SterilityInvalid(
            errors.PROGRAM_NEEDS_PRE_VACUUM,
            f"{program.label} needs a pre-vacuum steriliser.",
            field="program",
        )
    _not_future(data["started_at"], "started_at")
    clinic = steriliser.clinic
    with transaction.atomic():
        Steriliser.objects.select_for_update().filter(pk=steriliser.pk).first()
        if Cycle.objects.filter(steriliser=steriliser, number=data["number"]).exists():
            raise SterilityInvalid(
                errors.CYCLE_NUMBER_TAKEN,
                f"Cycle {data['number']} is already recorded on {steriliser.name}.",
                field="number",
            )
        cycle = Cycle(
            organisation_id=steriliser.organisation_id,
            clinic_id=steriliser.clinic_id,
            steriliser=steriliser,
            operator=actor,
            **{k: data[k] for k in CYCLE_FIELDS if k in data},
        )
        cycle.day = clinic.local_day(cycle.started_at)
        shortfalls = program.shortfalls(cycle.temperature_c, cycle.hold_min, cycle.pressure_bar)
        cycle.physical_met = not shortfalls
        cycle.physical_notes = "; ".join(shortfalls)
        cycle.bi_required = steriliser.bi_release_required or cycle.contains_implants
        if cycle.bi_result:
            cycle.bi_recorded_at = timezone.now()
            cycle.bi_recorded_by = actor
        cycle.full_clean()
        cycle.save(force_insert=True)
        record(
            "sterility.cycle_record",
            actor=actor,
            clinic=clinic,
            obj=cycle,
            details={
                "steriliser": str(steriliser.pk),
                "number": cycle.number,
                "program": cycle.program,
                "physical_met": cycle.physical_met,
                "ci_result": cycle.ci_result,
                "bi_result": cycle.bi_result,
                "bi_required": cycle.bi_required,
            },
        )
        status, reason = _initial_status(cycle)
        set_status(actor, cycle, status, reason=reason)
        if cycle.bi_result == BiResult.FAIL:
            _mark_suspect_since_last_pass(actor, cycle)
    return cycle


def release_blockers(cycle: Cycle) -> list[tuple[str, str]]:
    """Every reason the cycle cannot be released now, as (code, message), most basic first.

    Runs one query (the day's Bowie-Dick tests) for pre-vacuum sterilisers.
    """
    if cycle.status == CycleStatus.RELEASED:
        return [(errors.ALREADY_RELEASED, "This load is already released.")]
    blockers: list[tuple[str, str]] = []
    if not cycle.physical_met:
        blockers.append(
            (
                errors.PHYSICAL_NOT_MET,
                "Physical parameters not met for the program: " + cycle.physical_notes,
            )
        )
    if not cycle.ci_result:
        blockers.append((errors.CI_MISSING, "No chemical indicator result is recorded."))
    elif cycle.ci_result == IndicatorResult.FAIL:
        blockers.append((errors.CI_FAILED, "The chemical indicator failed."))
    if cycle.bi_result == BiResult.FAIL:
        blockers.append((errors.BI_FAILED, "The biological indicator is positive (failed)."))
    elif cycle.bi_required and cycle.bi_result != BiResult.PASS:
        blockers.append(
            (
                errors.BI_PENDING,
                "BI release is required for this load (implants or steriliser setting): it stays "
                "in quarantine until the biological indicator is negative.",
            )
        )
    if cycle.steriliser.pre_vacuum:
        bowie_dick = bowie_dick_blocker(cycle)
        if bowie_dick is not None:
            blockers.append(bowie_dick)
    if cycle.status == CycleStatus.FAILED and not blockers:
        blockers.append(
            (errors.CYCLE_FAILED, "This load was marked failed: " + cycle.status_reason)
        )
    return blockers


PERMANENT = {errors.PHYSICAL_NOT_MET, errors.CI_FAILED, errors.BI_FAILED}


def do_release_cycle(actor: User, cycle: Cycle) -> Cycle:
    """Release a load for use, or raise ``SterilityRefusal`` with the first blocking rule.

    A permanent failure (parameters, CI, BI) marks the cycle failed; a pending BI
    on a BI-release load keeps it quarantined. Those status changes are kept even
    though the release is refused.
    """
    refusal: SterilityRefusal | None = None
    with transaction.atomic():
        cycle = (
            Cycle.objects.select_for_update(of=("self",))
            .select_related("steriliser", "clinic")
            .get(pk=cycle.pk)
        )
        blockers = release_blockers(cycle)
        if not blockers:
            set_status(actor, cycle, CycleStatus.RELEASED)
            return cycle
        code, message = blockers[0]
        if code in PERMANENT and cycle.status != CycleStatus.FAILED:
            set_status(actor, cycle, CycleStatus.FAILED, reason=message)
        elif code == errors.BI_PENDING and cycle.status == CycleStatus.RECORDED:
            set_status(actor, cycle, CycleStatus.QUARANTINED, reason=message)
        record(
            "sterility.release_refused",
            actor=actor,
            clinic=cycle.clinic,
            obj=cycle,
            details={"codes": [c for c, _ in blockers]},
        )
        refusal = SterilityRefusal(code, message)
    assert refusal is not None
    raise refusal


def do_fail_cycle(actor: User, cycle: Cycle, reason: str) -> Cycle:
    """Reject a load (e.g. wet packs, torn wrap, printout missing)."""
    if not reason.strip():
        raise SterilityInvalid("invalid", "Say why the load is rejected.", field="reason")
    with transaction.atomic():
        cycle = (
            Cycle.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=cycle.pk)
        )
        return set_status(actor, cycle, CycleStatus.FAILED, reason=reason.strip())


@dataclass(frozen=True)
class BiOutcome:
    cycle: Cycle
    suspect_packs: list[Pack]
    affected_patients: list[Patient]


def do_record_bi_result(actor: User, cycle: Cycle, result: str, lot: str = "") -> BiOutcome:
    """Record the biological indicator read-out of a load.

    A positive (failed) BI fails the cycle and marks every pack of the steriliser
    since its last passing BI as suspect; the patients those packs were used on
    are returned for follow-up.
    """
    if result not in (BiResult.PENDING, BiResult.PASS, BiResult.FAIL):
        raise SterilityInvalid("invalid", "Choose pending, pass or fail.", field="result")
    with transaction.atomic():
        cycle = (
            Cycle.objects.select_for_update(of=("self",))
            .select_related("steriliser", "clinic")
            .get(pk=cycle.pk)
        )
        lot = lot.strip() or cycle.bi_lot
        if not lot:
            raise SterilityInvalid("invalid", "Enter the BI lot number.", field="lot")
        if cycle.bi_result in (BiResult.PASS, BiResult.FAIL):
            raise SterilityRefusal(
                "sterility.bi_already_read",
                f"The BI of this load was already read as {cycle.bi_result}.",
                field="result",
            )
        cycle.bi_result = result
        cycle.bi_lot = lot
        cycle.bi_recorded_at = timezone.now()
        cycle.bi_recorded_by = actor
        cycle.save(update_fields=["bi_result", "bi_lot", "bi_recorded_at", "bi_recorded_by"])
        record(
            "sterility.bi_result",
            actor=actor,
            clinic=cycle.clinic,
            obj=cycle,
            details={"result": result, "lot": lot, "number": cycle.number},
        )
        if result != BiResult.FAIL:
            return BiOutcome(cycle, [], [])
        if cycle.status != CycleStatus.FAILED:
            set_status(actor, cycle, CycleStatus.FAILED, reason="biological indicator positive")
        packs, patients = _mark_suspect_since_last_pass(actor, cycle)
    return BiOutcome(cycle, packs, patients)


def _mark_suspect_since_last_pass(actor: User, cycle: Cycle) -> tuple[list[Pack], list[Patient]]:
    last_pass = (
        Cycle.objects.filter(
            steriliser_id=cycle.steriliser_id,
            bi_result=BiResult.PASS,
            started_at__lt=cycle.started_at,
        )
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    window = Pack.objects.filter(cycle__steriliser_id=cycle.steriliser_id)
    if last_pass is not None:
        window = window.filter(cycle__started_at__gt=last_pass)
    packs = list(window.select_for_update(of=("self",)).order_by("code"))
    newly = [p for p in packs if p.status != PackStatus.SUSPECT]
    for pack in newly:
        pack.status = PackStatus.SUSPECT
        pack.suspect_cycle = cycle
        pack.save(update_fields=["status", "suspect_cycle"])
        record(
            "sterility.pack_suspect",
            actor=actor,
            clinic=cycle.clinic,
            obj=pack,
            details={"code": pack.code, "cycle": str(cycle.pk), "used": pack.used_at is not None},
        )
    patients = list(
        Patient.objects.filter(
            pk__in=PackUse.objects.filter(pack__in=[p.pk for p in packs]).values("patient_id")
        ).order_by("family_name", "given_name")
    )
    record(
        "sterility.bi_failed_trace",
        actor=actor,
        clinic=cycle.clinic,
        obj=cycle,
        details={
            "since": last_pass.isoformat() if last_pass else None,
            "packs": [p.code for p in packs],
            "patients": [str(p.pk) for p in patients],
        },
    )
    return packs, patients


# --- packs -----------------------------------------------------------------------


def do_create_packs(
    actor: User,
    cycle: Cycle,
    *,
    set_name: str,
    contents: str = "",
    count: int = 1,
    packed_at: datetime | None = None,
) -> list[Pack]:
    """Label ``count`` packs of one instrument set for a load, numbered P-000001 per clinic."""
    if not set_name.strip():
        raise SterilityInvalid("invalid", "Name the instrument set.", field="set_name")
    if not 1 <= count <= 100:
        raise SterilityInvalid("invalid", "Between 1 and 100 packs at a time.", field="count")
    clinic = cycle.clinic
    packed_at = packed_at or timezone.now()
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if cycle.status == CycleStatus.FAILED:
            raise SterilityRefusal(
                errors.CYCLE_FAILED, "This load failed: reprocess its packs in a new cycle."
            )
        policy = SterilityPolicy.objects.select_for_update().get(pk=policy_for(clinic).pk)
        expires_on = (
            clinic.local_day(cycle.started_at) + timedelta(days=policy.pack_shelf_life_days)
            if policy.pack_shelf_life_days
            else None
        )
        packs = []
        for _ in range(count):
            pack = Pack(
                organisation_id=cycle.organisation_id,
                clinic_id=cycle.clinic_id,
                cycle=cycle,
                code=f"P-{policy.next_pack_number:06d}",
                set_name=set_name.strip(),
                contents=contents.strip(),
                packed_by=actor,
                packed_at=packed_at,
                expires_on=expires_on,
            )
            policy.next_pack_number += 1
            pack.save(force_insert=True)
            packs.append(pack)
        policy.save(update_fields=["next_pack_number"])
        record(
            "sterility.packs_create",
            actor=actor,
            clinic=clinic,
            obj=cycle,
            details={"set": set_name, "codes": [p.code for p in packs]},
        )
    return packs


def _patient_of(clinic: Clinic, patient: Patient) -> None:
    if patient.clinic_id != clinic.pk:
        raise SterilityNotFound(errors.PATIENT_NOT_FOUND, "No such patient.", field="patient")


def usable_packs(clinic: Clinic, on: date, limit: int = 50) -> list[Pack]:
    """Packs a procedure may open on ``on``: available, from a released load, unexpired,
    soonest expiry first (one query)."""
    return list(
        Pack.objects.filter(
            clinic=clinic, status=PackStatus.AVAILABLE, cycle__status=CycleStatus.RELEASED
        )
        .exclude(expires_on__lt=on)
        .order_by("expires_on", "code")[:limit]
    )


def do_use_pack(
    actor: User,
    clinic: Clinic,
    pack: Pack,
    patient: Patient,
    used_at: datetime,
    session_ref: uuid.UUID | None = None,
) -> PackUse:
    """Open a pack for a patient: only a released, unexpired, unused pack of this clinic."""
    if pack.clinic_id != clinic.pk:
        raise SterilityNotFound(errors.PACK_NOT_FOUND, "No such pack.", field="pack")
    _patient_of(clinic, patient)
    _not_future(used_at, "used_at")
    with transaction.atomic():
        pack = Pack.objects.select_for_update(of=("self",)).select_related("cycle").get(pk=pack.pk)
        if pack.status == PackStatus.SUSPECT:
            raise SterilityRefusal(
                errors.PACK_SUSPECT,
                f"Pack {pack.code} is suspect (failed BI on its steriliser): reprocess it.",
                field="pack",
            )
        if pack.used_at is not None or pack.status == PackStatus.USED:
            raise SterilityRefusal(
                errors.PACK_USED, f"Pack {pack.code} was already used.", field="pack"
            )
        if pack.cycle.status != CycleStatus.RELEASED:
            raise SterilityRefusal(
                errors.PACK_NOT_RELEASED,
                f"Pack {pack.code} comes from a load that is {pack.cycle.status}, not released.",
                field="pack",
            )
        if used_at < pack.cycle.started_at:
            raise SterilityInvalid(
                "sterility.used_before_sterilised",
                f"Pack {pack.code} was sterilised at {pack.cycle.started_at:%Y-%m-%d %H:%M}: "
                "it cannot have been used before.",
                field="used_at",
            )
        if pack.is_expired(clinic.local_day(used_at)):
            raise SterilityRefusal(
                errors.PACK_EXPIRED,
                f"Pack {pack.code} expired on {pack.expires_on}: reprocess it.",
                field="pack",
            )
        try:
            with transaction.atomic():
                use = PackUse.objects.create(
                    organisation_id=clinic.organisation_id,
                    clinic=clinic,
                    pack=pack,
                    patient=patient,
                    used_at=used_at,
                    used_by=actor,
                    session_ref=session_ref,
                )
        except IntegrityError as exc:
            raise SterilityRefusal(
                errors.PACK_USED, f"Pack {pack.code} was already used.", field="pack"
            ) from exc
        pack.status = PackStatus.USED
        pack.used_at = used_at
        pack.save(update_fields=["status", "used_at"])
        record(
            "sterility.pack_use",
            actor=actor,
            clinic=clinic,
            obj=pack,
            details={"code": pack.code, "patient": str(patient.pk), "session": str(session_ref)},
        )
    return use


# --- single-use sterile items ----------------------------------------------------


def do_create_item_lot(actor: User, clinic: Clinic, data: dict[str, Any]) -> SterileItemLot:
    with transaction.atomic():
        item_lot = SterileItemLot(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            created_by=actor,
            **{k: data[k] for k in ITEM_LOT_FIELDS if k in data},
        )
        if SterileItemLot.objects.filter(
            clinic=clinic, product=item_lot.product, lot=item_lot.lot
        ).exists():
            raise SterilityInvalid(
                "sterility.item_lot_exists",
                "This lot of this product is already registered.",
                field="lot",
            )
        item_lot.full_clean()
        item_lot.save(force_insert=True)
        record(
            "sterility.item_lot_create",
            actor=actor,
            clinic=clinic,
            obj=item_lot,
            details={"product": item_lot.product, "lot": item_lot.lot},
        )
    return item_lot


def do_use_single_use_item(
    actor: User,
    clinic: Clinic,
    item_lot: SterileItemLot,
    item_serial: str | None,
    patient: Patient,
    used_at: datetime,
    session_ref: uuid.UUID | None = None,
) -> SingleUseItemUse:
    """Use one sterile single-use item; ``item_serial`` None takes the lot's next sequence."""
    if item_lot.clinic_id != clinic.pk:
        raise SterilityNotFound(errors.ITEM_NOT_FOUND, "No such lot.", field="item_lot")
    _patient_of(clinic, patient)
    _not_future(used_at, "used_at")
    with transaction.atomic():
        item_lot = SterileItemLot.objects.select_for_update().get(pk=item_lot.pk)
        if item_lot.is_expired(clinic.local_day(used_at)):
            raise SterilityRefusal(
                errors.ITEM_EXPIRED,
                f"{item_lot} expired on {item_lot.expiry}.",
                field="item_lot",
            )
        if item_lot.uses.count() >= item_lot.quantity:
            raise SterilityRefusal(
                errors.ITEM_LOT_EXHAUSTED,
                f"All {item_lot.quantity} items of {item_lot} are recorded as used.",
                field="item_lot",
            )
        serial = (item_serial or "").strip()
        if not serial:
            serial = f"#{item_lot.next_sequence}"
            item_lot.next_sequence += 1
            item_lot.save(update_fields=["next_sequence"])
        try:
            with transaction.atomic():
                use = SingleUseItemUse.objects.create(
                    organisation_id=clinic.organisation_id,
                    clinic=clinic,
                    item_lot=item_lot,
                    item_serial=serial,
                    patient=patient,
                    used_at=used_at,
                    used_by=actor,
                    session_ref=session_ref,
                )
        except IntegrityError as exc:
            raise SterilityRefusal(
                errors.SINGLE_USE_REUSED,
                f"Item {serial} of {item_lot} was already used: sterile single use only.",
                field="item_serial",
            ) from exc
        record(
            "sterility.item_use",
            actor=actor,
            clinic=clinic,
            obj=item_lot,
            details={"serial": serial, "patient": str(patient.pk)},
        )
    return use
