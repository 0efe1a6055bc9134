"""Plans, prescriptions, sessions, charting, sign-off, aftercare and follow-ups (views).

Chart-changing views answer the charting screen (``HX-Request``) with the workspace
fragment, whatever the outcome: on a refusal with the error beside the field it names,
the status of the refusal (400, 403, 409) and the values the server holds. Without htmx
they redirect to the session page with the error as a message, so every control also
works as a plain form.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import require
from mesochart.audit.services import record, record_read
from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError, InvalidInput
from mesochart.library.services import library_for
from mesochart.patients.access import patient_for

from . import aftercare, calendar
from .access import (
    entry_for,
    follow_up_for,
    plan_for,
    prescription_for,
    session_for,
    session_item_for,
    session_pack_for,
    session_vial_for,
)
from .forms import (
    AddendumForm,
    BrushForm,
    CancelSessionForm,
    ClosePlanForm,
    EntryEditForm,
    FollowUpDoneForm,
    ItemForm,
    MixtureForm,
    NewSessionForm,
    OverrideForm,
    PlanForm,
    PrescriptionForm,
    RevokePrescriptionForm,
    SupplyForm,
    ZoneEntryForm,
    first_errors,
    map_points,
)
from .models import SessionStatus, TreatmentSession
from .services import charting, followups, lifecycle, plans, signing
from .workspace import planned_context, workspace


def _add_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _safe_next(request: ClinicRequest, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


# --- plans and prescriptions ---------------------------------------------------------------


@login_required
def plan_create(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "plan.manage", with_profile=False)
    form = PlanForm(posted(request), initial={"start": request.clinic.today()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                plan = plans.do_create_plan(
                    request.user, request.clinic, patient, **form.cleaned_data
                )
            except DomainError as exc:
                _add_error(form, exc)
            else:
                return redirect("care:plan_detail", plan_id=plan.pk)
    return render(request, "care/plan_form.html", {"form": form, "patient": patient}, status=status)


@login_required
def plan_detail(request: ClinicRequest, plan_id: uuid.UUID) -> HttpResponse:
    plan = plan_for(request, plan_id, "session.view")
    if request.method == "GET":
        record_read(request, plan)
    form = ClosePlanForm(posted(request))
    status = 200
    if request.method == "POST":
        plan = plan_for(request, plan_id, "plan.manage")
        status = 400
        if form.is_valid():
            try:
                plans.do_close_plan(request.user, plan, **form.cleaned_data)
            except DomainError as exc:
                _add_error(form, exc)
                status = exc.status
            else:
                return redirect("care:plan_detail", plan_id=plan.pk)
    library = library_for(request.clinic)
    context = {
        "plan": plan,
        "patient": plan.patient,
        "course": plans.plan_schedule(plan),
        "had": list(plan.sessions.select_related("signed_by").order_by("scheduled_for")),
        "protocol": library.protocols[plan.protocol],
        "close_form": form,
        "prescription_needed": plans.needs_prescription(library, plan.protocol),
        "prescriptions": list(plan.prescriptions.select_related("prescribed_by", "revoked_by")),
    }
    return render(request, "care/plan_detail.html", context, status=status)


@login_required
def prescription_create(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    """A prescriber prescribes a prescription-only protocol for the patient, for a plan or
    for the planned session they came from (``?protocol=``, ``?plan=``, ``?next=``)."""
    patient = patient_for(request, patient_id, "prescription.write", with_profile=False)
    library = library_for(request.clinic)
    protocol = request.POST.get("protocol") or request.GET.get("protocol") or ""
    if protocol not in library.protocols or not plans.needs_prescription(library, protocol):
        raise InvalidInput(
            _("Choose a protocol that uses a prescription-only medicine."), field="protocol"
        )
    plan = None
    plan_id = request.POST.get("plan") or request.GET.get("plan") or ""
    if plan_id:
        try:
            plan = plan_for(request, uuid.UUID(plan_id), "prescription.write")
        except ValueError:
            raise InvalidInput(_("No such plan."), field="plan") from None
    proto = library.protocols[protocol]
    limits = plans.label_limits(library, protocol)
    initial: dict[str, Any] = {
        "products": list(plans.prescription_products(library, (*proto.products, *proto.mixtures))),
        "zones": list(proto.zones),
        "sessions": 1,
    }
    if "max_volume_ml" in limits:
        initial["max_volume_ml"] = f"{limits['max_volume_ml'].number:g}"
    if "max_points" in limits:
        initial["max_points"] = int(limits["max_points"].number)
    form = PrescriptionForm(posted(request), library=library, protocol=protocol, initial=initial)
    back = _safe_next(request, reverse("patients:chart", args=[patient.pk]))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                plans.do_prescribe(
                    request.user, request.membership, patient, protocol, form.draft(), plan=plan
                )
            except DomainError as exc:
                _add_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Prescription recorded: the session may start."))
                return redirect(back)
    context = {
        "form": form,
        "patient": patient,
        "protocol": proto,
        "plan": plan,
        "limits": limits,
        "next": back,
    }
    return render(request, "care/prescription_form.html", context, status=status)


@require_POST
@login_required
def prescription_revoke(request: ClinicRequest, prescription_id: uuid.UUID) -> HttpResponse:
    rx = prescription_for(request, prescription_id, "prescription.write")
    form = RevokePrescriptionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Reason: say why the prescription is revoked."))
    else:
        try:
            plans.do_revoke_prescription(
                request.user, request.membership, rx, form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect(_safe_next(request, reverse("patients:chart", args=[rx.patient_id])))


# --- sessions -----------------------------------------------------------------------------


@login_required
def session_create(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "session.chart", with_profile=False)
    today = request.clinic.today()
    initial = {"scheduled_for": today, "start_now": True, "protocol": request.GET.get("protocol")}
    form = NewSessionForm(posted(request), initial=initial, today=today)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                session = lifecycle.do_create_session(
                    request.user,
                    request.clinic,
                    patient,
                    protocol=data["protocol"],
                    scheduled_for=data["scheduled_for"],
                    notes=data["notes"],
                )
            except DomainError as exc:
                _add_error(form, exc)
            else:
                if data["start_now"]:
                    try:
                        lifecycle.do_start_session(request.user, session)
                    except DomainError as exc:
                        messages.error(request, exc.message)
                return redirect("care:session", session_id=session.pk)
    context = {"form": form, "patient": patient, "today": today}
    return render(request, "care/session_new.html", context, status=status)


def _fresh(session: TreatmentSession) -> TreatmentSession:
    """The session as it is now, with what the workspace reads of it (one query)."""
    return TreatmentSession.objects.select_related(
        "patient__profile", "clinic", "plan", "prescription__prescribed_by"
    ).get(pk=session.pk)


def _session_of(result: object) -> TreatmentSession | None:
    """The session a charting service locked and changed, when its result carries it (so
    the workspace does not read the row a third time)."""
    if isinstance(result, TreatmentSession):
        return result
    if isinstance(result, charting.AddedPoints) and result.entries:
        result = result.entries[0]
    descriptor = getattr(type(result), "session", None)
    if descriptor is not None and hasattr(descriptor, "is_cached") and descriptor.is_cached(result):
        cached = result.session  # type: ignore[attr-defined]
        return cached if isinstance(cached, TreatmentSession) else None
    return None


def _chart_response(
    request: ClinicRequest,
    session: TreatmentSession,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    blocked: list[str] | None = None,
    notice: str = "",
    changed: TreatmentSession | None = None,
) -> HttpResponse:
    """The workspace fragment for the charting screen (the refusal's status and the error
    beside its field), else a redirect to the session page with the error as a message.
    ``changed``: the session as the service left it, when it is at hand."""
    if request.htmx:
        context = workspace(
            changed or _fresh(session),
            request.membership,
            errors=errors,
            blocked=blocked,
            notice=notice,
        )
        return render(request, "care/_workspace.html", context, status=status)
    for name, message in (errors or {}).items():
        messages.error(request, message if name == "general" else f"{name}: {message}")
    for reason in blocked or []:
        messages.error(request, reason)
    if notice:
        messages.info(request, notice)
    return redirect("care:session", session_id=session.pk)


def _chart_action(
    request: ClinicRequest, session: TreatmentSession, action: Callable[[], object]
) -> HttpResponse:
    """Run one charting service; answer with the workspace, or its refusal beside the field."""
    try:
        result = action()
    except DomainError as exc:
        return _chart_response(
            request,
            session,
            errors={exc.field or "general": exc.message},
            status=exc.status,
            blocked=getattr(exc, "reasons", None),
        )
    return _chart_response(request, session, changed=_session_of(result))


def _form_refused(request: ClinicRequest, session: TreatmentSession, form: Any) -> HttpResponse:
    return _chart_response(request, session, errors=first_errors(form), status=400)


@login_required
def session_detail(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.view")
    record_read(request, session)
    context = workspace(session, request.membership)
    context.update(
        {
            "overrides": list(session.overrides.select_related("by")),
            "addenda": list(session.addenda.select_related("author")),
            "follow_ups": list(session.follow_ups.all()),
            "addendum_form": AddendumForm(),
            "cancel_form": CancelSessionForm(),
        }
    )
    if session.status == SessionStatus.PLANNED:
        context.update(planned_context(session, request.membership))
    return render(request, "care/session.html", context)


@require_POST
@login_required
def session_start(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    try:
        lifecycle.do_start_session(request.user, session)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("care:session", session_id=session.pk)


@require_POST
@login_required
def session_brush(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    form = BrushForm(request.POST, session=session, library=library_for(request.clinic))
    if not form.is_valid():
        return _form_refused(request, session, form)
    return _chart_action(
        request, session, lambda: charting.do_set_brush(request.user, session, form.brush())
    )


@require_POST
@login_required
def point_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    """One click, or the clicks queued while the previous request was in flight."""
    session = session_for(request, session_id, "session.chart")
    try:
        added = charting.do_add_points(request.user, session, map_points(request.POST))
    except DomainError as exc:
        return _chart_response(
            request, session, errors={exc.field or "map": exc.message}, status=exc.status
        )
    errors = {"map": added.message} if added.refused else None
    return _chart_response(request, session, errors=errors, changed=_session_of(added))


@require_POST
@login_required
def entry_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    form = ZoneEntryForm(
        request.POST, library=library_for(request.clinic), protocol=session.protocol
    )
    if not form.is_valid():
        return _form_refused(request, session, form)
    data = form.cleaned_data
    return _chart_action(
        request,
        session,
        lambda: charting.do_add_zone_entry(
            request.user, session, zone=data["zone"], points=data["points"], note=data["note"]
        ),
    )


@require_POST
@login_required
def entries_edit(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    """New volume, depth, needle, technique or lot for selected points or a whole zone."""
    session = session_for(request, session_id, "session.chart")
    form = EntryEditForm(request.POST, session=session, library=library_for(request.clinic))
    if not form.is_valid():
        return _form_refused(request, session, form)
    return _chart_action(
        request,
        session,
        lambda: charting.do_update_entries(
            request.user,
            session,
            form.changes(),
            entry_ids=form.entry_ids,
            zone=form.cleaned_data.get("zone", ""),
        ),
    )


@require_POST
@login_required
def entry_move(request: ClinicRequest, entry_id: uuid.UUID) -> HttpResponse:
    entry = entry_for(request, entry_id, "session.chart")

    def move() -> object:
        points = map_points(request.POST)
        if len(points) != 1:
            raise InvalidInput(_("Move one point at a time."), field="map")
        return charting.do_move_point(request.user, entry, points[0])

    return _chart_action(request, entry.session, move)


@require_POST
@login_required
def entry_delete(request: ClinicRequest, entry_id: uuid.UUID) -> HttpResponse:
    entry = entry_for(request, entry_id, "session.chart")
    return _chart_action(
        request, entry.session, lambda: charting.do_delete_entry(request.user, entry)
    )


@require_POST
@login_required
def supply_set(request: ClinicRequest, session_id: uuid.UUID, lot_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    form = SupplyForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, session, form)
    quantity = form.cleaned_data["quantity"]
    return _chart_action(
        request, session, lambda: charting.do_set_supply(request.user, session, lot_id, quantity)
    )


@require_POST
@login_required
def mixture_prepare(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    form = MixtureForm(request.POST, session=session)
    if not form.is_valid():
        errors = first_errors(form)
        if "general" in errors:
            errors = {"components": errors.pop("general"), **errors}
        return _chart_response(request, session, errors=errors, status=400)
    mixture = form.cleaned_data["mixture"]
    return _chart_action(
        request,
        session,
        lambda: charting.do_prepare_mixture(request.user, session, mixture, form.components),
    )


@require_POST
@login_required
def pack_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    code = request.POST.get("pack", "")
    return _chart_action(
        request, session, lambda: charting.do_add_pack(request.user, session, code)
    )


@require_POST
@login_required
def pack_remove(request: ClinicRequest, row_id: uuid.UUID) -> HttpResponse:
    row = session_pack_for(request, row_id, "session.chart")
    return _chart_action(request, row.session, lambda: charting.do_remove_pack(request.user, row))


@require_POST
@login_required
def item_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    form = ItemForm(request.POST, clinic=request.clinic)
    if not form.is_valid():
        return _form_refused(request, session, form)
    item_lot, serial = form.cleaned_data["item_lot"], form.cleaned_data["serial"]
    return _chart_action(
        request, session, lambda: charting.do_add_item(request.user, session, item_lot, serial)
    )


@require_POST
@login_required
def item_remove(request: ClinicRequest, item_id: uuid.UUID) -> HttpResponse:
    row = session_item_for(request, item_id, "session.chart")
    return _chart_action(request, row.session, lambda: charting.do_remove_item(request.user, row))


@require_POST
@login_required
def vial_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    choice = request.POST.get("vial", "")
    return _chart_action(
        request, session, lambda: charting.do_add_vial(request.user, session, choice)
    )


@require_POST
@login_required
def vial_remove(request: ClinicRequest, row_id: uuid.UUID) -> HttpResponse:
    row = session_vial_for(request, row_id, "session.chart")
    return _chart_action(request, row.session, lambda: charting.do_remove_vial(request.user, row))


@require_POST
@login_required
def session_override(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.override")
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, session, form)
    return _chart_action(
        request,
        session,
        lambda: charting.do_override(
            request.user,
            session,
            code=form.cleaned_data["code"],
            wheres=form.wheres,
            reason=form.cleaned_data["reason"],
        ),
    )


@require_POST
@login_required
def session_sign(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.sign")
    try:
        signing.do_sign_session(request.user, request.membership, session)
    except DomainError as exc:
        return _chart_response(
            request,
            session,
            errors={"session": exc.message},
            status=exc.status,
            blocked=getattr(exc, "reasons", None),
        )
    messages.success(request, _("Session signed: stock and packs recorded, follow-ups created."))
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("care:session", args=[session.pk])
        return response
    return redirect("care:session", session_id=session.pk)


@require_POST
@login_required
def session_cosign(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.cosign")
    try:
        signing.do_cosign(request.user, request.membership, session)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("care:session", session_id=session.pk)


@require_POST
@login_required
def session_cancel(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    form = CancelSessionForm(request.POST)
    if form.is_valid():
        try:
            lifecycle.do_cancel_session(request.user, session, form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Reason: say why the session is cancelled."))
    return redirect("care:session", session_id=session.pk)


@require_POST
@login_required
def session_addendum(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.addendum")
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            signing.do_add_addendum(request.user, session, form.cleaned_data["text"])
        except DomainError as exc:
            messages.error(request, f"text: {exc.message}")
    else:
        messages.error(request, _("Text: the addendum may not be empty."))
    return redirect(reverse("care:session", args=[session.pk]) + "#addenda")


# --- aftercare and calendar ----------------------------------------------------------------


@login_required
def session_aftercare(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.view")
    record_read(request, session, page="aftercare")
    sheet = aftercare.sheet_for(session)
    return render(
        request,
        "care/aftercare.html",
        {"session": session, "patient": session.patient, "sheet": sheet},
    )


@login_required
def session_aftercare_pdf(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.view")
    pdf = aftercare.render_pdf(session)
    record("session.aftercare_pdf", actor=request.user, clinic=request.clinic, obj=session)
    name = f"aftercare-{session.patient.mrn}-{session.day:%Y%m%d}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def patient_calendar(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "session.view", with_profile=False)
    record_read(request, patient, page="calendar")
    body = calendar.patient_ics(patient, request.get_host())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointments-{patient.mrn}.ics"'
    return response


# --- follow-ups ------------------------------------------------------------------------------


@require("followup.view")
def follow_up_list(request: ClinicRequest) -> HttpResponse:
    today = request.clinic.today()
    board = followups.follow_up_board(request.clinic, today)
    record_read(request, "follow_ups", day=today.isoformat())
    return render(request, "care/follow_ups.html", {"board": board, "today": today})


@require_POST
@login_required
def follow_up_done(request: ClinicRequest, follow_up_id: uuid.UUID) -> HttpResponse:
    follow_up = follow_up_for(request, follow_up_id, "followup.manage")
    form = FollowUpDoneForm(request.POST)
    if form.is_valid():
        try:
            followups.do_complete_follow_up(request.user, follow_up, form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect(_safe_next(request, reverse("care:follow_ups")))
