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
