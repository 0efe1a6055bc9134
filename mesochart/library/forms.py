from django import forms


class TuneForm(forms.Form):
    param_id = forms.CharField(widget=forms.HiddenInput)
    value = forms.FloatField(min_value=0.0)
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why the clinic changes this default"}),
    )


class ResetForm(forms.Form):
    param_id = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, required=False)
