"""Appointment book pages: decorators -> access gate -> form -> one service call ->
render/redirect. Day and week views per practitioner or room; htmx swaps one appointment
card after a status button, and the slot list of the booking form."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import require
from mesochart.audit.services import record_read
from mesochart.core.http import ClinicRequest, clinic_object_or_404, posted
from mesochart.errors import DomainError

from . import services
from .forms import (
    AbsenceForm,
    BookForm,
    CancelForm,
    DeviceForm,
    HoursForm,
    MoveForm,
    PolicyForm,
    RoomForm,
    TypeForm,
    add_domain_error,
)
from .models import (
    Absence,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Device,
    Room,
    WorkingHours,
)
from .rules import policy_for, policy_or_default
from .slots import find_slots


def appointment_for(request: ClinicRequest, appointment_id: uuid.UUID, perm: str) -> Appointment:
    """The appointment, or the same 404 whether it is missing or another clinic's."""
    queryset = Appointment.objects.select_related(
        "patient", "type", "practitioner", "room", "device", "session", "clinic"
    )
    appointment: Appointment = clinic_object_or_404(
        request, queryset, appointment_id, perm, "appointment"
    )
    return appointment


def _day(request: ClinicRequest) -> date:
    raw = request.GET.get("day", "")
    try:
        return date.fromisoformat(raw) if raw else request.clinic.today()
    except ValueError:
        return request.clinic.today()


def _status(request: ClinicRequest, error: DomainError | None = None) -> int:
    if request.method != "POST":
        return 200
    return error.status if error is not None else 400


def _appointments(request: ClinicRequest, first: date, days: int) -> list[Appointment]:
    start, _end = services.day_bounds(request.clinic, first)
    _s, end = services.day_bounds(request.clinic, first + timedelta(days=days - 1))
    return list(
        Appointment.objects.filter(clinic=request.clinic, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("patient", "type", "practitioner", "room", "device")
        .order_by("starts_at")
    )


@require("scheduling.view")
def day(request: ClinicRequest) -> HttpResponse:
    on = _day(request)
    by = "room" if request.GET.get("by") == "room" else "practitioner"
    appointments = _appointments(request, on, 1)
    columns: list[tuple[Any, list[Appointment]]]
    if by == "room":
        rooms = list(Room.objects.filter(clinic=request.clinic, active=True))
        columns = [(r, [a for a in appointments if a.room_id == r.pk]) for r in rooms]
        loose = [a for a in appointments if a.room_id is None]
        if loose:
            columns.append((_("No room"), loose))
    else:
        people = list(services.bookable_practitioners(request.clinic))
        columns = [(p, [a for a in appointments if a.practitioner_id == p.pk]) for p in people]
    record_read(request, "appointments", day=on.isoformat(), by=by)
    return render(
        request,
        "scheduling/day.html",
        {
            "on": on,
            "by": by,
            "columns": columns,
            "previous": on - timedelta(days=1),
            "next": on + timedelta(days=1),
        },
    )


@require("scheduling.view")
def week(request: ClinicRequest) -> HttpResponse:
    on = _day(request)
    first = on - timedelta(days=on.weekday())
    by = "room" if request.GET.get("by") == "room" else "practitioner"
    resources: list[Any] = (
        list(Room.objects.filter(clinic=request.clinic, active=True))
        if by == "room"
        else list(services.bookable_practitioners(request.clinic))
    )
    chosen = next((r for r in resources if str(r.pk) == request.GET.get("who")), None)
    chosen = chosen or (resources[0] if resources else None)
    appointments = _appointments(request, first, 7)
    if chosen is not None:
        key = "room_id" if by == "room" else "practitioner_id"
        appointments = [a for a in appointments if getattr(a, key) == chosen.pk]
    days = [first + timedelta(days=i) for i in range(7)]
    clinic = request.clinic
    columns = [(d, [a for a in appointments if clinic.local_day(a.starts_at) == d]) for d in days]
    record_read(request, "appointments", week=first.isoformat(), by=by)
    return render(
        request,
        "scheduling/week.html",
        {
            "first": first,
            "by": by,
            "resources": resources,
            "chosen": chosen,
            "columns": columns,
            "previous": first - timedelta(days=7),
            "next": first + timedelta(days=7),
        },
    )


def _slot_context(request: ClinicRequest, form: BookForm) -> dict[str, Any]:
    """The slots for what the form holds so far (type and day at least)."""
    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {}
    appt_type, on = data.get("type"), data.get("day")
    if appt_type is None or on is None:
        return {"slots": None}
    patient = data.get("patient")
    slots = find_slots(
        request.clinic,
        appt_type,
        start=on,
        days=31,
        practitioner=data.get("practitioner"),
        patient=patient,
        limit=24,
    )
    base = {
        "patient": patient.mrn if patient is not None else form.data.get("patient", ""),
        "type": str(appt_type.pk),
        "notes": data.get("notes", ""),
    }
    links = []
    for slot in slots:
        query = {
            **base,
            "practitioner": str(slot.practitioner.pk),
            "day": request.clinic.local_day(slot.starts_at).isoformat(),
            "time": slot.starts_at.strftime("%H:%M"),
        }
        links.append((slot, reverse("scheduling:book") + "?" + urlencode(query)))
    return {"slots": links}


@require("scheduling.book")
def book(request: ClinicRequest) -> HttpResponse:
    initial: dict[str, Any] = {"day": _day(request)}
    chosen = request.GET.get("practitioner", "")
    people = services.bookable_practitioners(request.clinic)
    if chosen and any(str(p.pk) == chosen for p in people):
        initial["practitioner"] = chosen
    source: Any = posted(request)
    if source is None and request.GET.get("type"):
        source = request.GET  # a slot picked from the list: the form comes back filled in
    form = BookForm(source, clinic=request.clinic, initial=initial)
    if request.method == "GET" and source is None:
        patient_id = request.GET.get("patient")
        if patient_id:
            from mesochart.patients.access import patients_visible_to

            try:
                found = patients_visible_to(request).filter(pk=patient_id).first()
            except ValidationError:
                found = None
            if found is not None:
                form.initial["patient"] = found.mrn
    warnings: list[Any] = []
    error: DomainError | None = None
    if request.method == "POST" and form.require_booking_fields():
        data = form.cleaned_data
        try:
            appointment = services.do_book(
                request.user,
                request.clinic,
                patient=data["patient"],
                appt_type=data["type"],
                practitioner=data["practitioner"],
                starts_at=form.starts_at(),
                room=data["room"],
                device=data["device"],
                notes=data["notes"],
                acknowledge_warnings=data["acknowledge"],
            )
        except services.WarningsNotAcknowledged as exc:
            warnings, error = exc.findings, exc
            add_domain_error(form, exc)
        except DomainError as exc:
            error = exc
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Appointment booked."))
            return redirect(
                reverse("scheduling:day")
                + f"?day={request.clinic.local_day(appointment.starts_at).isoformat()}"
            )
    context = {"form": form, "warnings": warnings}
    if form.is_bound and request.method == "GET":
        context.update(_slot_context(request, form))
    return render(request, "scheduling/book.html", context, status=_status(request, error))


@require("scheduling.book")
def slots(request: ClinicRequest) -> HttpResponse:
    """The slot list of the booking form (htmx swaps it in; without htmx the whole form)."""
    form = BookForm(request.GET, clinic=request.clinic)
    form.is_valid()
    context = {"form": form, **_slot_context(request, form)}
    template = "scheduling/_slots.html" if request.htmx else "scheduling/book.html"
    return render(request, template, context)


@require("scheduling.view")
def detail(request: ClinicRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = appointment_for(request, appointment_id, "scheduling.view")
    record_read(request, appointment)
    return render(request, "scheduling/detail.html", {"a": appointment})


@require("scheduling.book")
def move(request: ClinicRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = appointment_for(request, appointment_id, "scheduling.book")
    local = appointment.starts_at.astimezone(services.clinic_zone(request.clinic))
    form = MoveForm(
        posted(request),
        clinic=request.clinic,
        initial={
            "practitioner": appointment.practitioner_id,
            "day": local.date(),
            "time": local.time(),
            "room": appointment.room_id,
            "device": appointment.device_id,
        },
    )
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.do_move(
                request.user,
                appointment,
                starts_at=form.starts_at(),
                practitioner=data["practitioner"],
                room=data["room"],
                device=data["device"],
                acknowledge_warnings=data["acknowledge"],
            )
        except DomainError as exc:
            error = exc
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Appointment moved."))
            return redirect("scheduling:detail", appointment.pk)
    return render(
        request,
        "scheduling/move.html",
        {"a": appointment, "form": form},
        status=_status(request, error),
    )


@require("scheduling.book")
def cancel(request: ClinicRequest, appointment_id: uuid.UUID) -> HttpResponse:
    appointment = appointment_for(request, appointment_id, "scheduling.book")
    form = CancelForm(posted(request))
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            services.do_cancel(
                request.user,
                appointment,
                by=form.cleaned_data["cancelled_by"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            error = exc
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Appointment cancelled."))
            return redirect("scheduling:detail", appointment.pk)
    policy = policy_or_default(request.clinic)
    return render(
        request,
        "scheduling/cancel.html",
        {"a": appointment, "form": form, "policy": policy},
        status=_status(request, error),
    )


@require_POST
@require("scheduling.book")
def status(request: ClinicRequest, appointment_id: uuid.UUID, action: str) -> HttpResponse:
    appointment = appointment_for(request, appointment_id, "scheduling.book")
    act = services.STATUS_ACTIONS.get(action)
    if act is None:
        raise Http404("No such action")
    error: DomainError | None = None
    try:
        appointment = act(request.user, appointment)
    except DomainError as exc:
        error = exc
    appointment = appointment_for(request, appointment.pk, "scheduling.book")
    if request.htmx:
        return render(
            request,
            "scheduling/_appointment.html",
            {"a": appointment, "error": error},
            status=error.status if error else 200,
        )
    if error is not None:
        raise error
    if action == "arrive" and appointment.session_id:
        messages.success(request, _("Arrived: the treatment session is open."))
    return redirect(request.POST.get("next") or reverse("scheduling:detail", args=[appointment.pk]))


# --- managers: hours, absences, rooms, devices, types, policy ----------------------------

RESOURCES: dict[str, tuple[type[Any], type[Any], str]] = {
    "hours": (WorkingHours, HoursForm, "hours"),
    "absences": (Absence, AbsenceForm, "absence"),
    "rooms": (Room, RoomForm, "room"),
    "devices": (Device, DeviceForm, "device"),
    "types": (AppointmentType, TypeForm, "type"),
}


@require("scheduling.manage")
def manage(request: ClinicRequest) -> HttpResponse:
    clinic = request.clinic
    forms = {key: form(clinic=clinic, prefix=key) for key, (_m, form, _a) in RESOURCES.items()}
    policy_form = PolicyForm(instance=policy_for(clinic), prefix="policy")
    return _manage_page(request, forms, policy_form)


def _manage_page(
    request: ClinicRequest, forms: dict[str, Any], policy_form: PolicyForm, status: int = 200
) -> HttpResponse:
    clinic = request.clinic
    lists = {
        "hours": WorkingHours.objects.filter(clinic=clinic).select_related("practitioner"),
        "absences": Absence.objects.filter(clinic=clinic).select_related("practitioner"),
        "rooms": Room.objects.filter(clinic=clinic),
        "devices": Device.objects.filter(clinic=clinic),
        "types": AppointmentType.objects.filter(clinic=clinic),
    }
    return render(
        request,
        "scheduling/manage.html",
        {"forms": forms, "lists": lists, "policy_form": policy_form},
        status=status,
    )


@require_POST
@require("scheduling.manage")
def manage_add(request: ClinicRequest, kind: str) -> HttpResponse:
    if kind not in RESOURCES:
        raise Http404("No such list")
    clinic = request.clinic
    _model, form_class, action = RESOURCES[kind]
    forms = {key: f(clinic=clinic, prefix=key) for key, (_m, f, _a) in RESOURCES.items()}
    form = form_class(request.POST, clinic=clinic, prefix=kind)
    forms[kind] = form
    if form.is_valid():
        services.do_save_resource(request.user, clinic, form.save(commit=False), action=action)
        messages.success(request, _("Saved."))
        return redirect("scheduling:manage")
    return _manage_page(
        request, forms, PolicyForm(instance=policy_for(clinic), prefix="policy"), 400
    )


@require_POST
@require("scheduling.manage")
def manage_delete(request: ClinicRequest, kind: str, **ids: int) -> HttpResponse:
    pk = ids.get("hours_id") or ids.get("absence_id")
    model: Any = {"hours": WorkingHours, "absences": Absence}.get(kind)
    if model is None:
        raise Http404("No such list")
    obj = clinic_object_or_404(request, model.objects.all(), pk, "scheduling.manage", kind)
    services.do_delete_resource(request.user, request.clinic, obj)
    return redirect("scheduling:manage")


@require_POST
@require("scheduling.manage")
def manage_policy(request: ClinicRequest) -> HttpResponse:
    clinic = request.clinic
    policy = policy_for(clinic)
    form = PolicyForm(request.POST, instance=policy, prefix="policy")
    if form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        services.do_set_policy(request.user, clinic, values)
        messages.success(request, _("Booking policy saved."))
        return redirect("scheduling:manage")
    policy.refresh_from_db()
    forms = {key: f(clinic=clinic, prefix=key) for key, (_m, f, _a) in RESOURCES.items()}
    return _manage_page(request, forms, form, 400)


@require("scheduling.manage")
def default_types(request: ClinicRequest) -> HttpResponse:
    if request.method == "POST":
        made = services.ensure_default_types(request.user, request.clinic)
        messages.success(request, _("%(n)s appointment types added.") % {"n": len(made)})
    return redirect("scheduling:manage")
