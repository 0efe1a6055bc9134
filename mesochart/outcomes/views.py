from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mesochart.accounts.permissions import check_perm, has_perm, require
from mesochart.audit.services import record, record_read
from mesochart.core.http import ClinicRequest, posted, posted_files, private_file_response
from mesochart.core.templatetags.clinical import zone as zone_name
from mesochart.errors import DomainError, InvalidInput
from mesochart.imaging.analysis import DELTA_KEYS
from mesochart.imaging.face import ZONE_NAMES
from mesochart.patients.access import patient_for

from . import charts, reports, scales, services
from .access import adverse_event_for, alert_for, photo_for
from .forms import (
    AcknowledgeForm,
    AdverseEventForm,
    AdverseEventUpdateForm,
    CultureForm,
    ScoreForm,
    UploadForm,
)
from .models import (
    FOLLOWUP_TIMEPOINTS,
    ORIGINAL_TYPES,
    AdverseEvent,
    ClusterAlert,
    OutcomeScore,
    Photo,
    PhotoView,
)


def _zone_label(code: str) -> str:
    """A photo zone's clinical name (``whole_face`` is the analysis's own, not a library zone)."""
    return str(_("Whole face")) if code == "whole_face" else zone_name(code)


def _zone_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    zones = metrics.get("zones") or {}
    rows = [
        {"name": name, "label": _zone_label(name), "values": zones.get(name) or {}}
        for name in ZONE_NAMES
    ]
    rows.append(
        {
            "name": "whole_face",
            "label": _zone_label("whole_face"),
            "values": metrics.get("whole_face") or {},
        }
    )
    return rows


@login_required
def timeline(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "photo.view", with_profile=False)
    record_read(request, patient, page="photos")
    photos, hidden = services.visible_photos(patient)
    groups = [
        {"view": label, "code": code, "photos": [p for p in photos if p.view == code]}
        for code, label in PhotoView.choices
    ]
    context = {
        "patient": patient,
        "groups": [g for g in groups if g["photos"]],
        "hidden": hidden,
        "consent_ok": services.photos_visible(patient),
    }
    return render(request, "outcomes/timeline.html", context)


@login_required
def upload(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "photo.take", with_profile=False)
    view = request.GET.get("view")
    initial = {"view": view} if view in PhotoView.values else {}
    form = UploadForm(posted(request), posted_files(request), initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload_file = form.cleaned_data["photo"]
            try:
                if upload_file is None:
                    raise InvalidInput("Choose or take a photo", field="photo")
                data = upload_file.read(services.MAX_UPLOAD_BYTES + 1)
                photo = services.do_upload_photo(
                    request.user,
                    request.clinic,
                    patient,
                    form.cleaned_data["view"],
                    data,
                    upload_file.name or "",
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
            else:
                return redirect("outcomes:detail", photo_id=photo.pk)
    context = {
        "patient": patient,
        "form": form,
        "consent_ok": services.photos_visible(patient),
        "baselines": _baselines(patient),
    }
    return render(request, "outcomes/upload.html", context, status=status)


def _baselines(patient: Any) -> list[dict[str, Any]]:
    """The first photo of each view (capture guide's ghost), only while photos show."""
    photos, _hidden = services.visible_photos(patient)
    firsts: dict[str, Photo] = {}
    for photo in photos:
        firsts.setdefault(photo.view, photo)
    return [{"view": view, "photo": photo} for view, photo in firsts.items()]


@login_required
def detail(request: ClinicRequest, photo_id: uuid.UUID) -> HttpResponse:
    photo = photo_for(request, photo_id, "photo.view")
    record_read(request, photo)
    baseline = services.baseline_for(photo)
    context = {
        "photo": photo,
        "patient": photo.patient,
        "baseline": baseline,
        "rows": _zone_rows(photo.analysis),
        "keys": DELTA_KEYS,
        "problems": services.problem_text(photo.problems),
        "quality": photo.analysis.get("quality", {}),
        "can_original": has_perm(request.membership, "photo.original"),
        "retake": services.retake_message(photo),
        "overlay": _overlay(photo),
        "outdated": services.analysis_outdated(photo),
        "current_version": services.ALGORITHM_VERSION,
    }
    return render(request, "outcomes/detail.html", context)


def _overlay(photo: Photo) -> dict[str, Any] | None:
    """What the analysis located, in the photo's own pixels, for the SVG over the image."""
    analysis = photo.analysis
    face = analysis.get("face") or {}
    box = face.get("box_px")
    if not box:
        return None

    def points(pts: list[list[float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)

    drawn = analysis.get("overlay") or {}
    zones = [
        {"name": name, "label": _zone_label(name), "points": points(pts), "at": pts[0]}
        for name, pts in (drawn.get("zones_px") or {}).items()
    ]
    eyes = face.get("eyes_px") or {}
    return {
        "width": photo.width,
        "height": photo.height,
        "box": box,
        "outline": points(drawn["face_outline_px"]) if drawn.get("face_outline_px") else "",
        "zones": zones,
        "eyes": [eyes[k] for k in ("right", "left") if k in eyes],
        "eyes_found": bool(face.get("eyes_found")),
        "stroke": round(max(1.0, photo.width / 400.0), 1),
        "eye_r": round(max(2.0, photo.width / 150.0), 1),
    }


@login_required
@require_POST
def reanalyse(request: ClinicRequest, photo_id: uuid.UUID) -> HttpResponse:
    photo = photo_for(request, photo_id, "photo.take")
    services.do_reanalyse_photo(request.user, request.clinic, photo)  # type: ignore[arg-type]
    return redirect("outcomes:detail", photo.pk)


@login_required
def compare(request: ClinicRequest, photo_id: uuid.UUID) -> HttpResponse:
    photo = photo_for(request, photo_id, "photo.view")
    baseline, comparison = services.compare_with_baseline(photo)
    record_read(request, photo, page="compare", baseline=str(baseline.pk) if baseline else None)
    deltas = (comparison or {}).get("deltas") or {}
    context = {
        "photo": photo,
        "patient": photo.patient,
        "baseline": baseline,
        "comparison": comparison,
        "problems": services.problem_text((comparison or {}).get("problems", [])),
        "rows": [
            {"name": name, "label": _zone_label(name), "values": deltas.get(name) or {}}
            for name in deltas
        ],
        "keys": DELTA_KEYS,
        "align": services.alignment_transform(photo.analysis, baseline.analysis)
        if baseline is not None
        else None,
    }
    return render(request, "outcomes/compare.html", context)


@login_required
def image(request: ClinicRequest, photo_id: uuid.UUID) -> FileResponse:
    # The page that shows this image (photo detail, comparison, timeline) logs the read; the
    # image requests a page makes in parallel are not logged again.
    photo = photo_for(request, photo_id, "photo.view")
    return private_file_response(photo.derived, "image/jpeg", f"photo-{photo.view}.jpg")


@login_required
def original(request: ClinicRequest, photo_id: uuid.UUID) -> FileResponse:
    photo: Photo = photo_for(request, photo_id, "photo.view")
    check_perm(request, "photo.original")
    ext = ORIGINAL_TYPES.get(photo.original_format, ("", "bin"))[1]
    record(
        "photo.original_view",
        actor=request.user,
        clinic=request.clinic,
        obj=photo.patient,
        details={"photo": str(photo.pk)},
    )
    return private_file_response(photo.original, photo.content_type, f"photo-original.{ext}")


# --- metric trends --------------------------------------------------------------


def _trend_charts(points: list[services.TrendPhoto], view_label: str) -> list[dict[str, Any]]:
    if not points:
        return []
    start = points[0].photo.taken_at
    xs = [(p.photo.taken_at - start).total_seconds() / 86400.0 for p in points]
    ticks = [(x, f"{p.photo.taken_at:%Y-%m-%d}") for x, p in zip(xs, points, strict=True)]
    if len(ticks) > 6:
        ticks = [ticks[0], ticks[len(ticks) // 2], ticks[-1]]
    out = []
    for key, title, unit in services.TREND_METRICS:
        series = [
            charts.Series(
                _zone_label(zone),
                [
                    charts.Point(
                        x,
                        services.metric_value(p.photo, zone, key),
                        marked=not p.comparable,
                        label=f"{p.photo.taken_at:%Y-%m-%d}",
                    )
                    for x, p in zip(xs, points, strict=True)
                ],
            )
            for zone in services.TREND_ZONES
        ]
        marked = sum(1 for p in points if not p.comparable)
        desc = (
            f"{title} ({unit}) of {view_label} photos over time, one line per zone, "
            f"{len(points)} photos; {marked} not comparable with the baseline (hollow points)."
        )
        svg = charts.line_chart(f"trend-{key}", f"{title} by zone", desc, series, ticks)
        rows = [
            {
                "photo": p.photo,
                "comparable": p.comparable,
                "values": [services.metric_value(p.photo, z, key) for z in services.TREND_ZONES],
            }
            for p in points
        ]
        out.append(
            {"key": key, "title": title, "unit": unit, "svg": mark_safe(svg), "rows": rows}
        )  # escaped by charts
    return out


@login_required
def trends(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "photo.view", with_profile=False)
    record_read(request, patient, page="trends")
    photos, hidden = services.visible_photos(patient)
    views = [(c, label) for c, label in PhotoView.choices if any(p.view == c for p in photos)]
    view = request.GET.get("view") or (views[0][0] if views else PhotoView.FRONT)
    if view not in PhotoView.values:
        raise Http404("Unknown view")
    points = services.trend_photos([p for p in photos if p.view == view])
    context = {
        "patient": patient,
        "views": views,
        "view": view,
        "view_label": PhotoView(view).label,
        "points": points,
        "charts": _trend_charts(points, PhotoView(view).label),
        "zones": [_zone_label(z) for z in services.TREND_ZONES],
        "hidden": hidden,
    }
    return render(request, "outcomes/trends.html", context)


# --- the patient's outcomes: scores and adverse events ---------------------------


def _score_groups(patient: Any) -> list[dict[str, Any]]:
    scores = list(
        OutcomeScore.objects.filter(patient=patient)
        .select_related("recorded_by", "session")
        .order_by("assessed_on", "recorded_at")
    )
    groups = []
    for sc in scales.SCALES.values():
        items = [s for s in scores if s.scale == sc.id]
        if items:
            groups.append({"scale": sc, "scores": items})
    return groups


@login_required
def patient_outcomes(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "outcome.view", with_profile=False)
    record_read(request, patient, page="outcomes")
    can_ae = has_perm(request.membership, "adverse_event.view")
    events = (
        list(
            AdverseEvent.objects.filter(patient=patient)
            .select_related("session", "recorded_by")
            .prefetch_related("lots", "packs")
        )
        if can_ae
        else []
    )
    follow_ups = [
        {"follow_up": f, "timepoint": FOLLOWUP_TIMEPOINTS[f.kind]}
        for f in services.open_score_follow_ups(patient)
    ]
    context = {
        "patient": patient,
        "groups": _score_groups(patient),
        "events": events,
        "can_ae": can_ae,
        "follow_ups": follow_ups,
        "window": services.surveillance_window(patient),
        "prompts": {e.pk for e in events if services.culture_prompt(e)},
    }
    return render(request, "outcomes/patient_outcomes.html", context)


def _form_error(form: Any, exc: Any) -> int:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return int(exc.status)


@login_required
def score_new(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "outcome.record", with_profile=False)
    initial: dict[str, Any] = {"assessed_on": request.clinic.today()}
    if request.method == "GET":
        initial.update({k: v for k, v in request.GET.items() if k in ("scale", "timepoint")})
        wanted = _uuid_or_none(request.GET.get("follow_up"))
        follow_up = (
            services.open_score_follow_ups(patient).filter(pk=wanted).first() if wanted else None
        )
        if follow_up is not None:
            initial.update(
                follow_up=follow_up,
                session=follow_up.session,
                timepoint=FOLLOWUP_TIMEPOINTS[follow_up.kind],
            )
    form = ScoreForm(posted(request), initial=initial, patient=patient)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.do_record_score(
                    request.user,
                    request.clinic,
                    patient,
                    scale_id=data["scale"],
                    value=data["value"],
                    timepoint=data["timepoint"],
                    assessed_on=data["assessed_on"],
                    session=data["session"],
                    follow_up=data["follow_up"],
                    protocol=data["protocol"] or "",
                    note=data["note"],
                )
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                return redirect("outcomes:patient_outcomes", patient_id=patient.pk)
    context = {"patient": patient, "form": form, "scales": list(scales.SCALES.values())}
    return render(request, "outcomes/score_form.html", context, status=status)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


def _ae_data(form: Any) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data.pop("note", None)
    return data


@login_required
def adverse_event_new(request: ClinicRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = patient_for(request, patient_id, "adverse_event.record", with_profile=False)
    initial: dict[str, Any] = {"onset": request.clinic.today()}
    session = None
    if request.method == "GET" and request.GET.get("session"):
        wanted = _uuid_or_none(request.GET.get("session"))
        session = services.patient_sessions(patient).filter(pk=wanted).first() if wanted else None
        if session is not None:
            links = services.session_links(session)
            initial.update(
                session=session,
                lots=links.lots,
                preparations=links.preparations,
                packs=links.packs,
            )
            initial.update({k: v for k, v in request.GET.items() if k in ("event_type",)})
    form = AdverseEventForm(posted(request), initial=initial, patient=patient)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                event = services.do_record_adverse_event(
                    request.user, request.clinic, patient, _ae_data(form)
                )
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                return redirect("outcomes:adverse_event", event_id=event.pk)
    context = {
        "patient": patient,
        "form": form,
        "session": session,
        "window": services.surveillance_window(patient),
    }
    return render(request, "outcomes/adverse_event_form.html", context, status=status)


@login_required
def adverse_event(request: ClinicRequest, event_id: uuid.UUID) -> HttpResponse:
    event = adverse_event_for(request, event_id, "adverse_event.view")
    if request.method == "GET":
        record_read(request, event)
    patient = event.patient
    can_record = has_perm(request.membership, "adverse_event.record")
    form = AdverseEventUpdateForm(
        posted(request), initial=AdverseEventUpdateForm.initial_for(event), patient=patient
    )
    status = 200
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied("Your role may not record adverse events")
        status = 400
        if form.is_valid():
            data = _ae_data(form)
            try:
                services.do_update_adverse_event(
                    request.user, event, data, form.cleaned_data.get("note", "")
                )
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                return redirect("outcomes:adverse_event", event_id=event.pk)
    photos_ok = services.photos_visible(patient)
    context = {
        "event": event,
        "patient": patient,
        "form": form,
        "can_record": can_record,
        "updates": list(event.updates.select_related("by")),
        "lots": list(event.lots.all()),
        "preparations": list(event.preparations.all()),
        "packs": list(event.packs.select_related("cycle")),
        "photos": list(event.photos.all()) if photos_ok else [],
        "photos_hidden": 0 if photos_ok else event.photos.count(),
        "alerts": list(event.cluster_alerts.all()),
        "window": services.surveillance_window(patient),
        "culture_prompt": services.culture_prompt(event),
        "culture_form": CultureForm(initial={"requested_on": event.clinic.today()}),
    }
    return render(request, "outcomes/adverse_event.html", context, status=status)


@login_required
def adverse_event_culture(request: ClinicRequest, event_id: uuid.UUID) -> HttpResponse:
    event = adverse_event_for(request, event_id, "adverse_event.record")
    if request.method != "POST":
        return redirect("outcomes:adverse_event", event_id=event.pk)
    form = CultureForm(request.POST)
    if form.is_valid():
        try:
            services.do_request_culture(request.user, event, form.cleaned_data["requested_on"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            return redirect("outcomes:adverse_event", event_id=event.pk)
    context = {"event": event, "patient": event.patient, "form": form}
    return render(request, "outcomes/culture_form.html", context, status=400)


# --- cluster alerts -------------------------------------------------------------


@require("alert.view")
def alerts(request: ClinicRequest) -> HttpResponse:
    events = Prefetch(
        "events", queryset=AdverseEvent.objects.select_related("patient").order_by("onset")
    )
    rows = ClusterAlert.objects.filter(clinic=request.clinic).select_related("acknowledged_by")
    context = {
        "open": list(rows.filter(acknowledged_at__isnull=True).prefetch_related(events)),
        "closed": list(
            rows.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at")[:50]
        ),
        "window_days": services.cluster_window_days(),
        "min_events": services.cluster_min_events(),
    }
    return render(request, "outcomes/alerts.html", context)


@login_required
def alert(request: ClinicRequest, alert_id: uuid.UUID) -> HttpResponse:
    item = alert_for(request, alert_id, "alert.view")
    if request.method == "GET":
        record_read(request, item)
    can_ack = has_perm(request.membership, "alert.acknowledge")
    form = AcknowledgeForm(posted(request))
    status = 200
    if request.method == "POST":
        if not can_ack:
            raise PermissionDenied("Only managers acknowledge cluster alerts")
        status = 400
        if form.is_valid():
            try:
                services.do_acknowledge_alert(request.user, item, form.cleaned_data["note"])
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                return redirect("outcomes:alerts")
    context = {
        "alert": item,
        "events": list(item.events.select_related("patient").order_by("onset")),
        "form": form,
        "can_ack": can_ack,
    }
    return render(request, "outcomes/alert.html", context, status=status)


# --- reports --------------------------------------------------------------------


@require("report.view")
def report_index(request: ClinicRequest) -> HttpResponse:
    tables = []
    for table in reports.all_tables(request.clinic):
        bars = table.bars()
        svg = (
            charts.bar_chart(
                f"chart-{table.slug}",
                table.title,
                f"{table.title}: {table.columns[table.chart_value or 0]} per row, "
                f"{len(bars)} bars. The same numbers are in the table.",
                bars,
                unit=table.unit,
            )
            if bars
            else ""
        )
        tables.append({"table": table, "svg": mark_safe(svg)})  # escaped by charts
    return render(request, "outcomes/reports.html", {"tables": tables})


@require("report.view")
def report_csv(request: ClinicRequest) -> HttpResponse:
    """One table as CSV: ``?table=<slug>`` (the slugs of ``reports.all_tables``)."""
    table = reports.table_by_slug(request.clinic, request.GET.get("table", ""))
    if table is None:
        raise Http404("No such report")
    record_read(request, "report_csv", table=table.slug)
    response = HttpResponse(reports.to_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table.slug}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
