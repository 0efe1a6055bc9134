"""Sample ids for the URL walker (core/tests/test_url_walker.py)."""

from __future__ import annotations

from typing import Any

from mesochart.messaging import calendar, services
from mesochart.messaging.models import Channel, MessageKind


def url_samples(clinic: Any, staff: Any, patient: Any) -> dict[str, Any]:
    message = services.queue_message(
        patient=patient,
        kind=MessageKind.NEXT_SESSION,
        channel=Channel.SMS,
        context={"due": clinic.today()},
        key="url-walker",
    )
    assert message is not None
    # A live feed token is the credential itself (whoever holds it reads the feed); a
    # revoked one must answer 404 to everyone.
    calendar.do_create_feed(staff["practitioner"], clinic)
    feed = calendar.do_revoke_feed(staff["practitioner"], clinic)
    return {"message_id": message.pk, "token": feed.token}
