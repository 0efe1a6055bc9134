from django import forms

from .models import RecallKind


class RecallSearchForm(forms.Form):
    kind = forms.ChoiceField(choices=RecallKind.choices, initial=RecallKind.LOT)
    identifier = forms.CharField(max_length=100, label="Lot number, pack id or cycle number")
    product = forms.CharField(
        max_length=100, required=False, label="Product code (optional, lots only)"
    )


class ContactForm(forms.Form):
    kind = forms.ChoiceField(choices=RecallKind.choices, widget=forms.HiddenInput)
    identifier = forms.CharField(max_length=100, widget=forms.HiddenInput)
    product = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)
    note = forms.CharField(
        max_length=1000,
        widget=forms.TextInput(
            attrs={"placeholder": "Called 14:05, told to watch for redness; review booked"}
        ),
    )
