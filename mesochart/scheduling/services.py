"""The appointment book's writes. Every ``do_*`` runs in ``transaction.atomic``, writes its
audit event and, for an appointment, sends ``signals.appointment_changed`` once the
transaction commits.

No double booking: a practitioner, room or device is in one holding appointment at a
time. The check below gives the refusal its message and field; the database guarantees
it under concurrency (PostgreSQL: exclusion constraints, migration 0002; SQLite: the check
and the insert run in one IMMEDIATE write transaction, which SQLite serialises).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, Membership, Role, User
from mesochart.audit.services import record
from mesochart.care.models import SessionStatus, TreatmentSession
from mesochart.care.services.lifecycle import do_create_session
from mesochart.errors import Conflict, InvalidInput
from mesochart.library.services import library_for
from mesochart.patients.models import Patient

from .models import (
    APPOINTMENT_TRANSITIONS,
    HOLDING,
    KIND_MODALITIES,
    Absence,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    BookingPolicy,
    CancelledBy,
    Device,
    Room,
    WorkingHours,
)
from .rules import RuleFinding, check_treatment, policy_for
from .signals import appointment_changed

# Roles that can hold an appointment (they see patients).
CLINICAL_ROLES = (Role.PRESCRIBER, Role.PRACTITIONER, Role.ASSISTANT)


class DoubleBooked(Conflict):
    code = "scheduling.double_booked"


class BookingRefused(Conflict):
    code = "scheduling.refused"


class WarningsNotAcknowledged(Conflict):
    """A warn-level rule: booking goes ahead once the person booking acknowledges it."""

    code = "scheduling.warnings"

    def __init__(self, findings: list[RuleFinding]) -> None:
        super().__init__(" ".join(f.message for f in findings), field="acknowledge")
        self.findings = findings


# --- questions ----------------------------------------------------------------------


def bookable_practitioners(clinic: Clinic) -> QuerySet[User]:
    return User.objects.filter(
        memberships__clinic=clinic,
        memberships__is_active=True,
        memberships__role__in=CLINICAL_ROLES,
        is_active=True,
    ).order_by("first_name", "last_name", "username")


def protocol_modalities(clinic: Clinic, protocol: str) -> frozenset[str]:
    """The energy modalities a protocol's techniques deliver (the protocol library)."""
    if not protocol:
        return frozenset()
    return library_for(clinic).protocol_modalities.get(protocol, frozenset())


def devices_for(clinic: Clinic, appt_type: AppointmentType) -> list[Device]:
    """The clinic's devices that can serve ``appt_type`` (one query)."""
    wanted = protocol_modalities(clinic, appt_type.protocol)
    devices = Device.objects.filter(clinic=clinic, active=True)
    if not wanted:
        return list(devices)
    return [d for d in devices if wanted & set(d.modalities)]


def overlapping(clinic: Clinic, starts_at: datetime, ends_at: datetime) -> QuerySet[Appointment]:
    """Holding appointments overlapping ``[starts_at, ends_at)``. The practitioner test
    ignores the clinic (one person is in one place at a time)."""
    return Appointment.objects.filter(
        status__in=HOLDING, starts_at__lt=ends_at, ends_at__gt=starts_at
    )


def _aware(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise InvalidInput(_("A time zone is needed."), field=field)
    return value


def _check_practitioner(clinic: Clinic, user: User, appt_type: AppointmentType) -> None:
    membership = Membership.objects.filter(user=user, clinic=clinic, is_active=True).first()
    if membership is None or membership.role not in CLINICAL_ROLES or not user.is_active:
        raise InvalidInput(_("This person does not see patients here."), field="practitioner")
    if appt_type.prescriber_only and membership.role != Role.PRESCRIBER:
        raise InvalidInput(
            _("%(type)s is held by a prescriber.") % {"type": appt_type.name},
            field="practitioner",
        )


def _check_hours(clinic: Clinic, user: User, starts_at: datetime, ends_at: datetime) -> None:
    local_start = timezone.localtime(starts_at, clinic_zone(clinic))
    local_end = timezone.localtime(ends_at, clinic_zone(clinic))
    fits = local_start.date() == local_end.date() or local_end.time() == time(0, 0)
    blocks = WorkingHours.objects.filter(
        clinic=clinic, practitioner=user, weekday=local_start.weekday()
    )
    end_t = local_end.time() if local_end.date() == local_start.date() else time(23, 59, 59)
    if not fits or not any(b.start <= local_start.time() and end_t <= b.end for b in blocks):
        raise BookingRefused(
            _("%(name)s does not work at that time.") % {"name": user.display_name},
            field="starts_at",
        )
    if Absence.objects.filter(
        practitioner=user, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exists():
        raise BookingRefused(
            _("%(name)s is away at that time.") % {"name": user.display_name},
            field="starts_at",
        )


def clinic_zone(clinic: Clinic) -> Any:
    import zoneinfo

    return zoneinfo.ZoneInfo(clinic.timezone)


def _free_resource(
    clinic: Clinic,
    model: type[Room] | type[Device],
    field: str,
    chosen: Any,
    candidates: list[Any],
    busy: set[uuid.UUID],
    label: str,
) -> Any:
    if chosen is not None:
        if chosen.clinic_id != clinic.pk or not chosen.active:
            raise InvalidInput(_("No such %(what)s.") % {"what": label}, field=field)
        if chosen.pk not in {c.pk for c in candidates}:
            raise InvalidInput(
                _("%(name)s cannot be used for this appointment.") % {"name": chosen.name},
                field=field,
            )
        if chosen.pk in busy:
            raise DoubleBooked(
                _("%(name)s is already booked at that time.") % {"name": chosen.name},
                field=field,
            )
        return chosen
    for candidate in candidates:
        if candidate.pk not in busy:
            return candidate
    if not candidates:
        raise BookingRefused(
            _("The clinic has no %(what)s for this appointment.") % {"what": label},
            field=field,
        )
    raise DoubleBooked(_("No %(what)s is free at that time.") % {"what": label}, field=field)


def _place(
    clinic: Clinic,
    appt_type: AppointmentType,
    practitioner: User,
    starts_at: datetime,
    ends_at: datetime,
    room: Room | None,
    device: Device | None,
    exclude: uuid.UUID | None,
    patient: Patient | None = None,
) -> tuple[Room | None, Device | None]:
    """Check the practitioner's hours and that the practitioner, the room and the device
    are free; pick a free room and device when none is chosen. Raises the refusal."""
    _check_practitioner(clinic, practitioner, appt_type)
    _check_hours(clinic, practitioner, starts_at, ends_at)
    others = overlapping(clinic, starts_at, ends_at)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    rows = list(
        others.filter(Q(practitioner=practitioner) | Q(clinic=clinic)).values_list(
            "practitioner_id", "room_id", "device_id", "patient_id"
        )
    )
    if any(p == practitioner.pk for p, _r, _d, _pt in rows):
        raise DoubleBooked(
            _("%(name)s already has an appointment at that time.")
            % {"name": practitioner.display_name},
            field="practitioner",
        )
    if patient is not None and any(pt == patient.pk for _p, _r, _d, pt in rows):
        raise DoubleBooked(
            _("The patient already has an appointment at that time."), field="patient"
        )
    if appt_type.needs_room:
        rooms = list(Room.objects.filter(clinic=clinic, active=True))
        room = _free_resource(
            clinic, Room, "room", room, rooms, {r for _p, r, _d, _pt in rows if r}, _("room")
        )
    elif room is not None:
        room = _free_resource(
            clinic, Room, "room", room, [room], {r for _p, r, _d, _pt in rows if r}, _("room")
        )
    if appt_type.needs_device:
        devices = devices_for(clinic, appt_type)
        device = _free_resource(
            clinic,
            Device,
            "device",
            device,
            devices,
            {d for _p, _r, d, _pt in rows if d},
            _("device"),
        )
    elif device is not None:
        device = _free_resource(
            clinic,
            Device,
            "device",
            device,
            [device],
            {d for _p, _r, d, _pt in rows if d},
            _("device"),
        )
    return room, device


def _rules(
    clinic: Clinic,
    patient: Patient,
    appt_type: AppointmentType,
    starts_at: datetime,
    acknowledge: bool,
    exclude: uuid.UUID | None = None,
) -> list[RuleFinding]:
    findings = check_treatment(clinic, patient, appt_type, starts_at, exclude=exclude)
    blocks = [f for f in findings if f.severity == "block"]
    if blocks:
        raise BookingRefused(" ".join(f.message for f in blocks), field=blocks[0].field)
    if findings and not acknowledge:
        raise WarningsNotAcknowledged(findings)
    return findings


def _changed(appointment: Appointment, change: str, actor: User | None) -> None:
    transaction.on_commit(
        lambda: appointment_changed.send(
            sender=Appointment, appointment=appointment, change=change, actor=actor
        )
    )


def _save_guarded(appointment: Appointment, update_fields: list[str] | None = None) -> None:
    """Save inside a savepoint: the exclusion constraint's refusal (another transaction
    took the slot after our check) becomes the same double-booking refusal."""
    try:
        with transaction.atomic():
            if update_fields is None:
                appointment.save(force_insert=True)
            else:
                appointment.save(update_fields=update_fields)
    except IntegrityError as exc:
        if "appt_no_overlap" not in str(exc):
            raise
        field = (
            "room" if "room" in str(exc) else "device" if "device" in str(exc) else "practitioner"
        )
        raise DoubleBooked(
            _("That time was just booked by someone else: choose another slot."), field=field
        ) from None


def _details(appointment: Appointment, **extra: Any) -> dict[str, Any]:
    return {
        "patient": str(appointment.patient_id),
        "type": appointment.type.name,
        "protocol": appointment.protocol,
        "practitioner": str(appointment.practitioner_id),
        "room": str(appointment.room_id) if appointment.room_id else None,
        "device": str(appointment.device_id) if appointment.device_id else None,
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        **extra,
    }


# --- booking ------------------------------------------------------------------------


def do_book(
    actor: User | None,
    clinic: Clinic,
    *,
    patient: Patient,
    appt_type: AppointmentType,
    practitioner: User,
    starts_at: datetime,
    room: Room | None = None,
    device: Device | None = None,
    notes: str = "",
    acknowledge_warnings: bool = False,
) -> Appointment:
    """Book ``appt_type`` for ``patient`` with ``practitioner`` from ``starts_at`` (its end
    from the type's duration), with a free room and device when the type needs them."""
    starts_at = _aware(starts_at, "starts_at")
    if patient.clinic_id != clinic.pk:
        raise InvalidInput(_("No such patient."), field="patient")
    if appt_type.clinic_id != clinic.pk or not appt_type.active:
        raise InvalidInput(_("No such appointment type."), field="type")
    ends_at = starts_at + appt_type.duration
    with transaction.atomic():
        room, device = _place(
            clinic, appt_type, practitioner, starts_at, ends_at, room, device, None, patient
        )
        findings = _rules(clinic, patient, appt_type, starts_at, acknowledge_warnings)
        appointment = Appointment(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            type=appt_type,
            protocol=appt_type.protocol,
            practitioner=practitioner,
            room=room,
            device=device,
            starts_at=starts_at,
            ends_at=ends_at,
            notes=(notes or "").strip(),
            warnings=[f.as_dict() for f in findings],
            created_by=actor,
        )
        _save_guarded(appointment)
        record(
            "appointment.book",
            actor=actor,
            clinic=clinic,
            obj=appointment,
            details=_details(appointment, warnings=[f.code for f in findings]),
        )
        _changed(appointment, "booked", actor)
    return appointment


def locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("clinic", "type", "patient", "practitioner", "session")
        .get(pk=appointment.pk)
    )


def do_move(
    actor: User,
    appointment: Appointment,
    *,
    starts_at: datetime,
    practitioner: User | None = None,
    room: Room | None = None,
    device: Device | None = None,
    acknowledge_warnings: bool = False,
) -> Appointment:
    """Move a booked or confirmed appointment (same type); a moved appointment is booked
    again (the patient confirms the new time)."""
    starts_at = _aware(starts_at, "starts_at")
    with transaction.atomic():
        appointment = locked(appointment)
        if not appointment.is_open:
            raise Conflict(
                _("A %(status)s appointment cannot be moved.")
                % {"status": appointment.get_status_display().lower()},
                field="status",
            )
        clinic = appointment.clinic
        practitioner = practitioner or appointment.practitioner
        ends_at = starts_at + appointment.type.duration
        old = _details(appointment)
        room, device = _place(
            clinic,
            appointment.type,
            practitioner,
            starts_at,
            ends_at,
            room,
            device,
            appointment.pk,
            appointment.patient,
        )
        findings = _rules(
            clinic,
            appointment.patient,
            appointment.type,
            starts_at,
            acknowledge_warnings,
            exclude=appointment.pk,
        )
        appointment.starts_at, appointment.ends_at = starts_at, ends_at
        appointment.practitioner, appointment.room, appointment.device = practitioner, room, device
        appointment.status = AppointmentStatus.BOOKED
        appointment.warnings = [f.as_dict() for f in findings]
        _save_guarded(
            appointment,
            [
                "starts_at",
                "ends_at",
                "practitioner",
                "room",
                "device",
                "status",
                "warnings",
                "updated_at",
            ],
        )
        record(
            "appointment.move",
            actor=actor,
            clinic=clinic,
            obj=appointment,
            details=_details(
                appointment,
                old_starts_at=old["starts_at"],
                old_practitioner=old["practitioner"],
            ),
        )
        _changed(appointment, "moved", actor)
    return appointment


def is_late_cancellation(appointment: Appointment, policy: BookingPolicy, now: datetime) -> bool:
    return appointment.starts_at - now < timedelta(hours=policy.cancel_notice_hours)


def check_transition(appointment: Appointment, new: str) -> None:
    if new not in APPOINTMENT_TRANSITIONS[appointment.status]:
        raise Conflict(
            _("A %(old)s appointment cannot become %(new)s.")
            % {
                "old": appointment.get_status_display().lower(),
                "new": AppointmentStatus(new).label.lower(),
            },
            field="status",
        )


def set_status(
    actor: User | None,
    appointment: Appointment,
    new: str,
    *,
    fields: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> Appointment:
    """The one door for a status change of a (locked) appointment: check the transition,
    set ``fields`` with it, save, audit ``appointment.<new>``, signal."""
    check_transition(appointment, new)
    old = appointment.status
    appointment.status = new
    for name, value in (fields or {}).items():
        setattr(appointment, name, value)
    appointment.save(update_fields=["status", "updated_at", *(fields or {})])
    record(
        f"appointment.{new}",
        actor=actor,
        clinic=appointment.clinic,
        obj=appointment,
        details={"patient": str(appointment.patient_id), "old": old, **(details or {})},
    )
    _changed(appointment, "cancelled" if new == AppointmentStatus.CANCELLED else "status", actor)
    return appointment


def do_cancel(
    actor: User | None,
    appointment: Appointment,
    *,
    by: str,
    reason: str,
    now: datetime | None = None,
) -> Appointment:
    """Cancel, by the patient or the clinic, with a reason; closer to the start than the
    policy's notice period it counts as late."""
    reason = (reason or "").strip()
    if by not in CancelledBy.values:
        raise InvalidInput(_("Say who cancels."), field="cancelled_by")
    if not reason:
        raise InvalidInput(_("Say why the appointment is cancelled."), field="reason")
    now = now or timezone.now()
    with transaction.atomic():
        appointment = locked(appointment)
        late = is_late_cancellation(appointment, policy_for(appointment.clinic), now)
        return set_status(
            actor,
            appointment,
            AppointmentStatus.CANCELLED,
            fields={
                "cancelled_at": now,
                "cancelled_by": by,
                "cancelled_late": late,
                "cancel_reason": reason,
            },
            details={"by": by, "late": late, "reason": reason},
        )


def do_confirm(actor: User | None, appointment: Appointment) -> Appointment:
    with transaction.atomic():
        return set_status(actor, locked(appointment), AppointmentStatus.CONFIRMED)


def do_no_show(actor: User, appointment: Appointment) -> Appointment:
    with transaction.atomic():
        appointment = locked(appointment)
        if appointment.starts_at > timezone.now():
            raise Conflict(_("The appointment has not started yet."), field="status")
        return set_status(actor, appointment, AppointmentStatus.NO_SHOW)


def do_arrive(actor: User, appointment: Appointment) -> Appointment:
    """The patient is here. For a treatment, its session opens: the patient's planned
    session of the protocol for that day is linked, or one is created (care's own
    ``do_create_session``)."""
    with transaction.atomic():
        appointment = locked(appointment)
        check_transition(appointment, AppointmentStatus.ARRIVED)
        session = appointment.session
        if appointment.type.kind == AppointmentKind.TREATMENT and session is None:
            day = appointment.clinic.local_day(appointment.starts_at)
            session = (
                TreatmentSession.objects.filter(
                    patient=appointment.patient,
                    protocol=appointment.protocol,
                    status__in=(SessionStatus.PLANNED, SessionStatus.IN_PROGRESS),
                    scheduled_for=day,
                )
                .exclude(pk__in=Appointment.objects.filter(session__isnull=False).values("session"))
                .first()
            )
            if session is None:
                session = do_create_session(
                    actor,
                    appointment.clinic,
                    appointment.patient,
                    protocol=appointment.protocol,
                    scheduled_for=day,
                )
        return set_status(
            actor,
            appointment,
            AppointmentStatus.ARRIVED,
            fields={"session": session},
            details={"session": str(session.pk) if session else None},
        )


def do_start_treatment(actor: User, appointment: Appointment) -> Appointment:
    with transaction.atomic():
        return set_status(actor, locked(appointment), AppointmentStatus.IN_TREATMENT)


def do_complete(actor: User, appointment: Appointment) -> Appointment:
    """Done. A treatment completes once its session is signed, and links to it."""
    with transaction.atomic():
        appointment = locked(appointment)
        if appointment.type.kind == AppointmentKind.TREATMENT and (
            appointment.session is None or appointment.session.status != SessionStatus.SIGNED
        ):
            raise Conflict(
                _("Sign the treatment session before completing the appointment."),
                field="session",
            )
        return set_status(
            actor,
            appointment,
            AppointmentStatus.COMPLETED,
            details={"session": str(appointment.session_id) if appointment.session_id else None},
        )


STATUS_ACTIONS = {
    "confirm": do_confirm,
    "arrive": do_arrive,
    "start": do_start_treatment,
    "complete": do_complete,
    "no_show": do_no_show,
}


# --- resources and policy (managers) --------------------------------------------------


def do_save_resource(actor: User, clinic: Clinic, obj: Any, *, action: str) -> Any:
    """Create or update a working-hours block, absence, room, device or appointment type
    of ``clinic`` (validated by its form), audited as ``scheduling.<action>``."""
    creating = obj._state.adding
    obj.clinic = clinic
    obj.organisation_id = clinic.organisation_id
    if isinstance(obj, Device) and creating and not obj.modalities:
        obj.modalities = list(KIND_MODALITIES.get(obj.kind, []))
    with transaction.atomic():
        obj.save()
        record(
            f"scheduling.{action}",
            actor=actor,
            clinic=clinic,
            obj=obj,
            details={"created": creating, "what": str(obj)},
        )
    return obj


def do_delete_resource(actor: User, clinic: Clinic, obj: WorkingHours | Absence) -> None:
    """Working hours and absences can be removed (rooms, devices and types are retired)."""
    with transaction.atomic():
        record(
            f"scheduling.{obj._meta.model_name}_delete",
            actor=actor,
            clinic=clinic,
            obj=obj,
            details={"what": str(obj)},
        )
        obj.delete()


def do_set_policy(actor: User, clinic: Clinic, values: Mapping[str, Any]) -> BookingPolicy:
    with transaction.atomic():
        policy = BookingPolicy.objects.select_for_update().get(pk=policy_for(clinic).pk)
        changes = {}
        for name in BookingPolicy.TUNABLE:
            if name in values and getattr(policy, name) != values[name]:
                changes[name] = {"old": getattr(policy, name), "new": values[name]}
                setattr(policy, name, values[name])
        policy.full_clean()
        policy.save()
        record("scheduling.policy", actor=actor, clinic=clinic, obj=policy, details=changes)
    return policy


def default_types(clinic: Clinic) -> list[dict[str, Any]]:
    """A consultation, a review, and one treatment per protocol of the library; the
    duration is the clinic's to set (no protocol carries one): 30 minutes to start."""
    library = library_for(clinic)
    rows: list[dict[str, Any]] = [
        {"name": _("Consultation"), "kind": AppointmentKind.CONSULTATION, "protocol": "",
         "duration_minutes": 30, "needs_device": False},
        {"name": _("Prescriber consultation"), "kind": AppointmentKind.CONSULTATION,
         "protocol": "", "duration_minutes": 30, "needs_device": False, "prescriber_only": True},
        {"name": _("Review / follow-up check"), "kind": AppointmentKind.REVIEW, "protocol": "",
         "duration_minutes": 15, "needs_device": False},
    ]  # fmt: skip
    for code, proto in library.protocols.items():
        rows.append(
            {
                "name": proto.name[:120],
                "kind": AppointmentKind.TREATMENT,
                "protocol": code,
                "duration_minutes": 30,
                "needs_device": bool(library.protocol_modalities.get(code)),
            }
        )
    return rows


def ensure_default_types(actor: User, clinic: Clinic) -> list[AppointmentType]:
    made = []
    for row in default_types(clinic):
        if not AppointmentType.objects.filter(clinic=clinic, name=row["name"]).exists():
            made.append(do_save_resource(actor, clinic, AppointmentType(**row), action="type"))
    return made


def day_bounds(clinic: Clinic, day: Any) -> tuple[datetime, datetime]:
    zone = clinic_zone(clinic)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
