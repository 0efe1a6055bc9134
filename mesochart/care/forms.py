from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from mesochart.errors import DomainError
from mesochart.protocols import Library, load_library

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
    start = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="Course start"
    )
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
    scheduled_for = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label=_("Date")
    )
    start_now = forms.BooleanField(
        required=False,
        label=_("Start now (screens the medical profile and opens the chart)"),
        help_text=_("Only for a session that happens today."),
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["protocol"].choices = session_protocol_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day = data.get("scheduled_for")
        if data.get("start_now") and day is not None and day != self.today:
            self.add_error(
                "start_now",
                _(
                    "Start now is only for today's sessions; this one is planned for "
                    "%(day)s. Untick it to plan the session, or set today's date."
                )
                % {"day": date_format(day, "DATE_FORMAT")},
            )
        return data


class CancelSessionForm(forms.Form):
    reason = forms.CharField(max_length=2000, label="Reason for cancelling")


class OverrideForm(forms.Form):
    """A prescriber's override of one finding, or of a group of the same finding (one
    ``where`` per place it stands)."""

    code = forms.CharField(max_length=60, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=2000, min_length=5, label=_("Clinical reason for proceeding")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wheres = [w[:120] for w in _list(self.data, "where") if w]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.wheres:
            self.add_error("code", _("Choose the finding to override."))
        return data


class AddendumForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class FollowUpDoneForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="What was found")


# --- the chair screen: what the browser sends, validated into the services' types ---------


class ChartDecimalField(forms.Field):
    """A decimal with a step and bounds; accepts a comma as the decimal separator and
    says what was typed when it is not a number."""

    def __init__(self, *, step: str, lo: str, hi: str, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.step, self.lo, self.hi = Decimal(step), Decimal(lo), Decimal(hi)

    def to_python(self, value: Any) -> Decimal | None:
        raw = str(value if value is not None else "").strip()
        if not raw:
            return None
        try:
            number = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            raise forms.ValidationError(
                _("“%(value)s” is not a number."), params={"value": raw[:20]}
            ) from None
        if not number.is_finite() or number < self.lo or number > self.hi:
            raise forms.ValidationError(
                _("%(value)s is out of range: enter a number from %(lo)s to %(hi)s."),
                params={"value": raw[:20], "lo": self.lo, "hi": self.hi},
            )
        return number.quantize(self.step, rounding=ROUND_HALF_UP)


class ChartIntegerField(forms.Field):
    def __init__(self, *, lo: int, hi: int, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.lo, self.hi = lo, hi

    def to_python(self, value: Any) -> int | None:
        raw = str(value if value is not None else "").strip()
        if not raw:
            return None
        try:
            number = int(raw)
        except ValueError:
            raise forms.ValidationError(
                _("“%(value)s” is not a whole number."), params={"value": raw[:20]}
            ) from None
        if not self.lo <= number <= self.hi:
            raise forms.ValidationError(
                _("%(value)s is out of range: enter a whole number from %(lo)s to %(hi)s."),
                params={"value": number, "lo": self.lo, "hi": self.hi},
            )
        return number


def _volume(**kwargs: Any) -> ChartDecimalField:
    return ChartDecimalField(step="0.001", lo="0.001", hi="100", **kwargs)


def _mm(**kwargs: Any) -> ChartDecimalField:
    return ChartDecimalField(step="0.01", lo="0", hi="100", **kwargs)


def _list(data: Any, name: str) -> list[str]:
    """Every value posted under ``name`` (a QueryDict), or the one of a plain dict."""
    if hasattr(data, "getlist"):
        return list(data.getlist(name))
    value = (data or {}).get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def first_errors(form: forms.Form) -> dict[str, str]:
    """Each field's first error, keyed by the field's HTML name (prefix included); errors
    about no single field under ``general``."""
    out: dict[str, str] = {}
    for name, errors in form.errors.items():
        key = form.add_prefix(name) if name != "__all__" else "general"
        out[key] = str(errors[0])
    return out


def _clinic_lot(clinic_id: Any, raw: str, field: str) -> Any:
    from mesochart.stock.models import Lot

    try:
        lot = Lot.objects.filter(pk=uuid.UUID(raw), clinic_id=clinic_id).first()
    except ValueError:
        lot = None
    if lot is None:
        raise forms.ValidationError(_("Choose a lot from the list."), code=field)
    return lot


def _clinic_preparation(clinic_id: Any, raw: str) -> Any:
    from mesochart.stock.models import MixturePreparation

    try:
        prep = MixturePreparation.objects.filter(pk=uuid.UUID(raw), clinic_id=clinic_id).first()
    except ValueError:
        prep = None
    if prep is None:
        raise forms.ValidationError(_("Choose a mixture prepared for this session."))
    return prep


def _column_max(model: str, name: str) -> int:
    from django.apps import apps

    field = apps.get_model("care", model)._meta.get_field(name)
    length = getattr(field, "max_length", None)
    assert length is not None, f"{model}.{name} has no max_length"
    return int(length)


def _entry_max(name: str) -> int:
    return _column_max("ChartEntry", name)


def _entry_text(name: str, label: Any) -> forms.CharField:
    """A text the chart entry's column ``name`` stores: as long as that column holds, and a
    refusal that names the field wherever it is shown."""
    return forms.CharField(
        required=False,
        max_length=_entry_max(name),
        label=label,
        error_messages={
            "max_length": format_lazy(
                "{label}: {rule}",
                label=label,
                rule=_("at most %(limit_value)d characters (this has %(show_value)d)."),
            )
        },
    )


class BrushForm(forms.Form):
    """The settings of the next point: the whole brush card is posted on every change."""

    # Text fields take the lengths of the chart entry's own columns, so nothing a point
    # would copy from the brush can be too long to store.
    kind = _entry_text("kind", _("Charting"))
    technique = _entry_text("technique", _("Technique"))
    lot = forms.CharField(required=False, max_length=60, label=_("Product lot"))
    scan = forms.CharField(required=False, max_length=200, label=_("Scan"))
    topical_lot = forms.CharField(required=False, max_length=60, label=_("Topical (lot)"))
    volume_ml = _volume(label=_("Volume per point (mL)"))
    depth_mm = _mm(label=_("Depth (mm)"))
    needle_gauge = ChartIntegerField(lo=10, hi=40, label=_("Needle gauge (G)"))
    needle_length_mm = _mm(label=_("Needle length (mm)"))
    angle_deg = ChartIntegerField(lo=0, hi=90, label=_("Angle (°)"))
    device = _entry_text("device", _("Device"))
    passes = ChartIntegerField(lo=1, hi=50, label=_("Passes"))
    endpoint = _entry_text("endpoint", _("Endpoint"))
    device_lot = _entry_text("device_lot", _("Device lot"))
    energy = _entry_text("energy", _("Energy / settings"))
    test_spot = forms.BooleanField(required=False, label=_("Test spot"))
    modality = forms.CharField(
        required=False, max_length=_entry_max("modality"), label=_("Modality")
    )

    def __init__(self, *args: Any, session: Any, library: Library, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.library = library

    def clean_kind(self) -> str:
        from .models import EntryKind
        from .services.charting import entry_kind_for

        kind = self.cleaned_data["kind"] or entry_kind_for(self.library, self.session.protocol)
        if kind not in EntryKind.values:
            raise forms.ValidationError(_("Unknown entry kind."))
        return str(kind)

    def clean_technique(self) -> str:
        code = self.cleaned_data["technique"].strip()
        if code and code not in self.library.protocols[self.session.protocol].techniques:
            raise forms.ValidationError(_("Choose a technique of this protocol."))
        return str(code)

    def clean_endpoint(self) -> str:
        from .services.charting import ENDPOINTS

        value = self.cleaned_data["endpoint"].strip()
        if value and value not in ENDPOINTS:
            raise forms.ValidationError(_("The endpoint is erythema or pinpoint bleeding."))
        return str(value)

    def clean(self) -> dict[str, Any]:
        from .services.charting import lot_from_scan

        data = super().clean() or {}
        clinic_id = self.session.clinic_id
        kind = data.get("kind", "")
        device = (data.get("device") or "").strip()
        if kind == "microneedling" and device and device not in self.library.device_technique:
            self.add_error("device", _("Choose a device from the list."))
        data["device"] = device
        modality = (data.get("modality") or "").strip()
        technique = self.library.techniques.get(data.get("technique") or "")
        allowed = technique.modalities if technique is not None else ()
        if kind not in ("energy", "needle_free"):
            modality = ""
        elif len(allowed) == 1:
            modality = allowed[0]
        elif modality and modality not in allowed:
            self.add_error("modality", _("Choose a modality of this technique."))
        data["modality"] = modality
        data["lot_obj"] = data["preparation_obj"] = data["topical_obj"] = None
        scanned = (data.get("scan") or "").strip()
        raw_lot = (data.get("lot") or "").strip()
        try:
            if scanned:
                data["lot_obj"] = lot_from_scan(self.session.clinic, scanned)
            elif raw_lot.startswith("prep:"):
                data["preparation_obj"] = _clinic_preparation(clinic_id, raw_lot[5:])
            elif raw_lot:
                data["lot_obj"] = _clinic_lot(clinic_id, raw_lot, "lot")
        except forms.ValidationError as exc:
            self.add_error("lot" if not scanned else "scan", exc)
        except DomainError as exc:
            self.add_error("scan", exc.message)
        raw_topical = (data.get("topical_lot") or "").strip()
        if raw_topical:
            try:
                data["topical_obj"] = _clinic_lot(clinic_id, raw_topical, "topical_lot")
            except forms.ValidationError as exc:
                self.add_error("topical_lot", exc)
        return data

    def brush(self) -> Any:
        from .services.charting import Brush

        d = self.cleaned_data
        return Brush(
            kind=d["kind"],
            technique=d.get("technique", ""),
            lot=d["lot_obj"],
            preparation=d["preparation_obj"],
            topical_lot=d["topical_obj"],
            volume_ml=d.get("volume_ml"),
            depth_mm=d.get("depth_mm"),
            needle_gauge=d.get("needle_gauge"),
            needle_length_mm=d.get("needle_length_mm"),
            angle_deg=d.get("angle_deg"),
            device=d.get("device", ""),
            passes=d.get("passes"),
            endpoint=d.get("endpoint", ""),
            device_lot=(d.get("device_lot") or "").strip(),
            energy=(d.get("energy") or "").strip(),
            test_spot=bool(d.get("test_spot")),
            modality=d.get("modality", ""),
        )


def map_points(data: Any) -> list[Any]:
    """The clicks of one request (``view``, ``x``, ``y``, repeated for a queued batch),
    as ``MapPoint``s; a bad value raises ``InvalidInput`` naming the ``map`` field."""
    from mesochart.errors import InvalidInput

    from .services.charting import MapPoint

    views, xs, ys = data.getlist("view"), data.getlist("x"), data.getlist("y")
    if not xs or len(xs) != len(ys) or len(views) not in (1, len(xs)):
        raise InvalidInput(
            str(_("The click did not reach the server whole: click again.")), field="map"
        )
    if len(xs) > 200:
        raise InvalidInput(str(_("At most 200 points at once.")), field="map")
    points = []
    for i, (raw_x, raw_y) in enumerate(zip(xs, ys, strict=True)):
        try:
            x, y = float(raw_x), float(raw_y)
        except ValueError:
            raise InvalidInput(str(_("A point's position is not a number.")), field="map") from None
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidInput(str(_("A point must lie on the map.")), field="map")
        points.append(MapPoint(views[i if len(views) > 1 else 0], x, y))
    return points


class ZoneEntryForm(forms.Form):
    zone = forms.ChoiceField(choices=(), label=_("Zone"))
    points = forms.IntegerField(
        min_value=1, max_value=10000, initial=1, label=_("Points (or passes over the zone)")
    )
    note = _entry_text("note", _("Note"))

    def __init__(self, *args: Any, library: Library, protocol: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "ze")
        super().__init__(*args, **kwargs)
        zones = library.protocols[protocol].zones
        self.fields["zone"].choices = [(z, library.zones[z].name) for z in zones]  # type: ignore[attr-defined]


class EntryEditForm(forms.Form):
    """New settings for the selected points (``entries``) or for a whole zone."""

    zone = _entry_text("zone", _("Or every point in"))
    volume_ml = _volume(label=_("Volume per point (mL)"))
    depth_mm = _mm(label=_("Depth (mm)"))
    needle_gauge = ChartIntegerField(lo=10, hi=40, label=_("Needle gauge (G)"))
    needle_length_mm = _mm(label=_("Needle length (mm)"))
    angle_deg = ChartIntegerField(lo=0, hi=90, label=_("Angle (°)"))
    technique = _entry_text("technique", _("Technique"))
    lot = forms.CharField(required=False, max_length=60, label=_("Product lot"))

    def __init__(self, *args: Any, session: Any, library: Library, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "edit")
        super().__init__(*args, **kwargs)
        self.session, self.library = session, library
        raw = _list(self.data, self.add_prefix("entries"))
        self.entry_ids: list[uuid.UUID] = []
        self.bad_ids = False
        for value in raw:
            try:
                self.entry_ids.append(uuid.UUID(value))
            except ValueError:
                self.bad_ids = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.bad_ids:
            self.add_error(None, _("A selected point is not on this chart."))
        proto = self.library.protocols[self.session.protocol]
        zone = (data.get("zone") or "").strip()
        if zone and zone not in proto.zones:
            self.add_error("zone", _("Choose a zone of this protocol."))
        technique = (data.get("technique") or "").strip()
        if technique and technique not in proto.techniques:
            self.add_error("technique", _("Choose a technique of this protocol."))
        data["lot_obj"] = data["preparation_obj"] = None
        raw = (data.get("lot") or "").strip()
        try:
            if raw.startswith("prep:"):
                data["preparation_obj"] = _clinic_preparation(self.session.clinic_id, raw[5:])
            elif raw:
                data["lot_obj"] = _clinic_lot(self.session.clinic_id, raw, "lot")
        except forms.ValidationError as exc:
            self.add_error("lot", exc)
        return data

    def changes(self) -> Any:
        from .services.charting import EntryChanges

        d = self.cleaned_data
        return EntryChanges(
            volume_ml=d.get("volume_ml"),
            depth_mm=d.get("depth_mm"),
            needle_gauge=d.get("needle_gauge"),
            needle_length_mm=d.get("needle_length_mm"),
            angle_deg=d.get("angle_deg"),
            technique=(d.get("technique") or "").strip(),
            lot=d.get("lot_obj"),
            preparation=d.get("preparation_obj"),
        )


class SupplyForm(forms.Form):
    quantity = ChartDecimalField(
        step="0.01", lo="0.01", hi="1000", required=True, label=_("Quantity")
    )


class MixtureForm(forms.Form):
    mixture = forms.CharField(max_length=60)

    def __init__(self, *args: Any, session: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.components: list[tuple[Any, Decimal]] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lots = _list(self.data, "component_lot")
        quantities = _list(self.data, "component_quantity")
        if not lots or not any(lots) or len(lots) != len(quantities):
            self.add_error(None, _("Choose a lot and a quantity for each component."))
            return data
        for raw_lot, raw_qty in zip(lots, quantities, strict=True):
            try:
                lot = _clinic_lot(self.session.clinic_id, raw_lot, "components")
                qty = Decimal(str(raw_qty).strip().replace(",", "."))
            except forms.ValidationError:
                self.add_error(None, _("Choose a lot and a quantity for each component."))
                return data
            except InvalidOperation:
                self.add_error(
                    None,
                    _("“%(value)s” is not a quantity: enter a number for each component.")
                    % {"value": str(raw_qty)[:20]},
                )
                return data
            self.components.append((lot, qty))
        return data


class ItemForm(forms.Form):
    item_lot: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,
        label=_("Single-use item lot"),
        error_messages={"invalid_choice": _("Choose a single-use item lot.")},
    )
    serial = forms.CharField(
        required=False,
        max_length=_column_max("SessionItem", "serial"),
        label=_("Serial"),
    )

    def __init__(self, *args: Any, clinic: Any, **kwargs: Any) -> None:
        from mesochart.sterility.models import SterileItemLot

        super().__init__(*args, **kwargs)
        self.fields["item_lot"].queryset = SterileItemLot.objects.filter(clinic=clinic)  # type: ignore[attr-defined]


class PrescriptionForm(forms.Form):
    """A prescriber's prescription for a prescription-only protocol."""

    products = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, label=_("Products")
    )
    zones = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, label=_("Zones")
    )
    max_volume_ml = ChartDecimalField(
        step="0.001", lo="0.001", hi="1000", label=_("At most, per session (mL)")
    )
    max_points = ChartIntegerField(lo=1, hi=10000, label=_("At most, injection points per session"))
    sessions = forms.IntegerField(min_value=1, max_value=50, initial=1, label=_("Sessions covered"))
    valid_until = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label=_("Valid until")
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
        label=_("Notes for the practitioner"),
    )

    def __init__(self, *args: Any, library: Library, protocol: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        proto = library.protocols[protocol]
        self.fields["products"].choices = [  # type: ignore[attr-defined]
            (c, library.products[c].name if c in library.products else library.mixtures[c].name)
            for c in (*proto.products, *proto.mixtures)
        ]
        self.fields["zones"].choices = [(z, library.zones[z].name) for z in proto.zones]  # type: ignore[attr-defined]

    def draft(self) -> Any:
        from .services.plans import PrescriptionDraft

        d = self.cleaned_data
        return PrescriptionDraft(
            products=tuple(d["products"]),
            zones=tuple(d["zones"]),
            max_volume_ml=d.get("max_volume_ml"),
            max_points=d.get("max_points"),
            sessions=d["sessions"],
            valid_until=d["valid_until"],
            notes=d.get("notes", ""),
        )


class RevokePrescriptionForm(forms.Form):
    reason = forms.CharField(max_length=2000, label=_("Reason for revoking"))
