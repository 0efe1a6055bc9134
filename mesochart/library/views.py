from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import check_perm, has_perm, require
from mesochart.core.http import ClinicRequest
from mesochart.errors import DomainError
from mesochart.protocols import load_library

from . import services
from .forms import ResetForm, TuneForm
from .models import ClinicParameter


@require("protocols.view")
def index(request: ClinicRequest) -> HttpResponse:
    library = services.library_for(request.clinic)
    return render(
        request, "library/index.html", {"library": library, "protocols": library.protocols.values()}
    )


@require("protocols.view")
def protocol_detail(request: ClinicRequest, protocol_id: str) -> HttpResponse:
    library = services.library_for(request.clinic)
    protocol = library.protocols.get(protocol_id)
    if protocol is None:
        raise Http404("No such protocol")
    rules = [r for r in library.rules.values() if r.applies_to(protocol.code)]
    tuned = set(services.clinic_overrides(request.clinic))
    context = {
        "protocol": protocol,
        "rules": rules,
        "tuned": tuned,
        "aftercare": library.aftercare.get(protocol.aftercare),
        "products": [library.products[c] for c in protocol.products],
        "mixtures": [library.mixtures[c] for c in protocol.mixtures],
        "techniques": [library.techniques[c] for c in protocol.techniques],
        "zones": [library.zones[c] for c in protocol.zones],
    }
    return render(request, "library/protocol.html", context)


@require("protocols.view")
def zones(request: ClinicRequest) -> HttpResponse:
    library = services.library_for(request.clinic)
    return render(request, "library/zones.html", {"zones": library.zones.values()})


@require("protocols.view")
def products(request: ClinicRequest) -> HttpResponse:
    library = load_library()
    context = {
        "products": library.products.values(),
        "mixtures": library.mixtures.values(),
        "ingredients": library.ingredients,
        "techniques": library.techniques.values(),
    }
    return render(request, "library/products.html", context)


@require("protocols.view")
def rules(request: ClinicRequest) -> HttpResponse:
    library = services.library_for(request.clinic)
    return render(request, "library/rules.html", {"rules": library.rules.values()})


@require("protocols.view")
def clinic_settings(request: ClinicRequest) -> HttpResponse:
    return _render_settings(request)


def _render_settings(
    request: ClinicRequest, error_form: TuneForm | None = None, status: int = 200
) -> HttpResponse:
    library = services.library_for(request.clinic)
    rows = {
        p.param_id: p
        for p in ClinicParameter.objects.filter(clinic=request.clinic).select_related("set_by")
    }
    params = library.tunable_parameters()
    for p in params:
        p["clinic"] = rows.get(p["id"])
    context = {
        "params": params,
        "error_form": error_form,
        "can_tune": has_perm(request.membership, "protocols.tune"),
    }
    return render(request, "library/settings.html", context, status=status)


@require("protocols.view")
@require_POST
def tune(request: ClinicRequest) -> HttpResponse:
    check_perm(request, "protocols.tune")
    form = TuneForm(request.POST)
    if form.is_valid():
        try:
            services.do_tune_parameter(
                request.user,
                request.clinic,
                form.cleaned_data["param_id"],
                form.cleaned_data["value"],
                form.cleaned_data["reason"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("library:settings")
    return _render_settings(request, error_form=form, status=400)


@require("protocols.view")
@require_POST
def reset(request: ClinicRequest) -> HttpResponse:
    check_perm(request, "protocols.tune")
    form = ResetForm(request.POST)
    if form.is_valid():
        try:
            services.do_reset_parameter(
                request.user,
                request.clinic,
                form.cleaned_data["param_id"],
                form.cleaned_data["reason"],
            )
        except DomainError as exc:
            return render(request, "core/error.html", {"error": exc}, status=exc.status)
    return redirect("library:settings")
