"""In-app notifications for staff, per clinic and role.

They are raised where the events already happen without the lower apps knowing of
messaging: every domain write is audited, so one receiver on the audit log's inserts
picks the events that need someone's attention and, once the write has committed, files
a notification. Each is idempotent on its key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, Membership, User
from mesochart.accounts.permissions import PERMISSIONS
from mesochart.audit.models import AuditEvent
from mesochart.audit.services import record

from .models import Notification, NotificationKind, NotificationRead

logger = logging.getLogger(__name__)

# Who sees each kind: the roles holding the permission that acts on it.
KIND_PERMISSION: dict[str, str] = {
    NotificationKind.FRIDGE_EXCURSION: "fridge.record",
    NotificationKind.AWAITING_COSIGN: "session.cosign",
    NotificationKind.AWAITING_PRESCRIPTION: "prescription.write",
    NotificationKind.CLUSTER_ALERT: "alert.view",
    NotificationKind.MESSAGE_FAILED: "message.retry",
}


def roles_for(kind: str) -> str:
    return "," + ",".join(sorted(str(r) for r in PERMISSIONS[KIND_PERMISSION[kind]][1])) + ","


def notify(clinic: Clinic, kind: str, title: str, link: str, key: str) -> Notification:
    """File one notification (once per ``key``) for the roles that act on ``kind``."""
    existing = Notification.objects.filter(key=key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        note = Notification.objects.create(
            clinic=clinic,
            kind=kind,
            roles=roles_for(kind),
            title=title[:300],
            link=link,
            key=key[:200],
            created_at=timezone.now(),
        )
        record("notification.create", actor=None, clinic=clinic, obj=note, details={"kind": kind})
    return note


def for_member(membership: Membership) -> QuerySet[Notification]:
    """The notifications of the member's clinic for their role, newest first, each with
    ``is_read`` for that user."""
    return (
        Notification.objects.filter(
            clinic_id=membership.clinic_id, roles__contains=f",{membership.role},"
        )
        .annotate(
            is_read=Exists(
                NotificationRead.objects.filter(notification=OuterRef("pk"), user=membership.user)
            )
        )
        .order_by("-created_at")
    )


def unread_count(membership: Membership) -> int:
    """Unread notifications of the member (one query)."""
    return int(
        for_member(membership)
        .filter(is_read=False)  # type: ignore[misc]
        .count()
    )


def do_mark_read(user: User, membership: Membership, ids: Iterable[uuid.UUID] | None) -> int:
    """Mark the member's notifications read (``ids``, or all of them when None)."""
    notes = for_member(membership).filter(is_read=False)  # type: ignore[misc]
    if ids is not None:
        notes = notes.filter(pk__in=list(ids))
    now = timezone.now()
    with transaction.atomic():
        rows = [NotificationRead(notification=n, user=user, read_at=now) for n in notes]
        NotificationRead.objects.bulk_create(rows, ignore_conflicts=True)
        if rows:
            record(
                "notification.read",
                actor=user,
                clinic=membership.clinic,
                details={"notifications": [str(r.notification_id) for r in rows]},
            )
    return len(rows)


# --- the events that raise them ----------------------------------------------------------


def _fridge(event: AuditEvent, clinic: Clinic) -> None:
    details = event.details or {}
    if event.action == "stock.fridge_reading" and details.get("excursion"):
        what = f"{details.get('temperature_c')} °C"
    elif event.action == "stock.fridge_import" and details.get("excursions"):
        what = _("%(count)s readings out of range in an imported log") % {
            "count": details["excursions"]
        }
    else:
        return
    from mesochart.stock.models import Fridge

    fridge = Fridge.objects.filter(pk=event.object_id, clinic=clinic).first()
    if fridge is None:
        return
    notify(
        clinic,
        NotificationKind.FRIDGE_EXCURSION,
        _("Temperature excursion in %(fridge)s: %(what)s; its lots are quarantined")
        % {"fridge": fridge.name, "what": what},
        reverse("stock:fridge_detail", args=[fridge.pk]),
        f"excursion:{event.pk}",
    )


def _session(event: AuditEvent, clinic: Clinic) -> None:
    from mesochart.care.models import TreatmentSession

    details = event.details or {}
    session = (
        TreatmentSession.objects.filter(pk=event.object_id, clinic=clinic)
        .select_related("patient")
        .first()
    )
    if session is None:
        return
    link = reverse("care:session", args=[session.pk])
    if event.action == "session.sign" and details.get("cosign_required"):
        notify(
            clinic,
            NotificationKind.AWAITING_COSIGN,
            _("Session of %(patient)s (%(day)s) awaits a co-signature")
            % {"patient": session.patient.full_name, "day": f"{session.day:%Y-%m-%d}"},
            link,
            f"cosign:{session.pk}",
        )
    elif event.action == "session.create":
        from mesochart.care.services.plans import active_prescription, needs_prescription
        from mesochart.library.services import library_for

        library = library_for(clinic)
        if session.protocol not in library.protocols:
            return
        if not needs_prescription(library, session.protocol) or active_prescription(
            session.patient, session.protocol, session.scheduled_for
        ):
            return
        notify(
            clinic,
            NotificationKind.AWAITING_PRESCRIPTION,
            _("Session of %(patient)s planned for %(day)s needs a prescription")
            % {"patient": session.patient.full_name, "day": f"{session.scheduled_for:%Y-%m-%d}"},
            link,
            f"prescription:{session.pk}",
        )


def _cluster(event: AuditEvent, clinic: Clinic) -> None:
    from mesochart.outcomes.models import ClusterAlert

    alert = ClusterAlert.objects.filter(pk=event.object_id, clinic=clinic).first()
    if alert is None:
        return
    notify(
        clinic,
        NotificationKind.CLUSTER_ALERT,
        _("Cluster alert: %(label)s") % {"label": alert.label},
        reverse("outcomes:alert", args=[alert.pk]),
        f"cluster:{alert.pk}",
    )


def _message_failed(event: AuditEvent, clinic: Clinic) -> None:
    from .models import Message

    message = Message.objects.filter(pk=event.object_id, clinic=clinic).first()
    if message is None:
        return
    notify(
        clinic,
        NotificationKind.MESSAGE_FAILED,
        _("%(kind)s to %(patient)s was not delivered")
        % {"kind": message.get_kind_display(), "patient": message.patient.full_name},
        reverse("messaging:message", args=[message.pk]),
        f"failed:{message.pk}:{message.attempts}",
    )


HANDLERS: dict[str, Callable[[AuditEvent, Clinic], None]] = {
    "stock.fridge_reading": _fridge,
    "stock.fridge_import": _fridge,
    "session.sign": _session,
    "session.create": _session,
    "cluster_alert.raise": _cluster,
    "message.failed": _message_failed,
}


def _run(handler: Callable[[AuditEvent, Clinic], None], event: AuditEvent) -> None:
    if event.clinic_id is None:
        return
    clinic = Clinic.objects.filter(pk=event.clinic_id).first()
    if clinic is not None:
        handler(event, clinic)


def _on_audit_event(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    handler = HANDLERS.get(instance.action)
    if not created or handler is None or instance.clinic_id is None:
        return
    # After the write commits: a rolled-back write raises nothing, and the audit chain's
    # head is not locked by a nested event.
    transaction.on_commit(lambda: _run(handler, instance), robust=True)


def connect() -> None:
    post_save.connect(_on_audit_event, sender=AuditEvent, dispatch_uid="messaging.notifications")
