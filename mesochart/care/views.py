from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import has_perm, require
from mesochart.audit.services import record, record_read
from mesochart.core.http import ClinicRequest, posted, posted_files, private_file_response
from mesochart.errors import DomainError
from mesochart.patients.access import patient_for

from .access import consent_for, template_for
from .forms import RevokeForm, TakeConsentForm, TemplateForm, VersionForm
from .models import ConsentKind, ConsentTemplate, ConsentTemplateVersion, SignedConsent
from .services import consents


def _add_domain_error(form: object, exc: DomainError) -> None:
    fields = getattr(form, "fields", {})
    form.add_error(exc.field if exc.field in fields else None, exc.message)  # type: ignore[attr-defined]


# --- templates -----------------------------------------------------------------


@require("consent.view")
def template_list(request: ClinicRequest) -> HttpResponse:
    templates = consents.templates_for(request.clinic).prefetch_related("versions")
    return render(request, "care/template_list.html", {"templates": templates})


@require("consent.manage_templates")
def template_create(request: ClinicRequest) -> HttpResponse:
    form = TemplateForm(posted(request))
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            template = consents.do_create_template(
                request.user, request.clinic, **form.cleaned_data
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            return redirect("care:template_detail", template_id=template.pk)
    return render(request, "care/template_form.html", {"form": form}, status=status)


@require_POST
@require("consent.manage_templates")
def template_defaults(request: ClinicRequest) -> HttpResponse:
    consents.ensure_default_templates(request.clinic, request.user)
    return redirect("care:template_list")


@login_required
def template_detail(request: ClinicRequest, template_id: uuid.UUID) -> HttpResponse:
    template = template_for(request, template_id, "consent.view")
    versions = list(template.versions.select_related("created_by"))
    return render(
        request, "care/template_detail.html", {"template": template, "versions": versions}
    )


@login_required
def template_new_version(request: ClinicRequest, template_id: uuid.UUID) -> HttpResponse:
    template = template_for(request, template_id, "consent.manage_templates")
    current = template.current_version()
    form = VersionForm(posted(request), initial={"text": current.text if current else ""})
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            consents.do_new_template_version(
                request.user, request.clinic, template, form.cleaned_data["text"]
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            return redirect("care:template_detail", template_id=template.pk)
    return render(
        request,
        "care/template_version_form.html",
        {"form": form, "template": template, "current": current},
        status=status,
    )


# --- patient consents ------------------------------------------------------------


@login_required
def patient_consents(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "consent.view", with_profile=False)
    record_read(request, patient, page="consents")
    rows = list(
        SignedConsent.objects.filter(patient=patient).select_related(
            "template_version", "witness", "revoked_by"
        )
    )
    codes = consents.consent_codes(patient)
    return render(
        request,
        "care/patient_consents.html",
        {"patient": patient, "consents": rows, "codes": codes},
    )


def _safe_next(request: ClinicRequest) -> str:
    """Where to go after signing (e.g. back to the session): a local path only."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _version_for(request: ClinicRequest, raw: object) -> ConsentTemplateVersion:
    try:
        version_id = uuid.UUID(str(raw))
    except ValueError:
        raise Http404("No consent template version with this id") from None
    version = (
        ConsentTemplateVersion.objects.select_related("template")
        .filter(clinic=request.clinic, pk=version_id)
        .first()
    )
    if version is None:
        raise Http404("No consent template version with this id")
    return version


@login_required
def consent_take(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "consent.take", with_profile=False)
    next_url = _safe_next(request)
    templates = consents.templates_for(request.clinic)
    if request.GET.get("kind") in ConsentKind.values:
        templates = templates.filter(kind=request.GET["kind"])
    chosen: ConsentTemplate | None = None
    if request.GET.get("template"):
        try:
            template_id = uuid.UUID(request.GET["template"])
        except ValueError:
            raise Http404("No consent template with this id") from None
        chosen = template_for(request, template_id, "consent.take")
    version = chosen.current_version() if chosen else None
    form = TakeConsentForm(
        posted(request),  # an empty POST is a (refused) submission, not a first visit
        posted_files(request),
        initial={"version": version.pk if version else None, "signer_name": patient.full_name},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            version = _version_for(request, form.cleaned_data["version"])
            chosen = version.template
            data = form.cleaned_data
            try:
                consent = consents.do_sign_consent(
                    request.user,
                    request.clinic,
                    patient,
                    version,
                    signer_name=data["signer_name"],
                    signer_role=data["signer_role"],
                    method=data["method"],
                    signature_png=data["signature"] or None,
                    scan_file=data["scan"],
                    photo_uses=data["photo_uses"],
                )
            except DomainError as exc:
                _add_domain_error(form, exc)
            else:
                if next_url:
                    return redirect(next_url)
                return redirect("care:consent_detail", consent_id=consent.pk)
        elif form.cleaned_data.get("version"):
            version = _version_for(request, form.cleaned_data["version"])
            chosen = version.template
    context = {
        "patient": patient,
        "templates": templates,
        "chosen": chosen,
        "version": version,
        "form": form,
        "is_photo": chosen is not None and chosen.kind == ConsentKind.PHOTO,
        "next_url": next_url,
    }
    return render(request, "care/consent_take.html", context, status=status)


@login_required
def consent_detail(request: ClinicRequest, consent_id: uuid.UUID) -> HttpResponse:
    consent = consent_for(request, consent_id, "consent.view")
    record_read(request, consent)
    context = {
        "consent": consent,
        "patient": consent.patient,
        "revoke_form": RevokeForm() if has_perm(request.membership, "consent.revoke") else None,
        "hash_ok": consents.text_sha256(consent.text) == consent.text_sha256,
    }
    return render(request, "care/consent_detail.html", context)


@login_required
def consent_signature(request: ClinicRequest, consent_id: uuid.UUID) -> FileResponse:
    consent = consent_for(request, consent_id, "consent.view")
    record_read(request, consent, file="signature")
    return private_file_response(consent.signature, "image/png", "signature.png", attachment=False)


@login_required
def consent_scan(request: ClinicRequest, consent_id: uuid.UUID) -> FileResponse:
    consent = consent_for(request, consent_id, "consent.view")
    ext = consent.scan.name.rsplit(".", 1)[-1] if consent.scan else "bin"
    record("consent.scan_download", actor=request.user, clinic=request.clinic, obj=consent)
    return private_file_response(
        consent.scan, consent.scan_content_type, f"consent-scan.{ext}", attachment=True
    )


@login_required
def consent_pdf(request: ClinicRequest, consent_id: uuid.UUID) -> FileResponse:
    consent = consent_for(request, consent_id, "consent.view")
    name = f"consent-{consent.patient.mrn}-{consent.kind}-{consent.signed_at:%Y%m%d}.pdf"
    record("consent.pdf_download", actor=request.user, clinic=request.clinic, obj=consent)
    return private_file_response(consent.pdf, "application/pdf", name, attachment=True)


@require_POST
@login_required
def consent_revoke(request: ClinicRequest, consent_id: uuid.UUID) -> HttpResponse:
    consent = consent_for(request, consent_id, "consent.revoke")
    form = RevokeForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            consents.do_revoke_consent(
                request.user, request.clinic, consent, form.cleaned_data["reason"]
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
            status = exc.status
        else:
            return redirect("care:consent_detail", consent_id=consent.pk)
    context = {
        "consent": consent,
        "patient": consent.patient,
        "revoke_form": form,
        "hash_ok": consents.text_sha256(consent.text) == consent.text_sha256,
    }
    return render(request, "care/consent_detail.html", context, status=status)
