"""Photo writes (atomic and audited) and the consent gate every read goes through.

See docs/photos.md.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesochart.accounts.models import Clinic, Membership, User
from mesochart.accounts.permissions import has_perm
from mesochart.audit.services import record
from mesochart.care.models import (
    ChartEntry,
    FollowUp,
    FollowUpStatus,
    SessionStatus,
    TreatmentSession,
)
from mesochart.care.services.consents import consent_codes
from mesochart.care.services.followups import surveillance_days
from mesochart.errors import InvalidInput
from mesochart.imaging import (
    ALGORITHM_VERSION,
    ImageError,
    analyze_image,
    compare_results,
    jpeg_copy,
    load_for_analysis,
)
from mesochart.library.services import library_for
from mesochart.patients.models import Patient
from mesochart.protocols.library import load_library

from . import scales
from .models import (
    FOLLOWUP_TIMEPOINTS,
    ORIGINAL_TYPES,
    AdverseEvent,
    AdverseEventUpdate,
    AEOutcome,
    Causality,
    ClusterAlert,
    ClusterKind,
    OutcomeScore,
    Photo,
    PhotoView,
    SeriousCriterion,
    Severity,
    TimePoint,
)

DERIVED_LONG_SIDE = 1600
MAX_UPLOAD_BYTES = 40 * 1024 * 1024

PROBLEM_TEXT = {
    "no_face": "no face was found",
    "too_dark": "the photo is too dark",
    "too_bright": "the photo is overexposed",
    "blurred": "the photo is blurred",
    "face_too_small": "the face is too small in the frame",
    "tilted": "the head is tilted",
    "no_colour_card": "the colour card is missing",
    "card_not_found": _("the colour card was asked for but not found"),
    "eyes_not_found": _("the eyes were not found, so nothing was measured"),
    "greyscale": _("the photo has no colour (greyscale)"),
    "pose": "the pose differs from the baseline",
    "scale": "the distance to the camera differs from the baseline",
    "framing": "the framing differs from the baseline",
    "lighting": "the lighting differs from the baseline",
}


def photos_visible(patient: Patient, on: datetime | None = None) -> bool:
    """Photos of ``patient`` are shown only while a photo consent is in force."""
    return "photo" in consent_codes(patient, on)


def mark_hidden(photos: Iterable[Photo], hidden: bool) -> list[Photo]:
    out = list(photos)
    for photo in out:
        photo._hidden = hidden  # type: ignore[attr-defined]
    return out


def visible_photos(patient: Patient) -> tuple[list[Photo], int]:
    """(photos shown, number hidden) for ``patient``, asked of the consent now."""
    photos = Photo.objects.filter(patient=patient).select_related("taken_by")
    if photos_visible(patient):
        return mark_hidden(photos, False), 0
    return [], photos.count()


def baseline_for(photo: Photo) -> Photo | None:
    """The first photo of the same patient and view (``None`` when ``photo`` is it)."""
    first = (
        Photo.objects.filter(patient_id=photo.patient_id, view=photo.view)
        .order_by("taken_at", "created_at")
        .first()
    )
    return None if first is None or first.pk == photo.pk else first


def compare_with_baseline(photo: Photo) -> tuple[Photo | None, dict[str, Any] | None]:
    baseline = baseline_for(photo)
    if baseline is None:
        return None, None
    return baseline, compare_results(photo.analysis, baseline.analysis)


def problem_text(codes: Iterable[str]) -> list[str]:
    return [str(PROBLEM_TEXT.get(code, code.replace("_", " "))) for code in codes]


def analysis_outdated(photo: Photo) -> bool:
    """True when the stored result is from an earlier algorithm version than this one."""
    return str(photo.analysis.get("algorithm_version", "")) != ALGORITHM_VERSION


def do_reanalyse_photo(actor: User, clinic: Clinic, photo: Photo) -> Photo:
    """Analyse the stored original again with the current algorithm. The earlier result
    is kept (``previous_analyses``), never overwritten silently; audited."""
    if photo.clinic_id != clinic.pk:
        raise InvalidInput("The photo must belong to this clinic")
    with photo.original.open("rb") as handle:
        data = handle.read()
    try:
        loaded = load_for_analysis(
            data,
            max_pixels=settings.IMAGE_MAX_PIXELS,
            memory_budget=settings.IMAGE_MEMORY_BUDGET_MB * 1024 * 1024,
        )
    except ImageError as exc:
        raise InvalidInput(
            f"The stored photo cannot be analysed again: {exc.message}", field="photo"
        ) from None
    analysis = analyze_image(loaded)
    with transaction.atomic():
        locked = Photo.objects.select_for_update().get(pk=photo.pk, clinic=clinic)
        before = str(locked.analysis.get("algorithm_version", ""))
        locked.previous_analyses = [*locked.previous_analyses, locked.analysis]
        locked.analysis = analysis
        locked.quality_ok = bool(analysis["quality"]["ok"])
        locked.problems = list(analysis["quality"]["problems"])
        locked.save(update_fields=["previous_analyses", "analysis", "quality_ok", "problems"])
        record(
            "photo.reanalyse",
            actor=actor,
            clinic=clinic,
            obj=locked.patient,
            details={
                "photo": str(locked.pk),
                "from_version": before,
                "to_version": analysis["algorithm_version"],
                "quality_ok": locked.quality_ok,
                "problems": locked.problems,
            },
        )
    locked._hidden = False  # type: ignore[attr-defined]
    return locked


def _check_bytes(data: bytes) -> None:
    if not data:
        raise InvalidInput("The photo file is empty (0 bytes)", field="photo")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"The photo file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", field="photo"
        )


def do_upload_photo(
    actor: User,
    clinic: Clinic,
    patient: Patient,
    view: str,
    data: bytes,
    filename: str = "",
    taken_at: datetime | None = None,
) -> Photo:
    """Store the original untouched and an EXIF-free derived JPEG, with the analysis.

    Refused (``InvalidInput``, nothing stored) without a valid photo consent, for an
    unknown view, or for a file that is not a readable image within the limits.
    Quality problems do not refuse the upload: they are stored for a retake prompt.
    """
    if patient.clinic_id != clinic.pk:
        raise InvalidInput("The patient must belong to this clinic")
    if view not in PhotoView.values:
        raise InvalidInput("Choose the view of the photo", field="view")
    if not photos_visible(patient):
        raise InvalidInput(
            "No valid photo consent: a photo may only be taken while the patient's "
            "photo consent is in force",
            field="photo",
        )
    _check_bytes(data)
    try:
        loaded = load_for_analysis(
            data,
            max_pixels=settings.IMAGE_MAX_PIXELS,
            memory_budget=settings.IMAGE_MEMORY_BUDGET_MB * 1024 * 1024,
        )
        analysis = analyze_image(loaded)
        derived = jpeg_copy(loaded, DERIVED_LONG_SIDE)
    except ImageError as exc:
        raise InvalidInput(f"The photo file was refused: {exc.message}", field="photo") from None
    image = analysis["image"]
    fmt = str(image["format"])
    ext = ORIGINAL_TYPES.get(fmt, ("", "bin"))[1]
    quality = analysis["quality"]
    photo = Photo(
        organisation_id=clinic.organisation_id,
        clinic=clinic,
        patient=patient,
        view=view,
        taken_at=taken_at or timezone.now(),
        taken_by=actor,
        original_sha256=image["sha256"],
        original_filename=os.path.basename(filename or "")[:255],
        original_format=fmt,
        width=image["width"],
        height=image["height"],
        analysis=analysis,
        quality_ok=bool(quality["ok"]),
        problems=list(quality["problems"]),
    )
    try:
        with transaction.atomic():
            photo.original.save(f"original.{ext}", ContentFile(data), save=False)
            photo.derived.save("display.jpg", ContentFile(derived), save=False)
            photo.save(force_insert=True)
            record(
                "photo.upload",
                actor=actor,
                clinic=clinic,
                obj=patient,
                details={
                    "photo": str(photo.pk),
                    "view": view,
                    "sha256": photo.original_sha256,
                    "quality_ok": photo.quality_ok,
                    "problems": photo.problems,
                },
            )
    except BaseException:
        for field in (photo.original, photo.derived):
            if field:
                field.storage.delete(field.name)
        raise
    photo._hidden = False  # type: ignore[attr-defined]
    return photo


# --- eye alignment for the slider and ghost comparisons ------------------------------


def alignment_transform(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any] | None:
    """A CSS transform that lays ``current``'s eyes on ``baseline``'s, both images shown at
    the same width, ``current`` on top of ``baseline``; ``None`` unless both have eyes.

    Translate percentages are of the current image's own box (x of its width, y of its
    height), so the transform holds at any display size. Roll is positive
    counter-clockwise in the image; CSS rotates clockwise, hence ``current - baseline``.
    """
    face, bface = current.get("face") or {}, baseline.get("face") or {}
    if not (face.get("eyes_found") and bface.get("eyes_found")):
        return None
    img, bimg = current.get("image") or {}, baseline.get("image") or {}
    if not (img.get("width") and img.get("height") and bimg.get("width") and bimg.get("height")):
        return None
    fx, fy = (v / 100.0 for v in face["eye_midpoint_pct"])
    bx, by = (v / 100.0 for v in bface["eye_midpoint_pct"])
    hf = img["height"] / img["width"]  # heights in units of the shared display width
    hb = bimg["height"] / bimg["width"]
    scale = bface["eye_distance_pct"] / face["eye_distance_pct"]
    roll = (current.get("quality") or {}).get("roll_deg")
    broll = (baseline.get("quality") or {}).get("roll_deg")
    rotate = 0.0 if roll is None or broll is None else roll - broll
    tx = (bx - fx) * 100.0
    ty = (by * hb - fy * hf) / hf * 100.0
    return {
        "origin": f"{fx * 100.0:.3f}% {fy * 100.0:.3f}%",
        "transform": (
            f"translate({tx:.3f}%, {ty:.3f}%) rotate({rotate:.3f}deg) scale({scale:.4f})"
        ),
        "scale": round(scale, 4),
        "rotate_deg": round(rotate, 3),
        "aspect": f"{bimg['width']} / {bimg['height']}",
    }


def retake_message(photo: Photo) -> str:
    """One sentence telling the photographer what to fix, or '' when quality is OK."""
    if not photo.problems:
        return ""
    return "Retake suggested: " + "; ".join(problem_text(photo.problems)) + "."


# --- metric trends ---------------------------------------------------------------

TREND_METRICS = (
    ("L", "Lightness L*", "L* units"),
    ("ita_deg", "ITA (individual typology angle)", "degrees"),
    ("redness", "Redness (mean a*)", "a* units"),
    ("evenness", "Evenness", "0-100"),
    ("texture", "Texture", "L* RMS"),
)
TREND_ZONES = ("forehead", "cheek_left", "cheek_right", "nose", "chin", "whole_face")


@dataclass(frozen=True)
class TrendPhoto:
    photo: Photo
    comparable: bool
    reasons: list[str]


def trend_photos(photos: list[Photo]) -> list[TrendPhoto]:
    """``photos`` of one view (oldest first) with whether each compares with the first:
    the baseline itself counts when its quality is OK."""
    out: list[TrendPhoto] = []
    baseline = photos[0] if photos else None
    for photo in photos:
        reasons = problem_text(photo.problems)
        if baseline is not None and photo.pk != baseline.pk:
            comparison = compare_results(photo.analysis, baseline.analysis)
            reasons += problem_text(comparison["problems"])
        out.append(TrendPhoto(photo, not reasons, reasons))
    return out


def metric_value(photo: Photo, zone: str, key: str) -> float | None:
    analysis = photo.analysis or {}
    values = analysis.get("whole_face") if zone == "whole_face" else analysis.get("zones", {})
    if zone != "whole_face":
        values = (values or {}).get(zone)
    value = (values or {}).get(key)
    return None if value is None else float(value)


# --- outcome scores ---------------------------------------------------------------


def patient_sessions(patient: Patient) -> QuerySet[TreatmentSession]:
    return TreatmentSession.objects.filter(patient=patient).order_by("-scheduled_for")


def open_score_follow_ups(patient: Patient) -> QuerySet[FollowUp]:
    """Open follow-ups of the patient that ask for a result assessment (record scores)."""
    return (
        FollowUp.objects.filter(
            patient=patient, status=FollowUpStatus.OPEN, kind__in=list(FOLLOWUP_TIMEPOINTS)
        )
        .select_related("session")
        .order_by("due")
    )


def _treated_submental(session: TreatmentSession) -> bool:
    return ChartEntry.objects.filter(session=session, zone=scales.SUBMENTAL_ZONE).exists()


def do_record_score(
    actor: User,
    clinic: Clinic,
    patient: Patient,
    *,
    scale_id: str,
    value: int,
    timepoint: str,
    assessed_on: date,
    session: TreatmentSession | None = None,
    follow_up: FollowUp | None = None,
    protocol: str = "",
    note: str = "",
) -> OutcomeScore:
    """Record one rating. Refused (``InvalidInput`` naming the field, nothing saved) for an
    unknown scale, a value outside its range, a baseline of a judgment scale (GAIS rates
    change from the start), a session or follow-up of another patient, a submental scale
    outside submental protocols, or a date in the future."""
    if patient.clinic_id != clinic.pk:
        raise InvalidInput("The patient must belong to this clinic")
    if scale_id not in scales.SCALES:
        raise InvalidInput("Choose a scale", field="scale")
    sc = scales.scale(scale_id)
    if value not in sc.values:
        raise InvalidInput(
            f"{sc.name} takes a whole number from {sc.minimum} to {sc.maximum}", field="value"
        )
    if timepoint not in TimePoint.values:
        raise InvalidInput("Choose the timepoint", field="timepoint")
    if sc.kind == scales.JUDGMENT and timepoint == TimePoint.BASELINE:
        raise InvalidInput(
            f"{sc.name} is rated against the start: it has no baseline value", field="timepoint"
        )
    if assessed_on > clinic.today():
        raise InvalidInput("The assessment date is in the future", field="assessed_on")
    if follow_up is not None:
        if follow_up.patient_id != patient.pk:
            raise InvalidInput("This follow-up belongs to another patient", field="follow_up")
        session = session or follow_up.session
    if session is not None:
        if session.patient_id != patient.pk:
            raise InvalidInput("This session belongs to another patient", field="session")
        protocol = session.protocol
    if protocol and protocol not in load_library().protocols:
        raise InvalidInput(f"Unknown protocol {protocol!r}", field="protocol")
    if sc.protocols is not None:
        if protocol not in sc.protocols:
            raise InvalidInput(
                f"{sc.name} is for submental protocols ({', '.join(sc.protocols)}): "
                "choose the session or protocol",
                field="scale",
            )
        if (
            protocol == "contour-lipolytic"
            and session is not None
            and not _treated_submental(session)
        ):
            raise InvalidInput(
                f"{sc.name} applies to contour-lipolytic only when the submental zone was "
                "treated, and this session has no submental entry",
                field="scale",
            )
    with transaction.atomic():
        score = OutcomeScore.objects.create(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            scale=sc.id,
            scale_version=sc.version,
            direction=sc.direction,
            rater=sc.rater,
            value=value,
            timepoint=timepoint,
            protocol=protocol,
            assessed_on=assessed_on,
            session=session,
            follow_up=follow_up,
            note=note.strip(),
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        record(
            "outcome_score.record",
            actor=actor,
            clinic=clinic,
            obj=patient,
            details={
                "score": str(score.pk),
                "scale": sc.id,
                "scale_version": sc.version,
                "direction": sc.direction,
                "value": value,
                "timepoint": timepoint,
                "session": str(session.pk) if session else None,
                "follow_up": str(follow_up.pk) if follow_up else None,
            },
        )
    return score


# --- adverse events ---------------------------------------------------------------

CULTURE_PROMPT_TYPES = frozenset({"nodule", "infection"})
CLUSTER_TYPES = frozenset({"infection", "nodule"})

# Practice values of the cluster rule (issue #6; no clinical source is claimed): two or
# more infections or nodules linked to one lot, preparation, pack or cycle with onsets
# within 30 days. Override with OUTCOMES_CLUSTER_WINDOW_DAYS / OUTCOMES_CLUSTER_MIN_EVENTS
# in the Django settings.
CLUSTER_WINDOW_DAYS = 30
CLUSTER_MIN_EVENTS = 2


def cluster_window_days() -> int:
    return int(getattr(settings, "OUTCOMES_CLUSTER_WINDOW_DAYS", CLUSTER_WINDOW_DAYS))


def cluster_min_events() -> int:
    return int(getattr(settings, "OUTCOMES_CLUSTER_MIN_EVENTS", CLUSTER_MIN_EVENTS))


def adverse_event_types() -> list[str]:
    return sorted(load_library().vocabulary.adverse_events)


def adverse_event_codes_by_session(patient: Patient) -> dict[uuid.UUID, list[str]]:
    """Adverse-event type codes per linked session of ``patient`` (sorted, unique): the
    safety engine's history input. Events without a session are left out."""
    out: dict[uuid.UUID, set[str]] = {}
    rows = AdverseEvent.objects.filter(patient=patient, session__isnull=False).values_list(
        "session_id", "event_type"
    )
    for session_id, code in rows:
        out.setdefault(session_id, set()).add(code)
    return {sid: sorted(codes) for sid, codes in out.items()}


@dataclass(frozen=True)
class SurveillanceWindow:
    last_signed_on: date
    ends_on: date
    days: int
    open: bool


def surveillance_window(patient: Patient, today: date | None = None) -> SurveillanceWindow | None:
    """The infection-surveillance window after the patient's last signed session (length
    from the clinic-tuned library's ``followups.infection_surveillance_days``, the same
    number the session's follow-ups use), or None."""
    last = (
        TreatmentSession.objects.filter(
            patient=patient, status=SessionStatus.SIGNED, signed_at__isnull=False
        )
        .order_by("-signed_at")
        .first()
    )
    if last is None or last.signed_at is None:
        return None
    clinic = patient.clinic
    signed_on = timezone.localtime(last.signed_at, clinic.local_now().tzinfo).date()
    days = surveillance_days(library_for(clinic))
    ends = signed_on + timedelta(days=days)
    today = today or clinic.today()
    return SurveillanceWindow(signed_on, ends, days, signed_on <= today <= ends)


def culture_prompt(event: AdverseEvent) -> bool:
    """Reference §6.2 engine rule (b): a nodule or infection that does not heal under
    standard antibiotics: prompt to request a mycobacterial culture (until requested)."""
    return (
        event.event_type in CULTURE_PROMPT_TYPES
        and event.antibiotics_given
        and event.outcome == AEOutcome.NOT_RECOVERED
        and event.culture_requested_on is None
    )


@dataclass(frozen=True)
class SessionLinks:
    lots: list[uuid.UUID]
    preparations: list[uuid.UUID]
    packs: list[uuid.UUID]


def session_links(session: TreatmentSession) -> SessionLinks:
    """Lots (chart entries' lot and topical lot), preparations and packs of a session."""
    lots: list[uuid.UUID] = []
    preps: list[uuid.UUID] = []
    for lot_id, topical_id, prep_id in ChartEntry.objects.filter(session=session).values_list(
        "lot_id", "topical_lot_id", "preparation_id"
    ):
        lots += [i for i in (lot_id, topical_id) if i is not None and i not in lots]
        if prep_id is not None and prep_id not in preps:
            preps.append(prep_id)
    packs = list(session.packs.values_list("pack_id", flat=True))
    return SessionLinks(lots, preps, packs)


AE_SCALARS = (
    "event_type",
    "detail",
    "onset",
    "severity",
    "ctcae_term",
    "ctcae_grade",
    "serious",
    "serious_criteria",
    "causality",
    "outcome",
    "actions_taken",
    "antibiotics_given",
)
AE_UPDATABLE = tuple(f for f in AE_SCALARS if f not in ("event_type", "onset"))
AE_LINKS = ("lots", "preparations", "packs", "photos")


def _clean_ae(clinic: Clinic, patient: Patient, data: dict[str, Any]) -> dict[str, Any]:
    """Check an adverse event's fields; raise ``InvalidInput`` naming the first bad one."""
    if "event_type" in data and data["event_type"] not in load_library().vocabulary.adverse_events:
        raise InvalidInput("Choose the type of adverse event", field="event_type")
    if "onset" in data:
        if not isinstance(data["onset"], date):
            raise InvalidInput("Give the onset date", field="onset")
        if data["onset"] > clinic.today():
            raise InvalidInput("The onset date is in the future", field="onset")
    choices = {
        "severity": Severity.values,
        "causality": Causality.values,
        "outcome": AEOutcome.values,
    }
    for name, allowed in choices.items():
        if name in data and data[name] not in allowed:
            raise InvalidInput(f"Choose the {name}", field=name)
    grade = data.get("ctcae_grade")
    if grade is not None and grade not in (1, 2, 3, 4, 5):
        raise InvalidInput("A CTCAE grade is 1 to 5", field="ctcae_grade")
    if grade is not None and not (data.get("ctcae_term") or "").strip():
        raise InvalidInput("Name the CTCAE term the grade is given for", field="ctcae_term")
    criteria = list(data.get("serious_criteria") or [])
    if any(c not in SeriousCriterion.values for c in criteria):
        raise InvalidInput("Unknown seriousness criterion", field="serious_criteria")
    if "serious" in data:
        if data["serious"] and not criteria:
            raise InvalidInput(
                "A serious event needs at least one seriousness criterion",
                field="serious_criteria",
            )
        if not data["serious"] and criteria:
            raise InvalidInput(
                "Seriousness criteria are only for serious events", field="serious_criteria"
            )
        data["serious_criteria"] = criteria
    session = data.get("session")
    if session is not None and session.patient_id != patient.pk:
        raise InvalidInput("This session belongs to another patient", field="session")
    owners = {"lots": "clinic_id", "preparations": "clinic_id", "packs": "clinic_id"}
    for name, attr in owners.items():
        if any(getattr(obj, attr) != clinic.pk for obj in data.get(name) or ()):
            raise InvalidInput(f"Choose {name} of this clinic", field=name)
    if any(p.patient_id != patient.pk for p in data.get("photos") or ()):
        raise InvalidInput("Choose photos of this patient", field="photos")
    for name in ("detail", "ctcae_term", "actions_taken"):
        if name in data:
            data[name] = (data[name] or "").strip()
    return data


def _labels(objs: Iterable[Any]) -> list[str]:
    return sorted(str(o) for o in objs)


def do_record_adverse_event(
    actor: User, clinic: Clinic, patient: Patient, data: dict[str, Any]
) -> AdverseEvent:
    """Record an adverse event with its links (atomic, audited), then raise or update the
    cluster alerts it belongs to. ``data``: the fields of ``AE_SCALARS``, ``session`` and
    the lists ``lots``, ``preparations``, ``packs``, ``photos``."""
    if patient.clinic_id != clinic.pk:
        raise InvalidInput("The patient must belong to this clinic")
    data = _clean_ae(clinic, patient, dict(data))
    for name in ("event_type", "onset", "severity", "causality", "outcome"):
        if not data.get(name):
            raise InvalidInput(f"The {name.replace('_', ' ')} is required", field=name)
    now = timezone.now()
    with transaction.atomic():
        event = AdverseEvent(
            organisation_id=clinic.organisation_id,
            clinic=clinic,
            patient=patient,
            session=data.get("session"),
            recorded_by=actor,
            recorded_at=now,
            updated_at=now,
            **{k: data[k] for k in AE_SCALARS if k in data and data[k] is not None},
        )
        event.save(force_insert=True)
        for name in AE_LINKS:
            getattr(event, name).set(data.get(name) or [])
        record(
            "adverse_event.record",
            actor=actor,
            clinic=clinic,
            obj=patient,
            details={
                "event": str(event.pk),
                "type": event.event_type,
                "onset": event.onset.isoformat(),
                "severity": event.severity,
                "serious": event.serious,
                "outcome": event.outcome,
                "session": str(event.session_id) if event.session_id else None,
                "lots": _labels(data.get("lots") or []),
                "preparations": _labels(data.get("preparations") or []),
                "packs": _labels(data.get("packs") or []),
            },
        )
        refresh_cluster_alerts(actor, event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def do_update_adverse_event(
    actor: User, event: AdverseEvent, data: dict[str, Any], note: str = ""
) -> AdverseEventUpdate:
    """Follow up an adverse event: changed fields are kept old -> new in an
    ``AdverseEventUpdate`` and audited; the type and onset never change."""
    data = {k: v for k, v in data.items() if k in AE_UPDATABLE or k in AE_LINKS}
    merged = {name: getattr(event, name) for name in AE_UPDATABLE}
    merged.update({k: v for k, v in data.items() if k in AE_UPDATABLE})
    merged = _clean_ae(event.clinic, event.patient, merged)
    changes: dict[str, dict[str, Any]] = {}
    for name in AE_UPDATABLE:
        old, new = getattr(event, name), merged[name]
        if old != new:
            changes[name] = {"old": _jsonable(old), "new": _jsonable(new)}
    link_values: dict[str, list[Any]] = {}
    for name in AE_LINKS:
        if name not in data:
            continue
        _clean_ae(event.clinic, event.patient, {name: data[name]})
        old_objs = list(getattr(event, name).all())
        new_objs = list(data[name] or [])
        if {o.pk for o in old_objs} != {o.pk for o in new_objs}:
            changes[name] = {"old": _labels(old_objs), "new": _labels(new_objs)}
            link_values[name] = new_objs
    if not changes:
        raise InvalidInput("Nothing changed: change a field to record a follow-up", field=None)
    now = timezone.now()
    with transaction.atomic():
        for name in AE_UPDATABLE:
            setattr(event, name, merged[name])
        event.updated_at = now
        event.save(update_fields=[*AE_UPDATABLE, "updated_at"])
        for name, objs in link_values.items():
            getattr(event, name).set(objs)
        update = AdverseEventUpdate.objects.create(
            event=event, changes=changes, note=note.strip(), by=actor, at=now
        )
        record(
            "adverse_event.update",
            actor=actor,
            clinic=event.clinic,
            obj=event.patient,
            details={"event": str(event.pk), "changes": changes, "note": note.strip()},
        )
        refresh_cluster_alerts(actor, event)
    return update


def do_request_culture(actor: User, event: AdverseEvent, on: date) -> AdverseEvent:
    """Record that a mycobacterial culture was requested (reference §6.2 rule b)."""
    if event.culture_requested_on is not None:
        raise InvalidInput(
            f"A culture was already requested on {event.culture_requested_on:%Y-%m-%d}",
            field="requested_on",
        )
    if on > event.clinic.today():
        raise InvalidInput("The request date is in the future", field="requested_on")
    if on < event.onset:
        raise InvalidInput("The request date is before the onset", field="requested_on")
    with transaction.atomic():
        event.culture_requested_on = on
        event.updated_at = timezone.now()
        event.save(update_fields=["culture_requested_on", "updated_at"])
        AdverseEventUpdate.objects.create(
            event=event,
            changes={"culture_requested_on": {"old": None, "new": on.isoformat()}},
            note="Mycobacterial culture requested",
            by=actor,
            at=event.updated_at,
        )
        record(
            "adverse_event.culture_requested",
            actor=actor,
            clinic=event.clinic,
            obj=event.patient,
            details={"event": str(event.pk), "requested_on": on.isoformat()},
        )
    return event


# --- cluster alerts ---------------------------------------------------------------


def _cluster_targets(event: AdverseEvent) -> list[tuple[str, uuid.UUID, str]]:
    targets: list[tuple[str, uuid.UUID, str]] = []
    targets += [(ClusterKind.LOT, lot.pk, str(lot)) for lot in event.lots.all()]
    targets += [(ClusterKind.PREPARATION, p.pk, str(p)) for p in event.preparations.all()]
    cycles: dict[uuid.UUID, str] = {}
    for pack in event.packs.select_related("cycle__steriliser"):
        targets.append((ClusterKind.PACK, pack.pk, f"{pack.code} ({pack.set_name})"))
        cycles[pack.cycle_id] = f"{pack.cycle.code} on {pack.cycle.steriliser}"
    targets += [(ClusterKind.CYCLE, cid, label) for cid, label in cycles.items()]
    return targets


def _linked_events(clinic: Clinic, kind: str, object_id: uuid.UUID) -> QuerySet[AdverseEvent]:
    events = AdverseEvent.objects.filter(clinic=clinic, event_type__in=CLUSTER_TYPES)
    lookup = {
        ClusterKind.LOT: "lots",
        ClusterKind.PREPARATION: "preparations",
        ClusterKind.PACK: "packs",
        ClusterKind.CYCLE: "packs__cycle",
    }[ClusterKind(kind)]
    return events.filter(**{lookup: object_id}).distinct()


def refresh_cluster_alerts(actor: User | None, event: AdverseEvent) -> list[ClusterAlert]:
    """Raise or extend the cluster alerts ``event`` belongs to (called inside the writes of
    adverse events). A cluster: at least ``cluster_min_events()`` infections or nodules
    linked to one lot, preparation, pack or cycle (through the pack) with onsets within
    ``cluster_window_days()`` of this event's onset. One open alert per object: an open
    alert gains the new events; an acknowledged one stays closed and a new one opens."""
    if event.event_type not in CLUSTER_TYPES:
        return []
    window = timedelta(days=cluster_window_days())
    touched: list[ClusterAlert] = []
    for kind, object_id, label in _cluster_targets(event):
        near = list(
            _linked_events(event.clinic, kind, object_id).filter(
                onset__gte=event.onset - window, onset__lte=event.onset + window
            )
        )
        if len(near) < cluster_min_events():
            continue
        now = timezone.now()
        alert = (
            ClusterAlert.objects.select_for_update()
            .filter(clinic=event.clinic, kind=kind, object_id=object_id, acknowledged_at=None)
            .first()
        )
        created = alert is None
        if alert is None:
            alert = ClusterAlert.objects.create(
                organisation_id=event.organisation_id,
                clinic=event.clinic,
                kind=kind,
                object_id=object_id,
                label=label[:200],
                first_onset=min(e.onset for e in near),
                last_onset=max(e.onset for e in near),
                created_at=now,
                updated_at=now,
            )
            known: set[uuid.UUID] = set()
        else:
            known = set(alert.events.values_list("pk", flat=True))
        new = [e for e in near if e.pk not in known]
        if not new:
            continue
        alert.events.add(*new)
        onsets = [e.onset for e in near] + [alert.first_onset, alert.last_onset]
        alert.first_onset, alert.last_onset = min(onsets), max(onsets)
        alert.updated_at = now
        alert.save(update_fields=["first_onset", "last_onset", "updated_at"])
        record(
            "cluster_alert.raise" if created else "cluster_alert.update",
            actor=actor,
            clinic=event.clinic,
            obj=alert,
            details={
                "kind": kind,
                "object": str(object_id),
                "label": alert.label,
                "events_added": sorted(str(e.pk) for e in new),
                "first_onset": alert.first_onset.isoformat(),
                "last_onset": alert.last_onset.isoformat(),
            },
        )
        touched.append(alert)
    return touched


def open_alerts(clinic: Clinic) -> QuerySet[ClusterAlert]:
    return ClusterAlert.objects.filter(clinic=clinic, acknowledged_at__isnull=True).order_by(
        "-updated_at"
    )


def do_acknowledge_alert(actor: User, alert: ClusterAlert, note: str) -> ClusterAlert:
    """Close an alert with the manager's note (what was checked or done)."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say what was checked or done", field="note")
    if alert.acknowledged_at is not None:
        raise InvalidInput("This alert was already acknowledged", field="note")
    with transaction.atomic():
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        alert.acknowledgement_note = note
        alert.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
        record(
            "cluster_alert.acknowledge",
            actor=actor,
            clinic=alert.clinic,
            obj=alert,
            details={"kind": alert.kind, "label": alert.label, "note": note},
        )
    return alert


# --- dashboard ------------------------------------------------------------------


def dashboard_context(clinic: Clinic | None, membership: Membership | None) -> dict[str, Any]:
    """Context for ``outcomes/_dashboard.html``: open cluster alerts for those who may see
    them (``outcomes_alerts`` is None otherwise) and the reports link."""
    if clinic is None or not has_perm(membership, "alert.view"):
        return {"outcomes_alerts": None, "outcomes_can_report": has_perm(membership, "report.view")}
    alerts = open_alerts(clinic)
    return {
        "outcomes_alerts": list(alerts[:5]),
        "outcomes_alert_count": alerts.count(),
        "outcomes_can_report": has_perm(membership, "report.view"),
    }
