"""Plans, sessions, charting, sign-off, aftercare and follow-ups (views).

Chart-changing views answer htmx with the ``care/_workspace.html`` fragment (map,
brush, entries, totals, live findings, packs, sign-off); without htmx they redirect to
the session page, so every control also works as a plain form.
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
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import has_perm, require
from mesochart.audit.services import record
from mesochart.core.http import ClinicRequest
from mesochart.errors import DomainError, InvalidInput
from mesochart.library.services import library_for
from mesochart.patients.access import patient_for
from mesochart.sterility.models import CycleStatus, Pack, PackStatus, SterileItemLot
from mesochart.stock import services as stock

from . import aftercare, calendar, maps, sessions
from .access import (
    entry_for,
    follow_up_for,
    plan_for,
    session_for,
    session_item_for,
    session_pack_for,
)
from .forms import (
    AddendumForm,
    CancelSessionForm,
    ClosePlanForm,
    FollowUpDoneForm,
    NewSessionForm,
    OverrideForm,
    PlanForm,
)
from .models import EntryKind, SessionStatus, TreatmentSession
from .services import consent_status


def _add_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- plans ------------------------------------------------------------------------------


@login_required
def plan_create(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "plan.manage", with_profile=False)
    today = request.clinic.local_now().date()
    form = PlanForm(request.POST or None, initial={"start": today})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                plan = sessions.do_create_plan(
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
    form = ClosePlanForm(request.POST or None)
    status = 200
    if request.method == "POST":
        plan = plan_for(request, plan_id, "plan.manage")
        status = 400
        if form.is_valid():
            try:
                sessions.do_close_plan(request.user, plan, **form.cleaned_data)
            except DomainError as exc:
                _add_error(form, exc)
                status = exc.status
            else:
                return redirect("care:plan_detail", plan_id=plan.pk)
    course = sessions.plan_schedule(plan)
    had = list(plan.sessions.select_related("signed_by").order_by("scheduled_for"))
    context = {
        "plan": plan,
        "patient": plan.patient,
        "course": course,
        "had": had,
        "protocol": library_for(request.clinic).protocols[plan.protocol],
        "close_form": form,
    }
    return render(request, "care/plan_detail.html", context, status=status)


# --- sessions -----------------------------------------------------------------------------


@login_required
def session_create(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "session.chart", with_profile=False)
    today = request.clinic.local_now().date()
    initial = {"scheduled_for": today, "start_now": True, "protocol": request.GET.get("protocol")}
    form = NewSessionForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                session = sessions.do_create_session(
                    request.user,
                    request.clinic,
                    patient,
                    protocol=data["protocol"],
                    scheduled_for=data["scheduled_for"],
                    notes=data["notes"],
                )
                if data["start_now"]:
                    if data["scheduled_for"] != today:
                        messages.info(request, "Started today, the day it happens.")
                    session = sessions.do_start_session(request.user, session)
            except DomainError as exc:
                _add_error(form, exc)
            else:
                return redirect("care:session", session_id=session.pk)
    return render(
        request, "care/session_new.html", {"form": form, "patient": patient}, status=status
    )


def _workspace(
    request: ClinicRequest,
    session: TreatmentSession,
    *,
    errors: dict[str, str] | None = None,
    blocked: list[str] | None = None,
) -> dict[str, Any]:
    library = library_for(request.clinic)
    entries = sessions.session_entries(session)
    editable = session.status == SessionStatus.IN_PROGRESS
    check = sessions.run_check(session, entries=entries) if editable else None
    findings = check.findings if check else session.check_result.get("findings", [])
    proto = library.protocols[session.protocol]
    views = maps.views_for_zones(proto.zones) or ["face"]
    # Points turn red while a dose or zone block stands (e.g. the 51st DCA point).
    zone_blocks = [
        f for f in findings if f["severity"] == "block" and f["code"].startswith(("dose.", "zone."))
    ]
    blocked_all = any(f["code"].startswith("dose.") for f in zone_blocks)
    paths = sessions.engine_paths(entries)
    blocked_zones = {
        e.zone
        for f in zone_blocks
        for e in entries
        if e.pk in paths and sessions.concerns(f["where"], paths[e.pk])
    }
    points = [
        {
            "id": str(e.pk),
            "x": e.x,
            "y": e.y,
            "zone": e.zone,
            "label": str(n),
            "view": e.view,
            "css_class": "pt-blocked" if e.zone in blocked_zones or blocked_all else "",
        }
        for n, e in enumerate(entries, 1)
        if e.x is not None
    ]
    svgs = [
        {
            "view": v,
            "svg": maps.render_svg(
                v,
                [p for p in points if p["view"] == v],
                highlight_zones=proto.zones,
                interactive=editable and has_perm(request.membership, "session.chart"),
            ),
        }
        for v in views
    ]
    lots = []
    mixtures = []
    if editable:
        codes = list(proto.products)
        for code in codes:
            for lot in stock.fefo_lots(request.clinic, code):
                lots.append(lot)
        for code in proto.mixtures:
            recipe = library.mixtures[code]
            mixtures.append(
                {
                    "code": code,
                    "name": recipe.name,
                    "components": [
                        {"product": c, "lots": stock.fefo_lots(request.clinic, c)}
                        for c in recipe.components
                    ],
                }
            )
    return {
        "session": session,
        "patient": session.patient,
        "protocol": proto,
        "library": library,
        "entries": entries,
        "totals": sessions.totals(session, entries),
        "check": check,
        "findings": findings,
        "verdict": check.verdict if check else session.check_result.get("verdict"),
        "maps": svgs,
        "lots": lots,
        "mixtures": mixtures,
        "preparations": list(session.preparations.all()),
        "techniques": [library.techniques[t] for t in proto.techniques],
        "kinds": [
            (k.value, k.label)
            for k in EntryKind
            if any(library.techniques[t].kind == k.value for t in proto.techniques)
        ],
        "devices": sorted(
            {d for t in proto.techniques for d in library.techniques[t].device_codes}
        ),
        "zones": [library.zones[z] for z in proto.zones],
        "packs": list(session.packs.select_related("pack__cycle")),
        "items": list(session.items.select_related("item_lot")),
        "available_packs": list(
            Pack.objects.filter(
                clinic=request.clinic,
                status=PackStatus.AVAILABLE,
                cycle__status=CycleStatus.RELEASED,
            )
            .exclude(expires_on__lt=request.clinic.local_now().date())
            .order_by("expires_on", "code")[:50]
        )
        if editable
        else [],
        "item_lots": list(
            SterileItemLot.objects.filter(clinic=request.clinic).order_by("product", "lot")
        )
        if editable
        else [],
        "supplies": _supplies(session, entries),
        "editable": editable,
        "consent": consent_status(session.patient, session.protocol),
        "errors": errors or {},
        "blocked": blocked or [],
        "can_sign": has_perm(request.membership, "session.sign"),
        "can_chart": has_perm(request.membership, "session.chart"),
        "can_override": has_perm(request.membership, "session.override"),
        "next_url": reverse("care:session", args=[session.pk]),
    }


def _supplies(session: TreatmentSession, entries: list[Any]) -> list[dict[str, Any]]:
    """Supply rows with the volume charted from each lot, so the clinician can count the
    vials or syringes it took."""
    charted: dict[Any, Any] = {}
    for e in entries:
        if e.lot_id and e.total_ml is not None:
            charted[e.lot_id] = charted.get(e.lot_id, 0) + e.total_ml
    return [
        {"row": s, "lot": s.lot, "quantity": s.quantity, "ml": charted.get(s.lot_id)}
        for s in session.supplies.select_related("lot")
    ]


@login_required
def session_detail(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.view")
    context = _workspace(request, session)
    context.update(
        {
            "overrides": list(session.overrides.select_related("by")),
            "addenda": list(session.addenda.select_related("author")),
            "follow_ups": list(session.follow_ups.all()),
            "addendum_form": AddendumForm(),
            "cancel_form": CancelSessionForm(),
            "override_form": OverrideForm(),
        }
    )
    return render(request, "care/session.html", context)


def _chart_response(
    request: ClinicRequest,
    session: TreatmentSession,
    exc: DomainError | None = None,
) -> HttpResponse:
    """The workspace fragment for htmx (400 with the error beside its field), else a
    redirect to the session page with the error as a message."""
    if request.htmx:
        errors = {(exc.field or "__all__"): exc.message} if exc else {}
        blocked = getattr(exc, "reasons", None)
        context = _workspace(
            request, TreatmentSession.objects.get(pk=session.pk), errors=errors, blocked=blocked
        )
        return render(request, "care/_workspace.html", context, status=exc.status if exc else 200)
    if exc is not None:
        messages.error(request, f"{exc.field or 'session'}: {exc.message}")
        for reason in getattr(exc, "reasons", []):
            messages.error(request, reason)
    return redirect("care:session", session_id=session.pk)


def _chart_action(
    request: ClinicRequest, session: TreatmentSession, action: Callable[[], object]
) -> HttpResponse:
    """Run one charting service; answer with the workspace (or its error beside the field)."""
    try:
        action()
    except DomainError as exc:
        return _chart_response(request, session, exc)
    return _chart_response(request, session)


@require_POST
@login_required
def session_start(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    try:
        sessions.do_start_session(request.user, session)
    except DomainError as exc:
        return _chart_response(request, session, exc)
    return redirect("care:session", session_id=session.pk)


@require_POST
@login_required
def session_brush(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    data = request.POST.dict()
    return _chart_action(
        request, session, lambda: sessions.do_set_brush(request.user, session, data)
    )


@require_POST
@login_required
def point_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    post = request.POST
    return _chart_action(
        request,
        session,
        lambda: sessions.do_add_point(
            request.user, session, view=post.get("view", ""), x=post.get("x"), y=post.get("y")
        ),
    )


@require_POST
@login_required
def entry_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    data = request.POST.dict()
    return _chart_action(
        request, session, lambda: sessions.do_add_zone_entry(request.user, session, data)
    )


@require_POST
@login_required
def entry_move(request: ClinicRequest, entry_id: uuid.UUID) -> HttpResponse:
    entry = entry_for(request, entry_id, "session.chart")
    post = request.POST
    return _chart_action(
        request,
        entry.session,
        lambda: sessions.do_move_point(
            request.user,
            entry,
            view=post.get("view", entry.view),
            x=post.get("x"),
            y=post.get("y"),
        ),
    )


@require_POST
@login_required
def entry_delete(request: ClinicRequest, entry_id: uuid.UUID) -> HttpResponse:
    entry = entry_for(request, entry_id, "session.chart")
    return _chart_action(
        request, entry.session, lambda: sessions.do_delete_entry(request.user, entry)
    )


@require_POST
@login_required
def supply_set(request: ClinicRequest, session_id: uuid.UUID, lot_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    quantity = request.POST.get("quantity")
    return _chart_action(
        request, session, lambda: sessions.do_set_supply(request.user, session, lot_id, quantity)
    )


@require_POST
@login_required
def mixture_prepare(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    lots = request.POST.getlist("component_lot")
    quantities = request.POST.getlist("component_quantity")
    if not any(lots) or len(lots) != len(quantities):
        error = InvalidInput("Choose a lot and a quantity for each component.", field="components")
        return _chart_response(request, session, error)
    mixture = request.POST.get("mixture", "")
    components = dict(zip(lots, quantities, strict=True))
    return _chart_action(
        request,
        session,
        lambda: sessions.do_prepare_mixture(request.user, session, mixture, components),
    )


@require_POST
@login_required
def pack_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    code = request.POST.get("pack", "")
    return _chart_action(
        request, session, lambda: sessions.do_add_pack(request.user, session, code)
    )


@require_POST
@login_required
def pack_remove(request: ClinicRequest, row_id: uuid.UUID) -> HttpResponse:
    row = session_pack_for(request, row_id, "session.chart")
    return _chart_action(request, row.session, lambda: sessions.do_remove_pack(request.user, row))


@require_POST
@login_required
def item_add(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.chart")
    item_lot, serial = request.POST.get("item_lot"), request.POST.get("serial", "")
    return _chart_action(
        request, session, lambda: sessions.do_add_item(request.user, session, item_lot, serial)
    )


@require_POST
@login_required
def item_remove(request: ClinicRequest, item_id: uuid.UUID) -> HttpResponse:
    row = session_item_for(request, item_id, "session.chart")
    return _chart_action(request, row.session, lambda: sessions.do_remove_item(request.user, row))


@require_POST
@login_required
def session_override(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.override")
    form = OverrideForm(request.POST)
    if not form.is_valid():
        field, errs = next(iter(form.errors.items()))
        return _chart_response(request, session, InvalidInput(str(errs[0]), field=field))
    return _chart_action(
        request, session, lambda: sessions.do_override(request.user, session, **form.cleaned_data)
    )


@require_POST
@login_required
def session_sign(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.sign")
    try:
        sessions.do_sign_session(request.user, request.membership, session)
    except DomainError as exc:
        return _chart_response(request, session, exc)
    messages.success(request, "Session signed: stock and packs recorded, follow-ups created.")
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
        sessions.do_cosign(request.user, request.membership, session)
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
            sessions.do_cancel_session(request.user, session, form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "reason: say why the session is cancelled.")
    return redirect("care:session", session_id=session.pk)


@require_POST
@login_required
def session_addendum(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.addendum")
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            sessions.do_add_addendum(request.user, session, form.cleaned_data["text"])
        except DomainError as exc:
            messages.error(request, f"text: {exc.message}")
    else:
        messages.error(request, "text: the addendum may not be empty.")
    return redirect(reverse("care:session", args=[session.pk]) + "#addenda")


# --- aftercare and calendar ----------------------------------------------------------------


@login_required
def session_aftercare(request: ClinicRequest, session_id: uuid.UUID) -> HttpResponse:
    session = session_for(request, session_id, "session.view")
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
    name = f"aftercare-{session.patient.mrn}-{sessions.session_day(session):%Y%m%d}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def patient_calendar(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "session.view", with_profile=False)
    body = calendar.patient_ics(patient, request.get_host())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointments-{patient.mrn}.ics"'
    return response


# --- follow-ups ------------------------------------------------------------------------------


@require("followup.view")
def follow_up_list(request: ClinicRequest) -> HttpResponse:
    today = request.clinic.local_now().date()
    board = sessions.follow_up_board(request.clinic, today)
    return render(request, "care/follow_ups.html", {"board": board, "today": today})


@require_POST
@login_required
def follow_up_done(request: ClinicRequest, follow_up_id: uuid.UUID) -> HttpResponse:
    follow_up = follow_up_for(request, follow_up_id, "followup.manage")
    form = FollowUpDoneForm(request.POST)
    if form.is_valid():
        try:
            sessions.do_complete_follow_up(request.user, follow_up, form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, exc.message)
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect("care:follow_ups")
