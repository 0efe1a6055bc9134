from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import vocabulary
from .duplicates import Duplicate, reason_problem
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
    # The version the editor started from; it travels with typed values kept across an idle
    # sign-out (idle.js), so a form restored after signing in still meets the 409 check.
    version = forms.IntegerField(
        widget=forms.HiddenInput(attrs={"data-concurrency": ""}), required=False
    )

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


class DuplicateCheckForm(forms.Form):
    """The "register anyway" part of the duplicate warning on the registration page.

    ``seen`` carries back the ids of the matches the warning showed, so a match that
    appears only after the warning (the phone was changed, say) is warned about too.
    """

    anyway = forms.BooleanField(required=False)
    reason = forms.CharField(
        label=_("Why this is a different person"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_('A few words, kept in the audit trail, e.g. "twin sister, own phone".'),
    )
    seen = forms.Field(required=False, widget=forms.MultipleHiddenInput)

    def blocks(self, duplicates: list[Duplicate]) -> int | None:
        """Why the registration cannot go ahead yet: 409 to show the warning, 400 when
        "register anyway" was chosen without a usable reason (the error is on
        ``reason``); ``None`` when it may go ahead."""
        if not duplicates:
            return None
        if not self.is_valid() or not self.cleaned_data["anyway"]:
            return 400 if self.errors else 409
        if not {str(d.patient.pk) for d in duplicates} <= set(self.cleaned_data["seen"] or ()):
            self.add_error(
                None, gettext("Another possible match appeared: check it before continuing.")
            )
            return 409
        problem = reason_problem(self.cleaned_data["reason"])
        if problem is not None:
            self.add_error("reason", problem)
            return 400
        return None

    def given_reason(self) -> str:
        return " ".join(self.cleaned_data["reason"].split())
