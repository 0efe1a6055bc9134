from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.urls import reverse_lazy

from mesochart.accounts.models import Clinic
from mesochart.protocols import load_library

from . import gs1
from .models import ContainerKind, Fridge, LotStatus, Storage, Unit
from .services import product_for_gtin


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def product_choices() -> list[tuple[str, str]]:
    return [(code, p.name) for code, p in sorted(load_library().products.items())]


class ReceiveForm(forms.Form):
    scan = forms.CharField(
        required=False,
        max_length=200,
        label="Scan the pack (GS1 DataMatrix)",
        help_text="Scan or paste the code: fills product, lot and expiry.",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    product = forms.ChoiceField(
        required=False,
        choices=[],
        # Shows the lots of this product already in stock, first expiry first (FEFO).
        widget=forms.Select(
            attrs={
                "hx-get": reverse_lazy("stock:fefo"),
                "hx-target": "#fefo-result",
                "hx-trigger": "change",
            }
        ),
    )
    lot_number = forms.CharField(required=False, max_length=40, label="Lot number")
    expiry = forms.DateField(required=False, widget=DateInput(), label="Expiry date")
    quantity = forms.DecimalField(min_value=Decimal("0.01"), max_digits=10, decimal_places=2)
    unit = forms.ChoiceField(choices=Unit.choices)
    storage = forms.ChoiceField(choices=Storage.choices, initial=Storage.FRIDGE)
    fridge = forms.ModelChoiceField(queryset=Fridge.objects.none(), required=False)
    supplier = forms.CharField(required=False, max_length=200)
    gtin = forms.CharField(required=False, max_length=14, label="GTIN")
    serial = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        cast(forms.ChoiceField, self.fields["product"]).choices = [
            ("", "---------"),
            *product_choices(),
        ]
        self.fields["fridge"].queryset = Fridge.objects.filter(clinic=clinic)  # type: ignore[attr-defined]
        self.scanned: gs1.GS1Data | None = None

    def fill_from_scan(self) -> dict[str, str]:
        """The values the scan gives (empty when nothing was scanned or it is unreadable)."""
        raw = (self.data.get("scan") or "").strip()
        if not raw:
            return {}
        try:
            data = gs1.parse(raw)
        except gs1.GS1Error:
            return {}
        values: dict[str, str] = {}
        if data.gtin:
            values["gtin"] = data.gtin
            product = product_for_gtin(self.clinic, data.gtin)
            if product:
                values["product"] = product
        if data.lot:
            values["lot_number"] = data.lot
        if data.expiry:
            values["expiry"] = data.expiry.isoformat()
        if data.serial:
            values["serial"] = data.serial
        return values

    def focus_after_fill(self) -> None:
        """After a fill from the scan, the cursor waits in the first field the scan left empty,
        so what is typed next (the quantity) never lands in the scan field."""
        if not self.fill_from_scan():
            return
        self.fields["scan"].widget.attrs.pop("autofocus", None)
        for name, field in self.fields.items():
            if name != "scan" and not self.data.get(name) and not field.widget.is_hidden:
                field.widget.attrs["autofocus"] = True
                return

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        raw = (cleaned.get("scan") or "").strip()
        if raw:
            try:
                self.scanned = gs1.parse(raw)
            except gs1.GS1Error as exc:
                self.add_error("scan", str(exc))
                return cleaned
            data = self.scanned
            if data.gtin:
                cleaned["gtin"] = cleaned.get("gtin") or data.gtin
                product = product_for_gtin(self.clinic, data.gtin)
                if not cleaned.get("product"):
                    if product is None:
                        self.add_error(
                            "product",
                            f"GTIN {data.gtin} is not mapped to a product yet: choose the product.",
                        )
                    else:
                        cleaned["product"] = product
            cleaned["lot_number"] = cleaned.get("lot_number") or data.lot or ""
            cleaned["expiry"] = cleaned.get("expiry") or data.expiry
            cleaned["serial"] = cleaned.get("serial") or data.serial or ""
        for name, message in (
            ("product", "Choose the product (or scan the pack)."),
            ("lot_number", "Enter the lot number (or scan the pack)."),
            ("expiry", "Enter the expiry date (or scan the pack)."),
        ):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {
            "product": c["product"],
            "lot_number": c["lot_number"],
            "expiry": c["expiry"],
            "quantity": c["quantity"],
            "unit": c["unit"],
            "storage": c["storage"],
            "fridge": c["fridge"],
            "gtin": c["gtin"],
            "udi_di": c["gtin"],
            "udi_pi": self.scanned.udi_pi if self.scanned else "",
            "serial": c["serial"],
            "supplier": c["supplier"],
        }


class QuantityReasonForm(forms.Form):
    quantity = forms.DecimalField(max_digits=10, decimal_places=2)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class AdjustForm(QuantityReasonForm):
    quantity = forms.DecimalField(
        max_digits=10, decimal_places=2, help_text="Signed: negative removes stock."
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class OpenContainerForm(forms.Form):
    kind = forms.ChoiceField(choices=ContainerKind.choices)


class FridgeForm(forms.Form):
    name = forms.CharField(max_length=100)
    location = forms.CharField(max_length=200, required=False)


class ReadingForm(forms.Form):
    recorded_at = forms.DateTimeField(
        label="Time of reading", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    temperature_c = forms.DecimalField(label="Temperature (°C)", max_digits=4, decimal_places=1)


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="Columns recorded_at,temperature_c (header line first)."
    )


class ThresholdForm(forms.Form):
    product = forms.ChoiceField(choices=[])
    minimum = forms.DecimalField(min_value=Decimal("0"), max_digits=10, decimal_places=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["product"]).choices = product_choices()


class LotFilterForm(forms.Form):
    product = forms.ChoiceField(required=False, choices=[])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *LotStatus.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["product"]).choices = [
            ("", "Any product"),
            *product_choices(),
        ]
