"""Messages to patients: queue, send, deliver (idempotent, retried), opt-outs, reminders
at the clinic's offsets, follow-up messages and recall notices.

The appointment book calls ``send_message``/``queue_message`` for confirmations and
``schedule_reminders`` for reminders; ``cancel_messages`` withdraws what is still queued.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mesochart.accounts.models import Clinic, User
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput
from mesochart.patients.models import Patient

from . import sms
from .models import Channel, ContactPreference, Message, MessageKind, MessageStatus
from .models import MessagingSettings as ClinicMessaging

logger = logging.getLogger(__name__)

MAX_OFFSET_HOURS = 24 * 30


# --- the clinic's policy and the patient's preferences ------------------------------


def settings_for(clinic: Clinic) -> ClinicMessaging:
    """The clinic's messaging settings (the defaults, unsaved, until a manager saves them).
    Runs a query."""
    found = ClinicMessaging.objects.filter(clinic=clinic).first()
    return found if found is not None else ClinicMessaging(clinic=clinic)


def parse_offsets(text: str) -> list[int]:
    """``"48, 24"`` -> ``[48, 24]``: whole hours before the appointment, largest first."""
    values: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip().lower().removesuffix("h").strip()
        if not part:
            continue
        if not part.isdigit():
            raise InvalidInput(
                _("Reminder offsets: %(value)s is not a whole number of hours.") % {"value": part},
                field="reminder_offsets_hours",
            )
        hours = int(part)
        if not 1 <= hours <= MAX_OFFSET_HOURS:
            raise InvalidInput(
                _("Reminder offsets: each is between 1 and %(max)s hours.")
                % {"max": MAX_OFFSET_HOURS},
                field="reminder_offsets_hours",
            )
        values.add(hours)
    return sorted(values, reverse=True)


def do_update_settings(actor: User, clinic: Clinic, data: Mapping[str, Any]) -> ClinicMessaging:
    channels = [c for c in data.get("channels", []) if c in Channel.values]
    if not channels:
        raise InvalidInput(_("Choose at least one channel."), field="channels")
    send_hour = int(data["send_hour"])
    if not 0 <= send_hour <= 23:
        raise InvalidInput(_("The hour is between 0 and 23."), field="send_hour")
    values = {
        "reminder_offsets_hours": list(data["reminder_offsets_hours"]),
        "channels": channels,
        "send_hour": send_hour,
        "early_check_messages": bool(data["early_check_messages"]),
        "next_session_messages": bool(data["next_session_messages"]),
        "next_session_notice_days": int(data["next_session_notice_days"]),
    }
    with transaction.atomic():
        row, _created = ClinicMessaging.objects.select_for_update().get_or_create(clinic=clinic)
        before = {k: getattr(row, k) for k in values}
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        record(
            "messaging.settings",
            actor=actor,
            clinic=clinic,
            obj=row,
            details={"before": before, "after": values},
        )
    return row


def preference_for(patient: Patient) -> ContactPreference:
    """The patient's opt-outs (none, unsaved, until staff record one). Runs a query."""
    found = ContactPreference.objects.filter(patient=patient).first()
    return found if found is not None else ContactPreference(patient=patient)


def do_set_preferences(
    actor: User, patient: Patient, *, email_opt_out: bool, sms_opt_out: bool
) -> ContactPreference:
    with transaction.atomic():
        pref, _created = ContactPreference.objects.select_for_update().get_or_create(
            patient=patient
        )
        before = {"email_opt_out": pref.email_opt_out, "sms_opt_out": pref.sms_opt_out}
        pref.email_opt_out, pref.sms_opt_out = email_opt_out, sms_opt_out
        pref.updated_by = actor
        pref.save()
        record(
            "messaging.preferences",
            actor=actor,
            clinic=patient.clinic,
            obj=patient,
            details={
                "before": before,
                "after": {"email_opt_out": email_opt_out, "sms_opt_out": sms_opt_out},
            },
        )
    return pref


def address_for(patient: Patient, channel: str) -> str:
    return (patient.email if channel == Channel.EMAIL else patient.phone).strip()


# --- queueing ------------------------------------------------------------------------


def message_language(patient: Patient) -> str:
    """The patient's language when Mesochart has a translation for it (a compiled catalog
    in ``mesochart/locale``), else the site's: a message is never half-translated."""
    language = patient.preferred_language
    catalog = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.mo"
    return language if catalog.exists() else settings.LANGUAGE_CODE


def render(
    kind: str, channel: str, patient: Patient, context: Mapping[str, Any]
) -> tuple[str, str]:
    """Subject and body of a message in the patient's language (templates under
    ``messaging/messages/``: ``<kind>_subject.txt`` and ``<kind>_<channel>.txt``)."""
    if kind not in MessageKind.values:
        raise InvalidInput(f"Unknown message kind {kind!r}.", field="kind")
    ctx = {
        "given_name": patient.given_name,
        "clinic_name": patient.clinic.name,
        "clinic_address": patient.clinic.address,
        **context,
    }
    with (
        translation.override(message_language(patient)),
        timezone.override(zoneinfo.ZoneInfo(patient.clinic.timezone)),
    ):
        subject = render_to_string(f"messaging/messages/{kind}_subject.txt", ctx)
        body = render_to_string(f"messaging/messages/{kind}_{channel}.txt", ctx)
    return " ".join(subject.split())[:200], body.strip()


def queue_message(
    *,
    patient: Patient,
    kind: str,
    channel: str,
    context: Mapping[str, Any],
    key: str,
    due_at: datetime | None = None,
    actor: User | None = None,
) -> Message | None:
    """Log one message to ``patient`` on ``channel``, due at ``due_at`` (now by default).

    Idempotent on ``key``: a message already queued under it is returned unchanged. None
    when the patient has no address for the channel; a message marked "not sent: opted
    out" when the patient opted out of it (logged, never sent)."""
    if channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {channel!r}.", field="channel")
    existing = Message.objects.filter(key=key).first()
    if existing is not None:
        return existing
    address = address_for(patient, channel)
    if not address:
        return None
    subject, body = render(kind, channel, patient, context)
    status = (
        MessageStatus.SKIPPED_OPTED_OUT
        if preference_for(patient).opted_out(channel)
        else MessageStatus.QUEUED
    )
    clinic = patient.clinic
    try:
        with transaction.atomic():
            message = Message.objects.create(
                organisation_id=clinic.organisation_id,
                clinic=clinic,
                patient=patient,
                channel=channel,
                kind=kind,
                subject=subject,
                body=body,
                to_address=address,
                status=status,
                key=key[:200],
                due_at=due_at or timezone.now(),
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            record(
                "message.queue",
                actor=actor,
                clinic=clinic,
                obj=message,
                details={
                    "patient": str(patient.pk),
                    "kind": kind,
                    "channel": channel,
                    "status": status,
                    "due_at": message.due_at.isoformat(),
                    "key": message.key,
                },
            )
    except IntegrityError:
        # The same key was queued concurrently: that one stands.
        return Message.objects.get(key=key[:200])
    return message


def enqueue_delivery(message: Message) -> None:
    """Hand the message to the task queue once the current transaction commits."""
    from . import tasks

    message_id = str(message.pk)
    transaction.on_commit(lambda: tasks.deliver_message.enqueue(message_id))


def send_message(
    *,
    patient: Patient,
    kind: str,
    channel: str,
    context: Mapping[str, Any],
    key: str,
    actor: User | None = None,
) -> Message | None:
    """``queue_message`` due now, handed to the task queue (idempotent on ``key``)."""
    message = queue_message(
        patient=patient, kind=kind, channel=channel, context=context, key=key, actor=actor
    )
    if message is not None and message.status == MessageStatus.QUEUED:
        enqueue_delivery(message)
    return message


def clinic_channels(patient: Patient, channels: Iterable[str] | None = None) -> list[str]:
    allowed = settings_for(patient.clinic).channels
    return [c for c in (channels or allowed) if c in allowed and c in Channel.values]


def send_messages(
    *,
    patient: Patient,
    kind: str,
    context: Mapping[str, Any],
    key: str,
    actor: User | None = None,
    channels: Iterable[str] | None = None,
) -> list[Message]:
    """``send_message`` on every channel of the clinic's settings (key ``<key>:<channel>``)."""
    out = []
    for channel in clinic_channels(patient, channels):
        message = send_message(
            patient=patient,
            kind=kind,
            channel=channel,
            context=context,
            key=f"{key}:{channel}",
            actor=actor,
        )
        if message is not None:
            out.append(message)
    return out


def schedule_reminders(
    kind: str,
    patient: Patient,
    when: datetime,
    context: Mapping[str, Any],
    key: str,
    *,
    actor: User | None = None,
) -> list[Message]:
    """Queue the reminders of an event at ``when``: one per offset of the clinic's settings
    (default 48 h and 24 h before) and per channel, due at ``when - offset``. An offset
    already past is left out. Keys ``<key>:<hours>h:<channel>``; calling again with the
    same key adds nothing; ``cancel_messages(key)`` withdraws them."""
    if timezone.is_naive(when):
        raise InvalidInput("The reminder's time must carry its time zone.", field="when")
    clinic_settings = settings_for(patient.clinic)
    local = when.astimezone(zoneinfo.ZoneInfo(patient.clinic.timezone))
    ctx = {"when": local, **context}
    now = timezone.now()
    out: list[Message] = []
    for hours in clinic_settings.reminder_offsets_hours:
        due = when - timedelta(hours=int(hours))
        if due <= now:
            continue
        for channel in clinic_channels(patient):
            message = queue_message(
                patient=patient,
                kind=kind,
                channel=channel,
                context={**ctx, "hours_before": int(hours)},
                key=f"{key}:{int(hours)}h:{channel}",
                due_at=due,
                actor=actor,
            )
            if message is not None:
                out.append(message)
    return out


def cancel_messages(key: str, *, actor: User | None = None) -> int:
    """Withdraw every still-queued message whose key starts with ``key`` (a cancelled or
    moved appointment); sent ones stay as they are."""
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update().filter(
                key__startswith=key, status=MessageStatus.QUEUED
            )
        )
        for message in rows:
            message.status = MessageStatus.CANCELLED
            message.save(update_fields=["status"])
            record("message.cancel", actor=actor, clinic=message.clinic, obj=message)
    return len(rows)


# --- delivery ------------------------------------------------------------------------


def _transport(message: Message) -> str:
    if message.channel == Channel.EMAIL:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers={"X-Mesochart-Message": str(message.pk)},
            connection=get_connection(fail_silently=False),
        )
        email.send()
        return ""
    return sms.get_backend().send(message.to_address, message.body, str(message.pk))


def retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=settings.MESSAGING_RETRY_MINUTES * 2 ** max(attempts - 1, 0))


def deliver(message_id: Any) -> Message:
    """Send one due message, at most once: the row is claimed (status "sending") and
    committed before the provider is called, so a second run finds it taken. A failure
    queues it again after a delay until MESSAGING_MAX_ATTEMPTS, then marks it failed
    (staff see it and may retry)."""
    now = timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("clinic", "patient")
            .get(pk=message_id)
        )
        if message.status != MessageStatus.QUEUED or message.due_at > now:
            return message
        if preference_for(message.patient).opted_out(message.channel):
            message.status = MessageStatus.SKIPPED_OPTED_OUT
            message.save(update_fields=["status"])
            record("message.skip", actor=None, clinic=message.clinic, obj=message)
            return message
        message.status = MessageStatus.SENDING
        message.attempts += 1
        message.last_attempt_at = now
        message.save(update_fields=["status", "attempts", "last_attempt_at"])
    error = ""
    provider_id = ""
    try:
        provider_id = _transport(message)
    except Exception as exc:  # every provider failure is kept on the message
        error = str(exc) or type(exc).__name__
        logger.warning("Message %s not delivered: %s", message.pk, error)
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("clinic").get(pk=message.pk)
        if not error:
            message.status = MessageStatus.SENT
            message.sent_at = timezone.now()
            message.provider_id = provider_id[:200]
            message.last_error = ""
            action = "message.sent"
        elif message.attempts < settings.MESSAGING_MAX_ATTEMPTS:
            message.status = MessageStatus.QUEUED
            message.due_at = timezone.now() + retry_delay(message.attempts)
            message.last_error = error[:2000]
            action = "message.attempt_failed"
        else:
            message.status = MessageStatus.FAILED
            message.last_error = error[:2000]
            action = "message.failed"
        message.save(update_fields=["status", "sent_at", "provider_id", "last_error", "due_at"])
        record(
            action,
            actor=None,
            clinic=message.clinic,
            obj=message,
            details={"attempts": message.attempts, "error": message.last_error[:300]},
        )
    return message


def do_retry(actor: User, message: Message) -> Message:
    """Staff send a failed (or stuck) message again now (one more attempt)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("clinic").get(pk=message.pk)
        if not message.can_retry:
            raise Conflict(
                _("Only a failed message can be retried; this one is %(status)s.")
                % {"status": message.get_status_display().lower()},
                field="message",
            )
        message.status = MessageStatus.QUEUED
        message.due_at = timezone.now()
        message.save(update_fields=["status", "due_at"])
        record("message.retry", actor=actor, clinic=message.clinic, obj=message)
        enqueue_delivery(message)
    return message


# --- what is due ---------------------------------------------------------------------


def queue_follow_up_messages(now: datetime | None = None) -> int:
    """Queue the result-check (day 2-3) and next-session-due messages whose time has come:
    the result check on its due day, the next session ``next_session_notice_days`` before
    it is due, from the clinic's ``send_hour`` on (clinic time). Never for a follow-up
    already past or closed. Idempotent (one key per follow-up and channel)."""
    from mesochart.care.models import FollowUp, FollowUpKind, FollowUpStatus

    now = now or timezone.now()
    queued = 0
    for clinic in Clinic.objects.all():
        policy = settings_for(clinic)
        local = now.astimezone(zoneinfo.ZoneInfo(clinic.timezone))
        if local.hour < policy.send_hour:
            continue
        today = local.date()
        kinds = []
        if policy.early_check_messages:
            kinds.append(FollowUpKind.EARLY_CHECK)
        if policy.next_session_messages:
            kinds.append(FollowUpKind.NEXT_SESSION)
        if not kinds:
            continue
        horizon = today + timedelta(days=policy.next_session_notice_days)
        follow_ups = FollowUp.objects.filter(
            clinic=clinic, status=FollowUpStatus.OPEN, kind__in=kinds, due__gte=today
        ).select_related("patient__clinic", "session")
        due = [
            fu
            for fu in follow_ups.filter(due__lte=horizon)
            if fu.kind == FollowUpKind.NEXT_SESSION
            or (fu.due == today and fu.kind == FollowUpKind.EARLY_CHECK)
        ]
        keys = {f"followup:{fu.pk}:{c}": fu for fu in due for c in policy.channels}
        done = set(Message.objects.filter(key__in=list(keys)).values_list("key", flat=True))
        for key, fu in keys.items():
            if key in done:
                continue
            if fu.kind == FollowUpKind.EARLY_CHECK:
                kind, context = MessageKind.EARLY_CHECK, {"treatment_day": fu.session.day}
            else:
                kind, context = MessageKind.NEXT_SESSION, {"due": fu.due}
            message = queue_message(
                patient=fu.patient,
                kind=kind,
                channel=key.rsplit(":", 1)[1],
                context=context,
                key=key,
                due_at=now,
            )
            queued += message is not None
    return queued


def send_due_messages(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Queue the follow-up messages now due, then deliver every queued message whose time
    has come (oldest first, up to ``limit``). Safe to run twice or in parallel."""
    now = now or timezone.now()
    follow_ups = queue_follow_up_messages(now)
    ids = list(
        Message.objects.filter(status=MessageStatus.QUEUED, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"follow_up_messages": follow_ups, "sent": 0, "failed": 0, "retrying": 0}
    for pk in ids:
        status = deliver(pk).status
        if status == MessageStatus.SENT:
            counts["sent"] += 1
        elif status == MessageStatus.FAILED:
            counts["failed"] += 1
        elif status == MessageStatus.QUEUED:
            counts["retrying"] += 1
    return counts


# --- recall notices ------------------------------------------------------------------


@dataclass
class RecallNotices:
    patients: int = 0
    messages: list[Message] = field(default_factory=list)
    already: int = 0
    unreachable: list[str] = field(default_factory=list)


def recall_key(kind: str, identifier: str) -> str:
    return f"recall:{kind}:{identifier.strip()}:"


def do_send_recall_notices(
    actor: User, clinic: Clinic, kind: str, identifier: str, product: str | None = None
) -> RecallNotices:
    """A recall notice to every patient of the clinic the lot, pack or cycle reached, on
    each channel of the clinic's settings; each patient's send audited. A patient already
    sent this recall's notice is not sent it again."""
    from mesochart.recall.models import RecallKind
    from mesochart.recall.services import find_rows, rows_for_clinic

    rows = rows_for_clinic(clinic, find_rows(clinic.organisation_id, kind, identifier, product))
    first_day: dict[Any, Any] = {}
    for row in rows:
        first_day.setdefault(row.patient_id, clinic.local_day(row.occurred_at))
    patients = Patient.objects.filter(clinic=clinic, pk__in=first_day).select_related("clinic")
    result = RecallNotices(patients=len(first_day))
    prefix = recall_key(kind, identifier)
    what = "instrument" if kind in (RecallKind.PACK, RecallKind.CYCLE) else "product"
    with transaction.atomic():
        for patient in patients:
            key = f"{prefix}{patient.pk}"
            had = set(
                Message.objects.filter(key__startswith=key + ":").values_list("pk", flat=True)
            )
            messages = send_messages(
                patient=patient,
                kind=MessageKind.RECALL_NOTICE,
                context={"treatment_day": first_day[patient.pk], "what": what},
                key=key,
                actor=actor,
            )
            new = [m for m in messages if m.pk not in had]
            if not messages:
                result.unreachable.append(patient.full_name)
                continue
            if not new:
                result.already += 1
                continue
            result.messages.extend(new)
            record(
                "recall.notice",
                actor=actor,
                clinic=clinic,
                obj=patient,
                details={
                    "kind": kind,
                    "identifier": identifier.strip(),
                    "messages": [str(m.pk) for m in new],
                    "channels": [m.channel for m in new],
                },
            )
    return result


def recall_notices(clinic: Clinic, kind: str, identifier: str) -> dict[str, list[Message]]:
    """This recall's notices by patient id (one query)."""
    out: dict[str, list[Message]] = {}
    for message in Message.objects.filter(
        clinic=clinic,
        kind=MessageKind.RECALL_NOTICE,
        key__startswith=recall_key(kind, identifier),
    ).order_by("channel"):
        out.setdefault(str(message.patient_id), []).append(message)
    return out
