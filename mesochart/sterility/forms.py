from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from mesochart.accounts.models import Clinic
from mesochart.errors import DomainError
from mesochart.patients.models import Patient

from . import programs
from .models import (
    CI_TYPES,
    BiResult,
    IndicatorResult,
    SingleUseItemUse,
    SterileItemLot,
    Steriliser,
)


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _not_future(value: datetime) -> datetime:
    if value > timezone.now() + timedelta(minutes=5):
        raise forms.ValidationError("This time is in the future.")
    return value


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's refusal on the field it names (or on the form)."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


class StampedForm(forms.Form):
    """A form whose moment field defaults to now (in the clinic's time zone)."""

    moment_field = "used_at"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(self.moment_field, timezone.localtime().replace(second=0))


class SteriliserForm(forms.ModelForm):
    class Meta:
        model = Steriliser
        fields = [
            "name",
            "steriliser_class",
            "pre_vacuum",
            "serial",
            "bi_release_required",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("steriliser_class") == "B" and not data.get("pre_vacuum"):
            self.add_error("pre_vacuum", "A class B steriliser is pre-vacuum.")
        return data


class CycleForm(forms.Form):
    number = forms.IntegerField(label="Cycle number", min_value=1, max_value=10_000_000)
    started_at = forms.DateTimeField(label="Started", widget=DateTimeLocal())
    program = forms.ChoiceField(choices=programs.CHOICES)
    temperature_c = forms.DecimalField(
        label="Temperature (C)", max_digits=5, decimal_places=1, min_value=0, max_value=200
    )
    hold_min = forms.DecimalField(
        label="Hold time (min)", max_digits=5, decimal_places=1, min_value=0, max_value=999
    )
    pressure_bar = forms.DecimalField(
        label="Pressure (bar)", max_digits=4, decimal_places=2, min_value=0, max_value=10
    )
    load_contents = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
    instrument_sets = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One instrument set per line.",
        max_length=4000,
    )
    ci_type = forms.TypedChoiceField(label="Chemical indicator type", choices=CI_TYPES, coerce=int)
    ci_result = forms.ChoiceField(
        label="Chemical indicator result", choices=IndicatorResult.choices
    )
    bi_result = forms.ChoiceField(
        label="Biological indicator", choices=BiResult.choices, required=False
    )
    bi_lot = forms.CharField(label="BI lot", max_length=60, required=False)
    contains_implants = forms.BooleanField(label="Load contains implants", required=False)

    def clean_started_at(self) -> datetime:
        return _not_future(self.cleaned_data["started_at"])

    def clean_instrument_sets(self) -> list[str]:
        text: str = self.cleaned_data["instrument_sets"]
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("bi_result") and not data.get("bi_lot", "").strip():
            self.add_error("bi_lot", "Enter the lot of the biological indicator.")
        return data


class BowieDickForm(StampedForm):
    moment_field = "performed_at"
    performed_at = forms.DateTimeField(label="Performed", widget=DateTimeLocal())
    result = forms.ChoiceField(choices=IndicatorResult.choices, widget=forms.RadioSelect)
    test_pack_lot = forms.CharField(label="Test pack lot", max_length=60, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_performed_at(self) -> datetime:
        return _not_future(self.cleaned_data["performed_at"])


class BiResultForm(forms.Form):
    result = forms.ChoiceField(
        choices=[(c, label) for c, label in BiResult.choices if c], widget=forms.RadioSelect
    )
    lot = forms.CharField(label="BI lot", max_length=60, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class PackForm(forms.Form):
    set_name = forms.CharField(label="Instrument set", max_length=120)
    contents = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    count = forms.IntegerField(label="Number of packs", min_value=1, max_value=100, initial=1)


class PatientByMrnForm(StampedForm):
    """Names the patient by record number, looked up in the clinic only."""

    patient = forms.CharField(label="Patient record number", max_length=20)
    used_at = forms.DateTimeField(label="Used", widget=DateTimeLocal())
    session_ref = forms.UUIDField(label="Session reference", required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic

    def clean_patient(self) -> Patient:
        mrn = self.cleaned_data["patient"].strip()
        patient = Patient.objects.filter(clinic=self.clinic, mrn__iexact=mrn).first()
        if patient is None:
            raise forms.ValidationError("No patient of this clinic has this record number.")
        return patient

    def clean_used_at(self) -> datetime:
        return _not_future(self.cleaned_data["used_at"])


class ItemUseForm(PatientByMrnForm):
    item_serial = forms.CharField(
        label="Serial / UDI-PI",
        max_length=SingleUseItemUse._meta.get_field("item_serial").max_length,
        required=False,
        help_text="Empty: the next item of the lot gets a sequence number.",
    )
    field_order = ["item_serial", "patient", "used_at", "session_ref"]


class ItemLotForm(forms.ModelForm):
    class Meta:
        model = SterileItemLot
        fields = ["kind", "product", "lot", "udi_di", "expiry", "quantity"]
        widgets = {"expiry": DateInput()}


class ShelfLifeForm(forms.Form):
    pack_shelf_life_days = forms.IntegerField(
        label="Pack shelf life (days)",
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Empty: event-related shelf life, no expiry date on labels.",
    )
