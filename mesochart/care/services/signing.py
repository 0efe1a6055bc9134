"""Signing a session, co-signing it, and addenda to the signed record.

:func:`do_sign_session` locks the session, re-runs the check inside the transaction and
refuses with every reason at once; otherwise stock, packs and single-use items are
consumed through their owners (stock, sterility), the engine input and result are kept
with the session, the history summary (zones, products) is written, and the follow-ups
are created, all in one transaction: a refusal from stock or sterility part-way leaves
nothing half-signed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesochart.accounts.models import Membership, User
from mesochart.accounts.permissions import has_perm
from mesochart.audit.services import record
from mesochart.errors import Conflict, InvalidInput, NotAllowed
from mesochart.library.services import library_for
from mesochart.protocols import ENGINE_VERSION, Library
from mesochart.sterility import services as sterility
from mesochart.stock import services as stock
from mesochart.stock.models import Container

from ..models import (
    ChartEntry,
    SessionAddendum,
    SessionStatus,
    TreatmentSession,
)
from .charting import _counted
from .check import entry_modality, load_chart, prescription_products, run_check, signed_days
from .followups import create_follow_ups
from .lifecycle import locked_session, set_session_status


class SessionBlocked(Conflict):
    """Signing refused: ``reasons`` lists what stands in the way."""

    code = "session.blocked"

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message, field="session")
        self.reasons = reasons


def needs_cosign(library: Library, protocol: str, entries: Iterable[ChartEntry]) -> bool:
    """A prescription-only product is charted (or, with nothing charted, is one of the
    protocol's products): a prescriber supervises with a co-signature."""
    codes = {e.product for e in entries if e.product}
    if not codes:
        codes = set(library.protocols[protocol].products)
    return bool(prescription_products(library, codes))


def _quantity(entry: ChartEntry) -> Decimal:
    assert entry.volume_ml is not None
    qty = (entry.volume_ml * entry.points).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return max(qty, Decimal("0.01"))


def do_sign_session(
    actor: User, membership: Membership, session: TreatmentSession
) -> TreatmentSession:
    """Sign: re-check, then consume stock, packs and items and create the follow-ups, all in
    one transaction. Refuses (``SessionBlocked``) with every reason at once."""
    if not has_perm(membership, "session.sign"):
        raise NotAllowed(_("Signing needs a practitioner or a prescriber."), field="session")
    with transaction.atomic():
        session = locked_session(session)
        if session.status != SessionStatus.IN_PROGRESS:
            raise Conflict(
                _("Only a session in progress can be signed; this one is %(status)s.")
                % {"status": session.get_status_display().lower()},
                field="session",
            )
        now = timezone.now()
        library = library_for(session.clinic)
        state = load_chart(session, library, at=now)
        check = run_check(session, state=state)
        entries = state.entries
        reasons = []
        if not entries:
            reasons.append(_("Nothing is charted."))
        for f in check.blocking:
            tail = "" if f["severity"] == "block" else _(" (a prescriber may override it)")
            reasons.append(f"{f['message']}{tail}")
        if reasons:
            raise SessionBlocked(_("This session cannot be signed yet."), sorted(set(reasons)))
        vials = {v.container.lot_id: v.container for v in state.vials}
        _consume(actor, session, entries, now, vials)
        cosign = needs_cosign(library, session.protocol, entries)
        fields = {
            "signed_at": now,
            "signed_by": actor,
            "performed_on": session.clinic.local_day(now),
            "check_input": check.engine_input,
            "check_result": {
                "verdict": check.verdict,
                "engine_version": ENGINE_VERSION,
                "findings": check.findings,
            },
            "charted_zones": sorted({e.zone for e in entries}),
            "charted_products": sorted({e.product for e in entries if e.product}),
            "charted_modalities": sorted(
                {m for e in entries if (m := entry_modality(library, e)) is not None}
            ),
            "cosign_required": cosign,
            "cosigned_at": now if cosign and has_perm(membership, "session.cosign") else None,
            "cosigned_by": actor if cosign and has_perm(membership, "session.cosign") else None,
        }
        # Set first so the follow-ups and the audit event see the signed session.
        for name in ("signed_at", "performed_on"):
            setattr(session, name, fields[name])
        follow_ups = create_follow_ups(
            library,
            session,
            [*signed_days(session.patient, session.protocol), session.day],
        )
        set_session_status(
            actor,
            session,
            SessionStatus.SIGNED,
            event="sign",
            fields=fields,
            details={
                "verdict": check.verdict,
                "entries": len(entries),
                "points": sum(e.points for e in entries),
                "overrides": [f["code"] for f in check.findings if f.get("override")],
                "follow_ups": [f.kind for f in follow_ups],
                "cosign_required": cosign,
            },
        )
    return session


def _consume(
    actor: User,
    session: TreatmentSession,
    entries: list[ChartEntry],
    now: datetime,
    vials: Mapping[uuid.UUID, Container],
) -> None:
    """Stock leaves for what was given; a lot drawn from an opened vial of the session is
    given from that container (stock checks its beyond-use date and single-use binding)."""
    clinic, patient = session.clinic, session.patient
    for e in entries:
        if e.volume_ml is None:
            continue
        if e.preparation is not None:
            stock.do_administer_preparation(
                actor,
                clinic,
                e.preparation,
                patient,
                _quantity(e),
                e.zone,
                occurred_at=now,
                session_ref=session.pk,
                entry_ref=e.pk,
            )
        elif e.lot is not None and not _counted(e.lot):
            stock.do_administer(
                actor,
                clinic,
                e.lot,
                patient,
                _quantity(e),
                e.zone,
                occurred_at=now,
                session_ref=session.pk,
                entry_ref=e.pk,
                container=vials.get(e.lot.pk),
            )
    first_entry: dict[uuid.UUID, ChartEntry] = {}
    for e in entries:
        for lot in (e.lot, e.topical_lot):
            if lot is not None and lot.pk not in first_entry:
                first_entry[lot.pk] = e
    for supply in session.supplies.select_related("lot"):
        entry = first_entry.get(supply.lot_id)
        stock.do_administer(
            actor,
            clinic,
            supply.lot,
            patient,
            supply.quantity,
            entry.zone if entry else "",
            occurred_at=now,
            session_ref=session.pk,
            entry_ref=entry.pk if entry else None,
        )
    for row in session.packs.select_related("pack"):
        sterility.do_use_pack(actor, clinic, row.pack, patient, now, session_ref=session.pk)
    for item in session.items.select_related("item_lot"):
        sterility.do_use_single_use_item(
            actor,
            clinic,
            item.item_lot,
            item.serial or None,
            patient,
            now,
            session_ref=session.pk,
        )


def do_cosign(actor: User, membership: Membership, session: TreatmentSession) -> TreatmentSession:
    if not has_perm(membership, "session.cosign"):
        raise NotAllowed(_("Only a prescriber co-signs."), field="session")
    with transaction.atomic():
        session = locked_session(session)
        if not session.awaiting_cosign:
            raise Conflict(_("This session does not await a co-signature."), field="session")
        if session.signed_by_id == actor.pk:
            raise Conflict(_("A co-signature comes from a second clinician."), field="session")
        session.cosigned_at = timezone.now()
        session.cosigned_by = actor
        session.save(update_fields=["cosigned_at", "cosigned_by"])
        record("session.cosign", actor=actor, clinic=session.clinic, obj=session, details={})
    return session


def do_add_addendum(actor: User, session: TreatmentSession, text: str) -> SessionAddendum:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(_("The addendum may not be empty."), field="text")
    with transaction.atomic():
        session = locked_session(session)
        if session.status != SessionStatus.SIGNED:
            raise Conflict(
                _("Addenda are for signed sessions; edit the chart instead."), field="text"
            )
        row = SessionAddendum.objects.create(
            session=session, text=text, author=actor, created_at=timezone.now()
        )
        record(
            "session.addendum",
            actor=actor,
            clinic=session.clinic,
            obj=session,
            details={"addendum": str(row.pk), "text": text},
        )
    return row
