from __future__ import annotations

from typing import Any

from django import forms

from mesochart.protocols import load_library

from .models import ConsentKind, PhotoUse, SignerRole, SignMethod


def protocol_choices() -> list[tuple[str, str]]:
    return [("", "All protocols")] + [(p.code, p.name) for p in load_library().protocols.values()]


class TemplateForm(forms.Form):
    kind = forms.ChoiceField(choices=ConsentKind.choices)
    protocol = forms.ChoiceField(choices=(), required=False)
    title = forms.CharField(max_length=200)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 16}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].choices = protocol_choices()  # type: ignore[attr-defined]


class VersionForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 16}))


class TakeConsentForm(forms.Form):
    version = forms.UUIDField(widget=forms.HiddenInput)
    signer_name = forms.CharField(max_length=200, label="Name of the person signing")
    signer_role = forms.ChoiceField(
        choices=SignerRole.choices, initial=SignerRole.PATIENT, label="Signing as"
    )
    method = forms.ChoiceField(
        choices=SignMethod.choices,
        initial=SignMethod.ON_SCREEN,
        widget=forms.RadioSelect,
        label="How it is signed",
    )
    signature = forms.CharField(widget=forms.HiddenInput, required=False)
    scan = forms.FileField(required=False, label="Scanned paper form (PDF, JPEG or PNG)")
    photo_uses = forms.MultipleChoiceField(
        choices=PhotoUse.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="The photographs may be used for",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Reason for revocation"
    )


# --- plans and sessions ---------------------------------------------------------------


def session_protocol_choices() -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in load_library().protocols.values()]


class PlanForm(forms.Form):
    protocol = forms.ChoiceField(choices=())
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Course start")
    goals = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="What the patient wants and what was agreed (e.g. brighter, more even tone).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].choices = session_protocol_choices()  # type: ignore[attr-defined]


class ClosePlanForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("completed", "Completed"), ("stopped", "Stopped")], label="Close as"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )


class NewSessionForm(forms.Form):
    protocol = forms.ChoiceField(choices=())
    scheduled_for = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    start_now = forms.BooleanField(
        required=False, label="Start now (screens the medical profile and opens the chart)"
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].choices = session_protocol_choices()  # type: ignore[attr-defined]


class CancelSessionForm(forms.Form):
    reason = forms.CharField(max_length=2000, label="Reason for cancelling")


class OverrideForm(forms.Form):
    code = forms.CharField(max_length=60, widget=forms.HiddenInput)
    where = forms.CharField(max_length=120, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=2000, min_length=5, label="Clinical reason for proceeding")


class AddendumForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class FollowUpDoneForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="What was found")
