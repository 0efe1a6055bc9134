from __future__ import annotations

from django import forms

from .models import PhotoView


class UploadForm(forms.Form):
    view = forms.ChoiceField(choices=PhotoView.choices, initial=PhotoView.FRONT)
    photo = forms.FileField(
        required=False,
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "user"}),
        help_text="On a phone this opens the camera.",
    )
