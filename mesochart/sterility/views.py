"""Sterility pages: decorators -> access gate -> form -> one service call -> render/redirect."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import check_perm, require
from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError

from . import services
from .access import cycle_for, item_lot_for, pack_for, steriliser_for, visible
from .forms import (
    BiResultForm,
    BowieDickForm,
    CycleForm,
    ItemLotForm,
    ItemUseForm,
    PackForm,
    PatientByMrnForm,
    RejectForm,
    ShelfLifeForm,
    SteriliserForm,
    add_domain_error,
)
from .models import (
    BiResult,
    BowieDickTest,
    Cycle,
    CycleStatus,
    Pack,
    PackStatus,
    PackUse,
    SingleUseItemUse,
    SterileItemLot,
    Steriliser,
    SterilityPolicy,
)

CYCLES_PAGE_SIZE = 50
BI_INTERVAL = timedelta(days=7)  # reference §9.3: BI at least weekly


def _status(request: ClinicRequest) -> int:
    return 400 if request.method == "POST" else 200


# --- overview and sterilisers ----------------------------------------------------


@require("sterility.view")
def index(request: ClinicRequest) -> HttpResponse:
    today = request.clinic.today()
    sterilisers = list(
        visible(request, Steriliser.objects.all())
        .annotate(last_bi_pass=Max("cycles__started_at", filter=Q(cycles__bi_result=BiResult.PASS)))
        .order_by("-active", "name")
    )
    tests = visible(request, BowieDickTest.objects.filter(day=today)).order_by("performed_at")
    bowie_dick = {t.steriliser_id: t for t in tests}  # the day's latest test per steriliser
    now = timezone.now()
    for steriliser in sterilisers:
        steriliser.today_bowie_dick = bowie_dick.get(steriliser.pk)  # type: ignore[attr-defined]
        steriliser.bi_overdue = (  # type: ignore[attr-defined]
            steriliser.last_bi_pass is None or now - steriliser.last_bi_pass > BI_INTERVAL
        )
    waiting = visible(
        request,
        Cycle.objects.filter(status__in=[CycleStatus.RECORDED, CycleStatus.QUARANTINED]),
    ).select_related("steriliser", "operator")[:100]
    suspect = visible(request, Pack.objects.filter(status=PackStatus.SUSPECT)).select_related(
        "cycle__steriliser", "suspect_cycle", "use__patient"
    )[:100]
    return render(
        request,
        "sterility/index.html",
        {
            "sterilisers": sterilisers,
            "waiting": waiting,
            "suspect": suspect,
            "today": today,
            "policy": SterilityPolicy.objects.filter(clinic=request.clinic).first(),
        },
    )


@require("sterility.manage")
def steriliser_new(request: ClinicRequest) -> HttpResponse:
    form = SteriliserForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            steriliser = services.do_create_steriliser(
                request.user, request.clinic, form.cleaned_data
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("sterility:steriliser", steriliser_id=steriliser.pk)
    return render(request, "sterility/steriliser_new.html", {"form": form}, status=_status(request))


@login_required
def steriliser_detail(request: ClinicRequest, steriliser_id: uuid.UUID) -> HttpResponse:
    steriliser = steriliser_for(request, steriliser_id, "sterility.view")
    cycles = (
        steriliser.cycles.select_related("operator", "released_by")
        .annotate(pack_count=Count("packs"))
        .order_by("-started_at")[:CYCLES_PAGE_SIZE]
    )
    tests = steriliser.bowie_dick_tests.select_related("operator")[:30]
    context = {"steriliser": steriliser, "cycles": cycles, "tests": tests}
    return render(request, "sterility/steriliser.html", context)


@login_required
def steriliser_edit(request: ClinicRequest, steriliser_id: uuid.UUID) -> HttpResponse:
    steriliser = steriliser_for(request, steriliser_id, "sterility.manage")
    form = SteriliserForm(posted(request), instance=steriliser)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_update_steriliser(request.user, steriliser, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("sterility:steriliser", steriliser_id=steriliser.pk)
    steriliser.refresh_from_db()  # the bound form changed the instance in memory
    context = {"form": form, "steriliser": steriliser}
    return render(request, "sterility/steriliser_edit.html", context, status=_status(request))


@login_required
def bowie_dick_new(request: ClinicRequest, steriliser_id: uuid.UUID) -> HttpResponse:
    steriliser = steriliser_for(request, steriliser_id, "sterility.record")
    form = BowieDickForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.do_record_bowie_dick(request.user, steriliser, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Bowie-Dick test recorded for {steriliser.name}.")
            return redirect("sterility:steriliser", steriliser_id=steriliser.pk)
    context = {"form": form, "steriliser": steriliser}
    return render(request, "sterility/bowie_dick_new.html", context, status=_status(request))


@require("sterility.manage")
def policy_edit(request: ClinicRequest) -> HttpResponse:
    policy = SterilityPolicy.objects.filter(clinic=request.clinic).first()
    days = policy.pack_shelf_life_days if policy else None
    form = ShelfLifeForm(posted(request), initial={"pack_shelf_life_days": days})
    if request.method == "POST" and form.is_valid():
        services.do_set_shelf_life(
            request.user, request.clinic, form.cleaned_data["pack_shelf_life_days"]
        )
        return redirect("sterility:index")
    return render(request, "sterility/policy.html", {"form": form}, status=_status(request))


# --- cycles ----------------------------------------------------------------------


@require("sterility.view")
def cycle_list(request: ClinicRequest) -> HttpResponse:
    cycles = (
        visible(request, Cycle.objects.all())
        .select_related("steriliser", "operator", "released_by")
        .annotate(pack_count=Count("packs"))
        .order_by("-started_at", "-number")
    )
    page = Paginator(cycles, CYCLES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sterility/cycles.html", {"page": page})


@login_required
def cycle_new(request: ClinicRequest, steriliser_id: uuid.UUID) -> HttpResponse:
    steriliser = steriliser_for(request, steriliser_id, "sterility.record")
    initial: dict[str, Any] = {"started_at": timezone.localtime().replace(second=0)}
    last = steriliser.cycles.order_by("-number").values_list("number", flat=True).first()
    if last:
        initial["number"] = last + 1
    form = CycleForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            cycle = services.do_record_cycle(request.user, steriliser, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("sterility:cycle", cycle_id=cycle.pk)
    context = {"form": form, "steriliser": steriliser}
    return render(request, "sterility/cycle_new.html", context, status=_status(request))


def _cycle_page(
    request: ClinicRequest,
    cycle: Cycle,
    status: int = 200,
    template: str = "sterility/cycle.html",
    **forms: Any,
) -> HttpResponse:
    today = request.clinic.today()
    packs = [(p, p.state(today)) for p in cycle.packs.select_related("use__patient", "cycle")]
    context = {
        "cycle": cycle,
        "packs": packs,
        "blockers": services.release_blockers(cycle),
        "bi_form": forms.get("bi_form") or BiResultForm(initial={"lot": cycle.bi_lot}),
        "pack_form": forms.get("pack_form") or PackForm(),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "release_error": forms.get("release_error"),
        "outcome": forms.get("outcome"),
    }
    return render(request, template, context, status=status)


@login_required
def cycle_detail(request: ClinicRequest, cycle_id: uuid.UUID) -> HttpResponse:
    return _cycle_page(request, cycle_for(request, cycle_id, "sterility.view"))


@require_POST
@login_required
def cycle_release(request: ClinicRequest, cycle_id: uuid.UUID) -> HttpResponse:
    cycle = cycle_for(request, cycle_id, "sterility.release")
    try:
        services.do_release_cycle(request.user, cycle)
    except DomainError as exc:
        cycle.refresh_from_db()
        return _cycle_page(request, cycle, exc.status, release_error=exc)
    messages.success(request, f"Cycle {cycle.number} released.")
    return redirect("sterility:cycle", cycle_id=cycle.pk)


@require_POST
@login_required
def cycle_reject(request: ClinicRequest, cycle_id: uuid.UUID) -> HttpResponse:
    cycle = cycle_for(request, cycle_id, "sterility.release")
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.do_fail_cycle(request.user, cycle, form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
            return _cycle_page(request, cycle, exc.status, reject_form=form)
        return redirect("sterility:cycle", cycle_id=cycle.pk)
    return _cycle_page(request, cycle, 400, reject_form=form)


@require_POST
@login_required
def cycle_bi(request: ClinicRequest, cycle_id: uuid.UUID) -> HttpResponse:
    cycle = cycle_for(request, cycle_id, "sterility.record")
    form = BiResultForm(request.POST)
    if form.is_valid():
        try:
            outcome = services.do_record_bi_result(
                request.user, cycle, form.cleaned_data["result"], form.cleaned_data["lot"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return _cycle_page(request, cycle, exc.status, bi_form=form)
        if outcome.suspect_packs:
            cycle.refresh_from_db()
            return _cycle_page(request, cycle, outcome=outcome)
        return redirect("sterility:cycle", cycle_id=cycle.pk)
    return _cycle_page(request, cycle, 400, bi_form=form)


# --- packs -----------------------------------------------------------------------


@require_POST
@login_required
def pack_new(request: ClinicRequest, cycle_id: uuid.UUID) -> HttpResponse:
    cycle = cycle_for(request, cycle_id, "sterility.record")
    form = PackForm(request.POST)
    if form.is_valid():
        try:
            packs = services.do_create_packs(request.user, cycle, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            template = "sterility/_packs.html" if request.htmx else "sterility/cycle.html"
            return _cycle_page(request, cycle, exc.status, template=template, pack_form=form)
        if request.htmx:
            return _cycle_page(request, cycle, template="sterility/_packs.html")
        messages.success(request, f"Labelled {', '.join(p.code for p in packs)}.")
        return redirect("sterility:cycle", cycle_id=cycle.pk)
    template = "sterility/_packs.html" if request.htmx else "sterility/cycle.html"
    return _cycle_page(request, cycle, 400, template=template, pack_form=form)


@login_required
def pack_detail(request: ClinicRequest, pack_id: uuid.UUID) -> HttpResponse:
    pack = pack_for(request, pack_id, "sterility.view")
    use = PackUse.objects.select_related("patient", "used_by").filter(pack=pack).first()
    context = {"pack": pack, "use": use, "state": pack.state(request.clinic.today())}
    return render(request, "sterility/pack.html", context)


def qr_svg(text: str) -> str:
    """An inline SVG QR code (standard QR, error correction M)."""
    return segno.make_qr(text, error="m").svg_inline(scale=4, title=text)


@login_required
def pack_label(request: ClinicRequest, pack_id: uuid.UUID) -> HttpResponse:
    pack = pack_for(request, pack_id, "sterility.view")
    context = {"pack": pack, "qr": mark_safe(qr_svg(pack.code))}
    return render(request, "sterility/pack_label.html", context)


@login_required
def cycle_labels(request: ClinicRequest, cycle_id: uuid.UUID) -> HttpResponse:
    cycle = cycle_for(request, cycle_id, "sterility.view")
    packs = [(p, mark_safe(qr_svg(p.code))) for p in cycle.packs.all()]
    return render(request, "sterility/cycle_labels.html", {"cycle": cycle, "labels": packs})


@login_required
def pack_use(request: ClinicRequest, pack_id: uuid.UUID) -> HttpResponse:
    pack = pack_for(request, pack_id, "sterility.record")
    check_perm(request, "patient.view")
    form = PatientByMrnForm(posted(request), clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_use_pack(
                request.user,
                request.clinic,
                pack,
                form.cleaned_data["patient"],
                form.cleaned_data["used_at"],
                form.cleaned_data["session_ref"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            context = {"form": form, "pack": pack}
            return render(request, "sterility/pack_use.html", context, status=exc.status)
        messages.success(request, f"Pack {pack.code} recorded as used.")
        return redirect("sterility:pack", pack_id=pack.pk)
    context = {"form": form, "pack": pack}
    return render(request, "sterility/pack_use.html", context, status=_status(request))


# --- single-use sterile items ----------------------------------------------------


@require("sterility.view")
def item_lots(request: ClinicRequest) -> HttpResponse:
    lots = visible(request, SterileItemLot.objects.all()).annotate(used=Count("uses"))
    return render(
        request,
        "sterility/item_lots.html",
        {"lots": lots, "today": request.clinic.today()},
    )


@require("sterility.record")
def item_lot_new(request: ClinicRequest) -> HttpResponse:
    form = ItemLotForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            item_lot = services.do_create_item_lot(request.user, request.clinic, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("sterility:item_lot", item_lot_id=item_lot.pk)
    return render(request, "sterility/item_lot_new.html", {"form": form}, status=_status(request))


@login_required
def item_lot_detail(request: ClinicRequest, item_lot_id: uuid.UUID) -> HttpResponse:
    item_lot = item_lot_for(request, item_lot_id, "sterility.view")
    uses = SingleUseItemUse.objects.filter(item_lot=item_lot).select_related("patient", "used_by")
    context = {"item_lot": item_lot, "uses": uses, "today": request.clinic.today()}
    return render(request, "sterility/item_lot.html", context)


@login_required
def item_use(request: ClinicRequest, item_lot_id: uuid.UUID) -> HttpResponse:
    item_lot = item_lot_for(request, item_lot_id, "sterility.record")
    check_perm(request, "patient.view")
    form = ItemUseForm(posted(request), clinic=request.clinic)
    status = _status(request)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_use_single_use_item(
                request.user,
                request.clinic,
                item_lot,
                form.cleaned_data["item_serial"],
                form.cleaned_data["patient"],
                form.cleaned_data["used_at"],
                form.cleaned_data["session_ref"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            return redirect("sterility:item_lot", item_lot_id=item_lot.pk)
    context = {"form": form, "item_lot": item_lot}
    return render(request, "sterility/item_use.html", context, status=status)
