"""Follow-ups: created when a session is signed, marked done by the team, listed on the
dashboard and the follow-ups page. Every interval comes from the clinic-tuned library
(``followups.*``, the protocol's course and timeline), the same numbers everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import Conflict
from mesochart.protocols import Library, plan_course

from ..models import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    SessionStatus,
    TreatmentSession,
)


def surveillance_days(library: Library) -> int:
    """Length of the infection-surveillance window after a session, in days (library
    ``followups.infection_surveillance_days``, reference §6.2; clinic-tunable)."""
    return int(library.followups["infection_surveillance_days"].number)


def create_follow_ups(
    library: Library, session: TreatmentSession, history: list[date]
) -> list[FollowUp]:
    """The follow-ups of a session being signed; ``history`` is the days of the patient's
    signed sessions of the protocol, this one included."""
    day = session.day
    early = library.followups["early_check_days"]
    surveillance = library.followups["infection_surveillance_days"]
    rows = [
        FollowUp(
            kind=FollowUpKind.EARLY_CHECK,
            due=day + timedelta(days=int(early.number)),
            note=early.note or "Safety and comfort check: swelling, pain, redness, lumps.",
            evidence=early.evidence,
            source=early.source,
        ),
        FollowUp(
            kind=FollowUpKind.INFECTION_SURVEILLANCE,
            due=day,
            window_end=day + timedelta(days=surveillance_days(library)),
            note="Ask about lumps, pus and sites that do not heal until the window ends "
            "(late mycobacterial infection).",
            evidence=surveillance.evidence,
            source=surveillance.source,
        ),
    ]
    protocol = library.protocols[session.protocol]
    course = plan_course(session.protocol, day, history, library=library)
    nxt = [s for s in course.schedule if s.typical > day]
    if nxt:
        rows.append(
            FollowUp(
                kind=FollowUpKind.NEXT_SESSION,
                due=nxt[0].typical,
                note=f"Session {nxt[0].number} of the course; not before "
                f"{nxt[0].earliest:%d %b %Y} (minimum interval).",
                evidence=protocol.course.typical_interval_days.evidence,
                source=protocol.course.typical_interval_days.source,
            )
        )
    timeline = protocol.timeline
    if course.sessions_done == 1:
        p = timeline.first_assessment_days
        rows.append(
            FollowUp(
                kind=FollowUpKind.FIRST_ASSESSMENT,
                due=day + timedelta(days=int(p.number)),
                note="First result assessment: standard photos and scores.",
                evidence=p.evidence,
                source=p.source,
            )
        )
    if not nxt:
        p = timeline.final_assessment_days
        rows.append(
            FollowUp(
                kind=FollowUpKind.FINAL_ASSESSMENT,
                due=day + timedelta(days=int(p.number)),
                note="Final result assessment after the last session of the course.",
                evidence=p.evidence,
                source=p.source,
            )
        )
    # A new signed session supersedes the previous session's open next-session reminder.
    FollowUp.objects.filter(
        patient_id=session.patient_id,
        kind=FollowUpKind.NEXT_SESSION,
        status=FollowUpStatus.OPEN,
        session__protocol=session.protocol,
    ).update(
        status=FollowUpStatus.DONE,
        done_at=session.signed_at,
        outcome_note="Superseded by the next signed session.",
    )
    for row in rows:
        row.organisation_id = session.organisation_id
        row.clinic_id = session.clinic_id
        row.patient_id = session.patient_id
        row.session = session
    FollowUp.objects.bulk_create(rows)
    return rows


def do_complete_follow_up(actor: User, follow_up: FollowUp, note: str = "") -> FollowUp:
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if follow_up.status != FollowUpStatus.OPEN:
            raise Conflict(_("This follow-up is already closed."), field="status")
        follow_up.status = FollowUpStatus.DONE
        follow_up.done_at = timezone.now()
        follow_up.done_by = actor
        follow_up.outcome_note = (note or "").strip()
        follow_up.save(update_fields=["status", "done_at", "done_by", "outcome_note"])
        record(
            "followup.done",
            actor=actor,
            clinic=follow_up.clinic,
            obj=follow_up,
            details={"kind": follow_up.kind, "note": follow_up.outcome_note},
        )
    return follow_up


@dataclass
class FollowUpBoard:
    due: list[FollowUp]
    upcoming: list[FollowUp]
    surveillance: list[FollowUp]
    awaiting_cosign: list[TreatmentSession]
    today_sessions: list[TreatmentSession]


def follow_up_board(clinic: Clinic, today: date | None = None) -> FollowUpBoard:
    """What the dashboard lists: due today or overdue, the next week, open surveillance
    windows, sessions awaiting a co-signature and today's sessions (five queries)."""
    today = today or clinic.today()
    open_ = FollowUp.objects.filter(clinic=clinic, status=FollowUpStatus.OPEN).select_related(
        "patient", "session"
    )
    surveillance_kind = FollowUpKind.INFECTION_SURVEILLANCE
    due = list(
        open_.exclude(kind=surveillance_kind).filter(due__lte=today)
        | open_.filter(kind=surveillance_kind, window_end__lte=today)
    )
    due.sort(key=lambda f: (f.window_end or f.due) if f.kind == surveillance_kind else f.due)
    upcoming = list(
        open_.exclude(kind=surveillance_kind).filter(
            due__gt=today, due__lte=today + timedelta(days=7)
        )
    )
    surveillance = list(
        open_.filter(kind=surveillance_kind, window_end__gt=today).order_by("window_end")
    )
    cosign = list(
        TreatmentSession.objects.filter(
            clinic=clinic,
            status=SessionStatus.SIGNED,
            cosign_required=True,
            cosigned_at__isnull=True,
        ).select_related("patient", "signed_by")
    )
    sessions = list(
        TreatmentSession.objects.filter(clinic=clinic, scheduled_for=today)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient")
    )
    return FollowUpBoard(due, upcoming, surveillance, cosign, sessions)
