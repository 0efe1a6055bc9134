from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from . import vocabulary
from .models import MedicalProfile, Patient


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _today() -> date:
    return timezone.localdate()


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "email",
            "phone",
            "address",
            "preferred_language",
        ]
        widgets = {"birth_date": DateInput(), "address": forms.Textarea(attrs={"rows": 2})}

    def clean_birth_date(self) -> date:
        value: date = self.cleaned_data["birth_date"]
        if value > _today():
            raise forms.ValidationError("Birth date cannot be in the future.")
        if value.year < 1900:
            raise forms.ValidationError("Birth date must be after 1900.")
        return value

    def clean_phone(self) -> str:
        value: str = self.cleaned_data["phone"].strip()
        allowed = set("0123456789+ ()-.")
        if value and (not set(value) <= allowed or sum(c.isdigit() for c in value) < 6):
            raise forms.ValidationError("Enter a phone number of digits, spaces and + ( ) - only.")
        return value


class ProfileForm(forms.ModelForm):
    conditions = forms.MultipleChoiceField(
        choices=list(vocabulary.CONDITIONS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    medications = forms.MultipleChoiceField(
        label="Medication classes",
        choices=list(vocabulary.MEDICATION_CLASSES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    allergies = forms.MultipleChoiceField(
        label="Allergies (ingredients)",
        choices=list(vocabulary.ALLERGY_INGREDIENTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = MedicalProfile
        fields = [
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
        ]
        widgets = {
            "isotretinoin_last_dose": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "bmi": forms.NumberInput(attrs={"step": "0.1", "min": "10", "max": "80"}),
        }
        help_texts = {"bmi": "kg/m², 10.0 to 80.0"}

    def clean_isotretinoin_last_dose(self) -> date | None:
        value: date | None = self.cleaned_data.get("isotretinoin_last_dose")
        if value is not None and value > _today():
            raise forms.ValidationError("The last dose cannot be in the future.")
        return value

    def profile_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class PatientSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
