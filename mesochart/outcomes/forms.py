from __future__ import annotations

from typing import Any

from django import forms

from mesochart.care.models import FollowUp, TreatmentSession
from mesochart.core.templatetags.clinical import product, protocol
from mesochart.patients.models import Patient
from mesochart.protocols.library import load_library
from mesochart.sterility.models import Pack
from mesochart.stock.models import Lot, MixturePreparation

from . import scales, services
from .models import (
    AdverseEvent,
    AEOutcome,
    Causality,
    Photo,
    PhotoView,
    SeriousCriterion,
    Severity,
    TimePoint,
)


class UploadForm(forms.Form):
    view = forms.ChoiceField(choices=PhotoView.choices, initial=PhotoView.FRONT)
    photo = forms.FileField(
        required=False,
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "user"}),
        help_text="On a phone this opens the camera; with the live camera above, "
        "“Capture” fills this in.",
    )


class DateInput(forms.DateInput):
    """A browser date picker: its value must be ISO 8601 whatever the locale (en-gb would
    render 25/11/2026, which a date input drops)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class SessionChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{obj.scheduled_for:%Y-%m-%d} · {protocol(obj.protocol)} · {obj.get_status_display()}"
        )


class FollowUpChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_kind_display()} due {obj.due:%Y-%m-%d}"


def _protocol_choices() -> list[tuple[str, str]]:
    lib = load_library()
    return [("", "—")] + [(code, p.name) for code, p in sorted(lib.protocols.items())]


class ScoreForm(forms.Form):
    scale = forms.ChoiceField(
        choices=[(s.id, s.name) for s in scales.SCALES.values()],
        help_text="GAIS 1-5 (1 = very much improved); CR-/PR-SMFRS 0-4 for submental "
        "protocols; satisfaction is a local 1-5 scale.",
    )
    value = forms.IntegerField()
    timepoint = forms.ChoiceField(choices=TimePoint.choices)
    assessed_on = forms.DateField(widget=DateInput)
    session = SessionChoice(queryset=TreatmentSession.objects.none(), required=False)
    follow_up = FollowUpChoice(queryset=FollowUp.objects.none(), required=False)
    protocol = forms.ChoiceField(
        choices=(), required=False, help_text="Taken from the session when one is chosen."
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = services.patient_sessions(patient)  # type: ignore[attr-defined]
        self.fields["follow_up"].queryset = services.open_score_follow_ups(patient)  # type: ignore[attr-defined]
        self.fields["protocol"].choices = _protocol_choices()  # type: ignore[attr-defined]


class LotChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{product(obj.product)} lot {obj.lot_number} (exp. {obj.expiry:%Y-%m-%d})"


class PreparationChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{product(obj.mixture)} {obj.label}"


class PackChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.set_name} · cycle {obj.cycle.code}"


class PhotoChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_view_display()} {obj.taken_at:%Y-%m-%d %H:%M}"


class AdverseEventFields(forms.Form):
    """The fields an adverse event's follow-up may change (and the links)."""

    severity = forms.ChoiceField(choices=Severity.choices, widget=forms.RadioSelect)
    ctcae_term = forms.CharField(
        label="CTCAE term",
        required=False,
        max_length=120,
        help_text="e.g. Injection site reaction (CTCAE v5.0, reference §6.3).",
    )
    ctcae_grade = forms.TypedChoiceField(
        label="CTCAE grade",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[
            ("", "—"),
            (1, "1 mild"),
            (2, "2 moderate"),
            (3, "3 severe or medically significant"),
            (4, "4 life-threatening"),
            (5, "5 death"),
        ],
    )
    serious = forms.BooleanField(required=False)
    serious_criteria = forms.MultipleChoiceField(
        choices=SeriousCriterion.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    causality = forms.ChoiceField(
        choices=Causality.choices, help_text="WHO-UMC causality categories."
    )
    outcome = forms.ChoiceField(choices=AEOutcome.choices)
    actions_taken = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    antibiotics_given = forms.BooleanField(required=False)
    lots = LotChoices(queryset=Lot.objects.none(), required=False)
    preparations = PreparationChoices(queryset=MixturePreparation.objects.none(), required=False)
    packs = PackChoices(queryset=Pack.objects.none(), required=False)
    photos = PhotoChoices(queryset=Photo.objects.none(), required=False)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinic_id = patient.clinic_id
        self.fields["lots"].queryset = Lot.objects.filter(clinic_id=clinic_id).order_by(  # type: ignore[attr-defined]
            "product", "lot_number"
        )
        self.fields["preparations"].queryset = MixturePreparation.objects.filter(  # type: ignore[attr-defined]
            clinic_id=clinic_id
        )
        self.fields["packs"].queryset = Pack.objects.filter(clinic_id=clinic_id).select_related(  # type: ignore[attr-defined]
            "cycle"
        )
        photos = Photo.objects.filter(patient=patient)
        if not services.photos_visible(patient):
            photos = Photo.objects.none()
        self.fields["photos"].queryset = photos  # type: ignore[attr-defined]


class AdverseEventForm(AdverseEventFields):
    event_type = forms.ChoiceField(label="Type", choices=())
    detail = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Free text: site, size, what the patient reports.",
    )
    onset = forms.DateField(label="Onset date", widget=DateInput)
    session = SessionChoice(queryset=TreatmentSession.objects.none(), required=False)
    field_order = ["event_type", "detail", "onset", "session"]

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, patient=patient, **kwargs)
        self.fields["event_type"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *[(c, c.replace("_", " ").capitalize()) for c in services.adverse_event_types()],
        ]
        self.fields["session"].queryset = services.patient_sessions(patient)  # type: ignore[attr-defined]


class AdverseEventUpdateForm(AdverseEventFields):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="Why, what changed."
    )

    @classmethod
    def initial_for(cls, event: AdverseEvent) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(event, name) for name in services.AE_UPDATABLE if name != "detail"
        }
        for name in services.AE_LINKS:
            initial[name] = list(getattr(event, name).all())
        return initial


class CultureForm(forms.Form):
    requested_on = forms.DateField(label="Culture requested on", widget=DateInput)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was checked or done (lot quarantined, cycle records reviewed...).",
    )
