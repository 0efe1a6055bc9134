"""Forms of the appointment book: they validate what is typed; the services decide."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mesochart.accounts.models import Clinic, User
from mesochart.errors import DomainError
from mesochart.patients import keys
from mesochart.patients.models import Patient

from .models import (
    Absence,
    AppointmentType,
    BookingPolicy,
    CancelledBy,
    Device,
    Room,
    WorkingHours,
)
from .services import bookable_practitioners, clinic_zone

# Service field names -> the form field that shows the refusal.
FIELD_OF = {"starts_at": "time", "cancelled_by": "cancelled_by"}


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's refusal on the field it names (or on the form)."""
    name = FIELD_OF.get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


class PractitionerChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class _SlotFields(forms.Form):
    """What booking and moving share: room and device (optional), limited to the clinic."""

    room = forms.ModelChoiceField(
        label=_("Room"),
        queryset=Room.objects.none(),
        required=False,
        empty_label=_("Any free room"),
    )
    device = forms.ModelChoiceField(
        label=_("Device"),
        queryset=Device.objects.none(),
        required=False,
        empty_label=_("Any suitable device"),
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["practitioner"].queryset = bookable_practitioners(clinic)  # type: ignore[attr-defined]
        self.fields["room"].queryset = Room.objects.filter(clinic=clinic, active=True)  # type: ignore[attr-defined]
        self.fields["device"].queryset = Device.objects.filter(clinic=clinic, active=True)  # type: ignore[attr-defined]

    def starts_at(self) -> datetime:
        day: date = self.cleaned_data["day"]
        return datetime.combine(day, self.cleaned_data["time"], tzinfo=clinic_zone(self.clinic))


class BookForm(_SlotFields):
    patient = forms.CharField(
        label=_("Patient record number"),
        max_length=40,
        help_text=_("The record number on the chart, e.g. MC-000123."),
    )
    type = forms.ModelChoiceField(
        label=_("Appointment type"), queryset=AppointmentType.objects.none()
    )
    practitioner = PractitionerChoice(
        label=_("Practitioner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Any practitioner"),
    )
    day = forms.DateField(
        label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time = forms.TimeField(
        label=_("Time"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    acknowledge = forms.BooleanField(
        label=_("I have read the warnings and book anyway"), required=False
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, clinic=clinic, **kwargs)
        self.fields["type"].queryset = AppointmentType.objects.filter(  # type: ignore[attr-defined]
            clinic=clinic, active=True
        )

    def clean_patient(self) -> Patient:
        mrn = self.cleaned_data["patient"].strip()
        patient = Patient.objects.filter(clinic=self.clinic, mrn__iexact=mrn).first()
        if patient is None:
            raise forms.ValidationError(_("No patient with this record number at this clinic."))
        return patient

    def require_booking_fields(self) -> bool:
        """Practitioner and time are optional for a slot search, needed to book."""
        if not self.is_valid():
            return False
        for name, message in (
            ("practitioner", _("Choose the practitioner (or pick a slot below).")),
            ("time", _("Give the time (or pick a slot below).")),
        ):
            if not self.cleaned_data.get(name):
                self.add_error(name, message)
        return not self.errors


class MoveForm(_SlotFields):
    practitioner = PractitionerChoice(label=_("Practitioner"), queryset=User.objects.none())
    day = forms.DateField(
        label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time = forms.TimeField(
        label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    acknowledge = forms.BooleanField(
        label=_("I have read the warnings and move anyway"), required=False
    )


class CancelForm(forms.Form):
    cancelled_by = forms.ChoiceField(label=_("Cancelled by"), choices=CancelledBy.choices)
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class PolicyForm(forms.ModelForm):
    class Meta:
        model = BookingPolicy
        fields = list(BookingPolicy.TUNABLE)


class _ClinicForm(forms.ModelForm):
    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        if "practitioner" in self.fields:
            field = self.fields["practitioner"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = bookable_practitioners(clinic)
            field.label_from_instance = lambda u: str(u.display_name)  # type: ignore[method-assign,assignment]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Names are unique per clinic (the clinic is not a field of the form).
        name = data.get("name")
        if name and "name" in self.fields:
            model = self._meta.model
            taken = model._default_manager.filter(clinic=self.clinic, name__iexact=name)
            if taken.exclude(pk=self.instance.pk).exists():
                self.add_error("name", _("This clinic already has one of that name."))
        return data


class HoursForm(_ClinicForm):
    class Meta:
        model = WorkingHours
        fields = ["practitioner", "weekday", "start", "end"]
        widgets = {
            "start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end comes after the start."))
        return data


class AbsenceForm(_ClinicForm):
    class Meta:
        model = Absence
        fields = ["practitioner", "starts_at", "ends_at", "reason"]
        widgets = {
            "starts_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "ends_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The end comes after the start."))
        return data


class RoomForm(_ClinicForm):
    class Meta:
        model = Room
        fields = ["name", "active"]


class DeviceForm(_ClinicForm):
    class Meta:
        model = Device
        fields = ["name", "kind", "active"]


class TypeForm(_ClinicForm):
    class Meta:
        model = AppointmentType
        fields = [
            "name",
            "kind",
            "protocol",
            "duration_minutes",
            "needs_room",
            "needs_device",
            "prescriber_only",
            "active",
            "online",
        ]

    def clean(self) -> dict[str, Any]:
        from mesochart.library.services import library_for

        data = super().clean() or {}
        protocol = data.get("protocol") or ""
        if data.get("kind") == "treatment" and not protocol:
            self.add_error("protocol", _("A treatment names its protocol."))
        elif protocol and protocol not in library_for(self.clinic).protocols:
            self.add_error("protocol", _("No such protocol in the library."))
        return data


# --- the public booking page ----------------------------------------------------------

# Where the public page shows a booking refusal: the times are one field there.
ONLINE_FIELD_OF = {
    "starts_at": "slot",
    "practitioner": "slot",
    "room": "slot",
    "device": "slot",
    "patient": "slot",
    "acknowledge": "type",
}


def add_online_error(form: forms.BaseForm, exc: DomainError) -> None:
    name = ONLINE_FIELD_OF.get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


class OnlineBookingForm(forms.Form):
    type = forms.ModelChoiceField(
        label=_("Service"), queryset=AppointmentType.objects.none(), empty_label=None
    )
    practitioner = PractitionerChoice(
        label=_("With"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Anyone"),
    )
    day = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    slot = forms.CharField(label=_("Time"), required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    # The honeypot: hidden from people (CSS and aria), filled by bots.
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    PERSON = ("given_name", "family_name", "birth_date", "email", "phone")

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["type"].queryset = AppointmentType.objects.filter(  # type: ignore[attr-defined]
            clinic=clinic, active=True, online=True
        )
        self.fields["practitioner"].queryset = bookable_practitioners(clinic)  # type: ignore[attr-defined]

    def starts_at(self) -> datetime | None:
        raw = (self.cleaned_data.get("slot") or "").strip()
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            return None
        return value if value.tzinfo is not None else None

    def require_booking_fields(self) -> bool:
        """Valid for booking: every field of the person and a time chosen."""
        if not self.is_valid():
            return False
        for name in self.PERSON:
            if not self.cleaned_data.get(name):
                self.add_error(name, _("This field is required."))
        phone = self.cleaned_data.get("phone") or ""
        if "phone" not in self.errors and not keys.phone_key(phone):
            self.add_error("phone", _("Give a phone number."))
        if self.starts_at() is None:
            self.add_error("slot", _("Choose a time from the list."))
        return not self.errors
