from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import check_perm, has_perm, require
from mesochart.core.http import ClinicRequest, posted
from mesochart.errors import DomainError, InvalidInput
from mesochart.protocols import load_library

from . import services
from .access import container_for, fridge_for, lot_for
from .forms import (
    AdjustForm,
    FridgeForm,
    LotFilterForm,
    OpenContainerForm,
    QuantityReasonForm,
    ReadingForm,
    ReadingsUploadForm,
    ReasonForm,
    ReceiveForm,
    ThresholdForm,
)
from .models import Fridge, Lot, LotStatus


def _failed(form: forms.Form, exc: DomainError) -> int:
    """Put a domain error on the form field it names; returns the HTTP status to answer."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return exc.status


@require("stock.view")
def index(request: ClinicRequest) -> HttpResponse:
    context = {
        "dashboard": services.dashboard(request.clinic),
        "threshold_form": ThresholdForm(),
        "products": load_library().products,
    }
    return render(request, "stock/index.html", context)


@require("stock.adjust")
@require_POST
def threshold(request: ClinicRequest) -> HttpResponse:
    form = ThresholdForm(request.POST)
    if form.is_valid():
        services.do_set_threshold(
            request.user, request.clinic, form.cleaned_data["product"], form.cleaned_data["minimum"]
        )
        return redirect("stock:index")
    context = {
        "dashboard": services.dashboard(request.clinic),
        "threshold_form": form,
        "products": load_library().products,
    }
    return render(request, "stock/index.html", context, status=400)


@require("stock.view")
def fefo(request: ClinicRequest) -> HttpResponse:
    product = request.GET.get("product", "")
    lots = services.fefo_lots(request.clinic, product) if product else []
    return render(request, "stock/_fefo.html", {"lots": lots, "product": product})


@require("stock.view")
def lot_list(request: ClinicRequest) -> HttpResponse:
    form = LotFilterForm(request.GET)
    lots = Lot.objects.filter(clinic=request.clinic).with_on_hand().select_related("fridge")
    if form.is_valid():
        if form.cleaned_data["product"]:
            lots = lots.filter(product=form.cleaned_data["product"])
        if form.cleaned_data["status"]:
            lots = lots.filter(status=form.cleaned_data["status"])
    page = Paginator(lots.order_by("expiry", "product", "lot_number"), 50).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "today": request.clinic.today()}
    return render(request, "stock/lot_list.html", context)


@require("stock.receive")
def receive(request: ClinicRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "stock/receive.html", {"form": ReceiveForm(clinic=request.clinic)})
    form = ReceiveForm(request.POST, clinic=request.clinic)
    if "fill" in request.POST:
        # "Fill from scan" (htmx or plain): show the form with the scanned values, save nothing.
        data = request.POST.copy()
        for name, value in form.fill_from_scan().items():
            data[name] = value
        form = ReceiveForm(data, clinic=request.clinic)
        form.is_valid()
        form.focus_after_fill()
        product = data.get("product", "")
        fefo = services.fefo_lots(request.clinic, product) if product else []
        template = "stock/_receive_form.html" if request.htmx else "stock/receive.html"
        context = {"form": form, "filled": True, "fefo": fefo, "fefo_product": product}
        return render(request, template, context)
    status = 400
    if form.is_valid():
        try:
            lot = services.do_receive_lot(request.user, request.clinic, **form.service_kwargs())
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            return redirect("stock:lot_detail", lot_id=lot.pk)
    return render(request, "stock/receive.html", {"form": form}, status=status)


def _lot_page(
    request: ClinicRequest, lot: Lot, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    movements = list(
        lot.movements.select_related("patient", "recorded_by", "container").order_by(
            "-occurred_at", "-id"
        )[:200]
    )
    context: dict[str, Any] = {
        "lot": lot,
        "product": load_library().products.get(lot.product),
        "on_hand": lot.on_hand_now(),
        "movements": movements,
        "containers": list(lot.containers.select_related("opened_by", "patient")),
        "today": request.clinic.today(),
        "open_form": forms_.get("open_form") or OpenContainerForm(),
        "waste_form": forms_.get("waste_form") or QuantityReasonForm(prefix="waste"),
        "adjust_form": forms_.get("adjust_form") or AdjustForm(prefix="adjust"),
        "status_form": forms_.get("status_form") or ReasonForm(prefix="status"),
        "can_use": has_perm(request.membership, "stock.use"),
        "can_adjust": has_perm(request.membership, "stock.adjust"),
    }
    return render(request, "stock/lot_detail.html", context, status=status)


@login_required
def lot_detail(request: ClinicRequest, lot_id: uuid.UUID) -> HttpResponse:
    lot = lot_for(request, lot_id, "stock.view")
    return _lot_page(request, lot)


@login_required
@require_POST
def lot_open(request: ClinicRequest, lot_id: uuid.UUID) -> HttpResponse:
    lot = lot_for(request, lot_id, "stock.use")
    form = OpenContainerForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            container = services.do_open_container(
                request.user, request.clinic, lot, kind=form.cleaned_data["kind"]
            )
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            return redirect("stock:container_detail", container_id=container.pk)
    return _lot_page(request, lot, status, open_form=form)


@login_required
@require_POST
def lot_waste(request: ClinicRequest, lot_id: uuid.UUID) -> HttpResponse:
    lot = lot_for(request, lot_id, "stock.use")
    form = QuantityReasonForm(request.POST, prefix="waste")
    status = 400
    if form.is_valid():
        try:
            services.do_waste(
                request.user,
                request.clinic,
                lot,
                form.cleaned_data["quantity"],
                form.cleaned_data["reason"],
            )
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            return redirect("stock:lot_detail", lot_id=lot.pk)
    return _lot_page(request, lot, status, waste_form=form)


@login_required
@require_POST
def lot_adjust(request: ClinicRequest, lot_id: uuid.UUID) -> HttpResponse:
    lot = lot_for(request, lot_id, "stock.adjust")
    form = AdjustForm(request.POST, prefix="adjust")
    status = 400
    if form.is_valid():
        try:
            services.do_adjust(
                request.user,
                request.clinic,
                lot,
                form.cleaned_data["quantity"],
                form.cleaned_data["reason"],
            )
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            return redirect("stock:lot_detail", lot_id=lot.pk)
    return _lot_page(request, lot, status, adjust_form=form)


@login_required
@require_POST
def lot_status(request: ClinicRequest, lot_id: uuid.UUID, action: str) -> HttpResponse:
    lot = lot_for(request, lot_id, "stock.adjust")
    target = {
        "quarantine": LotStatus.QUARANTINED,
        "release": LotStatus.AVAILABLE,
        "recall": LotStatus.RECALLED,
    }[action]
    form = ReasonForm(request.POST, prefix="status")
    status = 400
    if form.is_valid():
        try:
            services.set_lot_status(
                request.user, request.clinic, lot, target, form.cleaned_data["reason"]
            )
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            return redirect("stock:lot_detail", lot_id=lot.pk)
    return _lot_page(request, lot, status, status_form=form)


@login_required
def container_detail(request: ClinicRequest, container_id: uuid.UUID) -> HttpResponse:
    container = container_for(request, container_id, "stock.view")
    context = {
        "container": container,
        "today": request.clinic.today(),
        "movements": list(container.movements.select_related("patient").order_by("occurred_at")),
    }
    return render(request, "stock/container_detail.html", context)


@require("stock.view")
def fridge_list(request: ClinicRequest) -> HttpResponse:
    fridges = Fridge.objects.filter(clinic=request.clinic)
    form = FridgeForm(posted(request))
    status = 200
    if request.method == "POST":
        check_perm(request, "stock.adjust")
        status = 400
        if form.is_valid():
            try:
                fridge = services.do_create_fridge(
                    request.user,
                    request.clinic,
                    form.cleaned_data["name"],
                    form.cleaned_data["location"],
                )
            except DomainError as exc:
                status = _failed(form, exc)
            else:
                return redirect("stock:fridge_detail", fridge_id=fridge.pk)
    context = {
        "fridges": fridges,
        "form": form,
        "can_adjust": has_perm(request.membership, "stock.adjust"),
    }
    return render(request, "stock/fridge_list.html", context, status=status)


def _fridge_page(
    request: ClinicRequest,
    fridge: Fridge,
    status: int = 200,
    reading_form: forms.Form | None = None,
    upload_form: forms.Form | None = None,
) -> HttpResponse:
    low, high = services.conf.fridge_bounds()
    context = {
        "fridge": fridge,
        "readings": list(fridge.readings.select_related("recorded_by")[:200]),
        "imports": list(fridge.imports.defer("text")[:5]),
        "lots": list(fridge.lots.with_on_hand().filter(Q(on_hand__gt=0))),
        "reading_form": reading_form or ReadingForm(),
        "upload_form": upload_form or ReadingsUploadForm(),
        "can_record": has_perm(request.membership, "fridge.record"),
        "low": low,
        "high": high,
    }
    return render(request, "stock/fridge_detail.html", context, status=status)


@login_required
def fridge_detail(request: ClinicRequest, fridge_id: uuid.UUID) -> HttpResponse:
    return _fridge_page(request, fridge_for(request, fridge_id, "stock.view"))


@login_required
@require_POST
def fridge_reading(request: ClinicRequest, fridge_id: uuid.UUID) -> HttpResponse:
    fridge = fridge_for(request, fridge_id, "fridge.record")
    form = ReadingForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.do_record_reading(
                request.user,
                request.clinic,
                fridge,
                form.cleaned_data["recorded_at"],
                form.cleaned_data["temperature_c"],
            )
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            return redirect("stock:fridge_detail", fridge_id=fridge.pk)
    return _fridge_page(request, fridge, status, reading_form=form)


@login_required
@require_POST
def fridge_upload(request: ClinicRequest, fridge_id: uuid.UUID) -> HttpResponse:
    fridge = fridge_for(request, fridge_id, "fridge.record")
    form = ReadingsUploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise InvalidInput("The file is too large.", field="file")
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text.")
        except DomainError as exc:
            status = _failed(form, exc)
        else:
            try:
                if services.data_lines(text) > settings.STOCK_IMPORT_BACKGROUND_ROWS:
                    services.do_queue_import(request.user, request.clinic, fridge, text)
                else:
                    services.do_import_readings(request.user, request.clinic, fridge, text)
            except DomainError as exc:
                status = _failed(form, exc)
            else:
                return redirect("stock:fridge_detail", fridge_id=fridge.pk)
    return _fridge_page(request, fridge, status, upload_form=form)
