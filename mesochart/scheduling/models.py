"""The appointment book: resources (working hours, absences, rooms, devices), appointment
types, appointments and the clinic's booking policy. Writes go through ``services``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mesochart.accounts.models import Clinic, Organisation
from mesochart.patients.models import Patient


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingHours(models.Model):
    """One block of a practitioner's week at a clinic (local time of the clinic)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="hours_end_after")
        ]
        indexes = [models.Index(fields=["clinic", "practitioner"], name="hours_clinic_idx")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Absence(models.Model):
    """A practitioner away (leave, training): no appointment in ``[starts_at, ends_at)``."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="absence_end_after"
            )
        ]


class Room(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="room_unique_name")]

    def __str__(self) -> str:
        return self.name


class DeviceKind(models.TextChoices):
    LASER = "laser", _("Fractional laser")
    RF = "rf", _("RF microneedling")
    NEEDLE_FREE = "needle_free", _("Needle-free (iontophoresis / sonophoresis)")
    OTHER = "other", _("Other")


# Which engine energy modalities (protocols vocabulary ``energy_modalities``) a device of
# each kind delivers by default; a clinic edits the list on each device.
KIND_MODALITIES: dict[str, list[str]] = {
    DeviceKind.LASER: ["fractional-laser-ablative", "fractional-laser-non-ablative"],
    DeviceKind.RF: ["rf-microneedling"],
    DeviceKind.NEEDLE_FREE: ["iontophoresis", "sonophoresis"],
    DeviceKind.OTHER: [],
}


class Device(models.Model):
    """A machine a protocol needs: a treatment of a protocol whose techniques deliver an
    energy modality (the protocol library's ``protocol_modalities``) books a device that
    lists one of them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=DeviceKind.choices)
    modalities = models.JSONField(_("modalities"), default=list, blank=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="device_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class AppointmentKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    TREATMENT = "treatment", _("Treatment")
    REVIEW = "review", _("Review / follow-up check")


class AppointmentType(models.Model):
    """What can be booked. A treatment type names its protocol; its duration and whether it
    needs a room and a device start from the protocol and the clinic tunes them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=AppointmentKind.choices)
    protocol = models.CharField(_("protocol"), max_length=60, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    needs_room = models.BooleanField(_("needs a room"), default=True)
    needs_device = models.BooleanField(_("needs a device"), default=False)
    prescriber_only = models.BooleanField(
        _("with a prescriber only"),
        default=False,
        help_text=_(
            "Only a prescriber can hold it (e.g. the consultation before a "
            "prescription-only treatment)."
        ),
    )
    active = models.BooleanField(_("bookable"), default=True)
    online = models.BooleanField(
        _("bookable online"),
        default=False,
        help_text=_("Patients can book it themselves on the clinic's public booking page."),
    )

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="appttype_unique_name"),
            models.CheckConstraint(
                condition=~Q(kind="treatment") | ~Q(protocol=""), name="appttype_treatment_protocol"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CONFIRMED = "confirmed", _("Confirmed")
    ARRIVED = "arrived", _("Arrived")
    IN_TREATMENT = "in_treatment", _("In treatment")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# Allowed transitions (data; ``services.set_status`` checks them).
S = AppointmentStatus
APPOINTMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.BOOKED: frozenset({S.CONFIRMED, S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    S.CONFIRMED: frozenset({S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    S.ARRIVED: frozenset({S.IN_TREATMENT, S.COMPLETED, S.CANCELLED}),
    S.IN_TREATMENT: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}
# Statuses that hold their practitioner, room and device (the no-overlap guarantee).
HOLDING = (S.BOOKED, S.CONFIRMED, S.ARRIVED, S.IN_TREATMENT, S.COMPLETED)
RELEASED = (S.CANCELLED, S.NO_SHOW)


class CancelledBy(models.TextChoices):
    PATIENT = "patient", _("The patient")
    CLINIC = "clinic", _("The clinic")


class Appointment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    protocol = models.CharField(max_length=60, blank=True)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=14, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    notes = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)  # rule warnings accepted at booking
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=10, choices=CancelledBy.choices, blank=True)
    cancelled_late = models.BooleanField(default=False)
    cancel_reason = models.TextField(blank=True)
    session = models.ForeignKey(
        "care.TreatmentSession", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # None: booked by the patient on the public booking page.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_end_after"
            )
        ]
        indexes = [
            models.Index(fields=["clinic", "starts_at"], name="appt_clinic_start_idx"),
            models.Index(fields=["practitioner", "starts_at"], name="appt_practitioner_idx"),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status not in RELEASED

    @property
    def is_open(self) -> bool:
        """Still ahead or under way: it can be moved or cancelled."""
        return self.status in (S.BOOKED, S.CONFIRMED)


class BookingPolicy(models.Model):
    """The clinic's booking rules; every value has a safe default and a manager tunes it."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    consultation_required = models.BooleanField(
        _("prescription-only treatment needs a prescriber consultation first"), default=True
    )
    consultation_valid_months = models.PositiveSmallIntegerField(
        _("a consultation is valid for (months)"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    warnings_refuse = models.BooleanField(
        _("refuse warn-level intervals too"),
        default=False,
        help_text=_(
            "Off: a booking sooner than a warn-level minimum interval is allowed "
            "once the warning is acknowledged. Block-level intervals are always refused."
        ),
    )
    enforce_max_sessions = models.BooleanField(
        _("refuse a treatment past the course's maximum sessions"), default=True
    )
    cancel_notice_hours = models.PositiveSmallIntegerField(
        _("cancellation notice (hours)"),
        default=48,
        validators=[MaxValueValidator(720)],
        help_text=_("A cancellation closer to the appointment than this counts as late."),
    )
    no_show_flag_count = models.PositiveSmallIntegerField(
        _("flag a patient after this many no-shows"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    no_show_window_months = models.PositiveSmallIntegerField(
        _("count no-shows over (months)"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    slot_step_minutes = models.PositiveSmallIntegerField(
        _("slot step (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
    )

    TUNABLE = (
        "consultation_required",
        "consultation_valid_months",
        "warnings_refuse",
        "enforce_max_sessions",
        "cancel_notice_hours",
        "no_show_flag_count",
        "no_show_window_months",
        "slot_step_minutes",
    )


class OnlineBookingStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for reception")
    BOOKED = "booked", _("Booked")
    REJECTED = "rejected", _("Rejected")


class OnlineBooking(models.Model):
    """A booking made on the public page. Matched to a patient of the clinic it is an
    appointment at once (``appointment``); otherwise it waits (``pending``) for reception
    to create or link the patient and book it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField()
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    email = models.EmailField()
    phone = models.CharField(max_length=40)
    status = models.CharField(
        max_length=10, choices=OnlineBookingStatus.choices, default=OnlineBookingStatus.PENDING
    )
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["clinic", "status"], name="onlinebooking_status_idx")]


class BookingAttempt(models.Model):
    """One submission of the public booking page, counted for the rate limit (per client
    address and per clinic over the last hour); old rows are pruned as new ones come."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["address", "at"], name="bookingattempt_addr_idx"),
            models.Index(fields=["clinic", "at"], name="bookingattempt_clinic_idx"),
        ]
