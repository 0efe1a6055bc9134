"""The permission matrix: the one place that says which role may do what.

docs/roles.md shows the same table; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .models import Membership, Role

P, M, A, R, MG, AU = (
    Role.PRESCRIBER,
    Role.PRACTITIONER,
    Role.ASSISTANT,
    Role.RECEPTION,
    Role.MANAGER,
    Role.AUDITOR,
)

PERMISSIONS: dict[str, tuple[str, frozenset[str]]] = {
    "patient.view": ("See the patient list and demographics", frozenset({P, M, A, R, MG, AU})),
    "patient.create": ("Register a patient", frozenset({P, M, A, R, MG})),
    "patient.edit": ("Edit demographics and contacts", frozenset({P, M, A, R, MG})),
    "profile.view": ("See the medical profile and its history", frozenset({P, M, A, MG, AU})),
    "profile.edit": ("Edit the medical profile", frozenset({P, M, A})),
    "audit.view": ("See the audit trail of a chart", frozenset({MG, AU})),
    "protocols.view": (
        "Browse protocols, zones, products and rules",
        frozenset({P, M, A, R, MG, AU}),
    ),
    "protocols.tune": ("Tune the clinic's practice-level (P) defaults", frozenset({P, MG})),
    "stock.view": ("See lots, vials, stock levels and fridge logs", frozenset({P, M, A, MG, AU})),
    "stock.receive": ("Receive lots (scan or type)", frozenset({P, M, A, MG})),
    "stock.use": ("Open vials, record waste", frozenset({P, M, A, MG})),
    "stock.adjust": ("Adjust stock, quarantine and release lots", frozenset({MG})),
    "fridge.record": ("Record fridge temperatures", frozenset({P, M, A, MG})),
    "sterility.view": ("See sterilisers, cycles and packs", frozenset({P, M, A, MG, AU})),
    "sterility.record": ("Record cycles, indicators and packs", frozenset({P, M, A, MG})),
    "sterility.release": ("Release a sterilisation load", frozenset({P, M, MG})),
    "sterility.manage": (
        "Add and edit sterilisers, set the pack shelf life",
        frozenset({P, MG}),
    ),
    "recall.view": ("Run a recall and export affected patients", frozenset({MG, AU})),
    "recall.contact": ("Mark recalled patients as contacted", frozenset({MG})),
    "recall.notify": (
        "Send the recall notice to every patient a recall reached",
        frozenset({MG}),
    ),
    "consent.manage_templates": ("Create consent templates and new versions", frozenset({MG})),
    "consent.take": ("Take a patient's consent (on screen or scanned paper)", frozenset({P, M, A})),
    "consent.revoke": ("Record that a patient revoked a consent", frozenset({P, M, MG})),
    "consent.view": (
        "See signed consents, their text, signature and PDF",
        frozenset({P, M, A, MG, AU}),
    ),
    "session.view": (
        "See treatment plans, sessions, charts and follow-ups",
        frozenset({P, M, A, MG, AU}),
    ),
    "session.chart": ("Start a session and chart points, lots, packs", frozenset({P, M, A})),
    "session.sign": ("Sign a session (consumes stock and packs)", frozenset({P, M})),
    "session.cosign": ("Co-sign a prescription-only session", frozenset({P})),
    "session.override": ("Override a warning with a clinical reason", frozenset({P})),
    "session.addendum": ("Add an addendum to a signed session", frozenset({P, M, A})),
    "plan.manage": ("Create and close treatment plans", frozenset({P, M})),
    "prescription.write": (
        "Prescribe a prescription-only protocol (products, zones, dose limits), revoke it",
        frozenset({P}),
    ),
    "followup.view": ("See follow-ups due", frozenset({P, M, A, R, MG, AU})),
    "followup.manage": ("Mark follow-ups done", frozenset({P, M, A, R})),
    "scheduling.view": (
        "See the appointment book (day and week views, appointments)",
        frozenset({P, M, A, R, MG, AU}),
    ),
    "scheduling.book": (
        "Book, move and cancel appointments, mark arrivals and no-shows",
        frozenset({P, M, A, R, MG}),
    ),
    "scheduling.online": (
        "See online bookings waiting for reception, accept (create or link the patient) "
        "or reject them",
        frozenset({R, MG}),
    ),
    "scheduling.manage": (
        "Set working hours, absences, rooms, devices, appointment types and the booking policy",
        frozenset({MG}),
    ),
    "photo.view": (
        "See clinical photos, their analysis and comparisons",
        frozenset({P, M, A, MG, AU}),
    ),
    "photo.take": ("Take or upload clinical photos", frozenset({P, M, A})),
    "photo.original": (
        "Open the original uploaded photo file (each opening audited)",
        frozenset({P, MG, AU}),
    ),
    "outcome.view": (
        "See a patient's outcome scores and the assessments due",
        frozenset({P, M, A, MG, AU}),
    ),
    "outcome.record": ("Record outcome scores (GAIS, submental scales)", frozenset({P, M, A})),
    "adverse_event.view": ("See adverse events and their links", frozenset({P, M, A, MG, AU})),
    "adverse_event.record": (
        "Record an adverse event and its follow-up (never deleted)",
        frozenset({P, M, A}),
    ),
    "alert.view": (
        "See cluster alerts (infections or nodules per lot or pack)",
        frozenset({P, MG, AU}),
    ),
    "alert.acknowledge": ("Acknowledge a cluster alert with a note", frozenset({MG})),
    "message.view": (
        "See the messages sent to patients and their delivery status",
        frozenset({P, M, A, R, MG, AU}),
    ),
    "message.retry": ("Send a failed message again", frozenset({P, M, A, R, MG})),
    "message.preferences": (
        "Record a patient's opt-out of email or SMS",
        frozenset({P, M, A, R, MG}),
    ),
    "messaging.settings": (
        "Set the clinic's reminder offsets, channels and follow-up messages",
        frozenset({MG}),
    ),
    "notification.view": (
        "See the staff notifications meant for one's role",
        frozenset({P, M, A, R, MG, AU}),
    ),
    "calendar.feed": (
        "Have a private calendar feed of one's own sessions, and revoke it",
        frozenset({P, M, A}),
    ),
    "report.view": ("See outcome and adverse-event reports, export CSV", frozenset({P, MG, AU})),
    "staff.manage": (
        "Add staff, give and remove roles in the organisation's clinics, deactivate and "
        "reactivate accounts, unlock sign-in, send password links, reset two-factor, set "
        "the clinic's two-factor rule",
        frozenset({MG}),
    ),
}


def has_perm(membership: Membership | None, perm: str) -> bool:
    if perm not in PERMISSIONS:
        raise KeyError(f"unknown permission {perm!r}")
    return (
        membership is not None and membership.is_active and membership.role in PERMISSIONS[perm][1]
    )


def check_perm(request: HttpRequest, perm: str) -> None:
    if not has_perm(getattr(request, "membership", None), perm):
        raise PermissionDenied(f"Your role may not: {PERMISSIONS[perm][0].lower()}")


F = TypeVar("F", bound=Callable[..., HttpResponse])


def require(perm: str) -> Callable[[F], F]:
    """View decorator: signed in, with an active membership allowed ``perm``."""
    if perm not in PERMISSIONS:
        raise KeyError(f"unknown permission {perm!r}")

    def decorator(view: F) -> F:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            check_perm(request, perm)
            return view(request, *args, **kwargs)

        return cast(F, wrapped)

    return decorator
