"""Practitioners' private calendar feeds (.ics, RFC 5545, written with ``icalendar``).

A feed lists the practitioner's planned sessions (the sessions they planned: a session
has no assigned practitioner yet). Other apps add their events with
``register_feed_source``: the appointment book registers its appointments there. Events
carry the patient's initials and record number, never a name, protocol code or clinical
detail: a subscribed calendar leaves the clinic's systems.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import icalendar
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import Conflict

from .models import CalendarFeed

PRODID = "-//Mesochart//Mesochart practitioner feed//EN"
PAST_DAYS = 7


@dataclass(frozen=True)
class FeedEvent:
    """One event of a feed: an all-day event (``start`` a date) or a timed one."""

    uid: str
    start: date | datetime
    end: date | datetime
    summary: str
    description: str = ""
    url: str = ""


FeedSource = Callable[[CalendarFeed, date, str], Iterable[FeedEvent]]
FEED_SOURCES: list[FeedSource] = []


def register_feed_source(source: FeedSource) -> FeedSource:
    """Add ``source(feed, since, base_url)`` to every practitioner feed (usable as a
    decorator). It yields the events of ``feed.user`` in ``feed.clinic`` from ``since``."""
    if source not in FEED_SOURCES:
        FEED_SOURCES.append(source)
    return source


def initials(given: str, family: str) -> str:
    return "".join(f"{part[:1].upper()}." for part in (given, family) if part)


@register_feed_source
def planned_sessions(feed: CalendarFeed, since: date, base_url: str) -> Iterable[FeedEvent]:
    from mesochart.care.models import SessionStatus, TreatmentSession

    sessions = TreatmentSession.objects.filter(
        clinic=feed.clinic,
        created_by=feed.user,
        status=SessionStatus.PLANNED,
        scheduled_for__gte=since,
    ).select_related("patient")
    for session in sessions.order_by("scheduled_for"):
        patient = session.patient
        yield FeedEvent(
            uid=f"session-{session.pk}",
            start=session.scheduled_for,
            end=session.scheduled_for + timedelta(days=1),
            summary=_("Treatment session: %(who)s (%(mrn)s)")
            % {"who": initials(patient.given_name, patient.family_name), "mrn": patient.mrn},
            url=f"{base_url}/care/sessions/{session.pk}/",
        )


def feed_ics(feed: CalendarFeed, base_url: str, domain: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{feed.clinic.name}: {feed.user.display_name}")
    stamp = timezone.now()
    since = feed.clinic.today() - timedelta(days=PAST_DAYS)
    for source in FEED_SOURCES:
        for item in source(feed, since, base_url):
            event = icalendar.Event()
            event.add("uid", f"{item.uid}@{domain}")
            event.add("dtstamp", stamp)
            event.add("dtstart", item.start)
            event.add("dtend", item.end)
            event.add("summary", item.summary)
            if item.description:
                event.add("description", item.description)
            if item.url:
                event.add("url", item.url)
            cal.add_component(event)
    return bytes(cal.to_ical())


def active_feed(user: User, clinic: Clinic) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, clinic=clinic, revoked_at=None).first()


def do_create_feed(actor: User, clinic: Clinic) -> CalendarFeed:
    """A new private feed for the actor (refused while one is active: revoke it first)."""
    with transaction.atomic():
        if active_feed(actor, clinic) is not None:
            raise Conflict(_("You already have a calendar feed; revoke it first."), field="feed")
        feed = CalendarFeed.objects.create(
            clinic=clinic, user=actor, token=secrets.token_urlsafe(32), created_at=timezone.now()
        )
        record("calendar_feed.create", actor=actor, clinic=clinic, obj=feed)
    return feed


def do_revoke_feed(actor: User, clinic: Clinic) -> CalendarFeed:
    with transaction.atomic():
        feed = active_feed(actor, clinic)
        if feed is None:
            raise Conflict(_("You have no calendar feed to revoke."), field="feed")
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        record("calendar_feed.revoke", actor=actor, clinic=clinic, obj=feed)
    return feed


def feed_for_token(token: str) -> CalendarFeed | None:
    """The active feed of ``token`` whose owner still works in its clinic (else None)."""
    feed = (
        CalendarFeed.objects.filter(token=token, revoked_at=None)
        .select_related("clinic", "user")
        .first()
    )
    if feed is None or not feed.user.is_active:
        return None
    from mesochart.accounts.permissions import has_perm

    membership = feed.user.memberships.filter(clinic=feed.clinic).first()
    return feed if has_perm(membership, "calendar.feed") else None
