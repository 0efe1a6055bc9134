from __future__ import annotations

import pytest
from django.core.management import call_command

from mesochart.audit.models import AuditEvent
from mesochart.audit.services import verify_chain
from mesochart.outcomes.models import AdverseEvent, ClusterAlert, OutcomeScore

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_on(settings):
    """`mesochart demo` runs with DEBUG on (as `make run` does)."""
    settings.DEBUG = True


def test_demo_has_scores_adverse_events_and_a_cluster_alert_once():
    call_command("demo")
    counts = (OutcomeScore.objects.count(), AdverseEvent.objects.count())
    events = AuditEvent.objects.count()
    assert counts == (8, 3)
    assert ClusterAlert.objects.filter(acknowledged_at__isnull=True).count() == 1
    assert AdverseEvent.objects.filter(event_type="nodule", antibiotics_given=True).exists()
    call_command("demo")
    assert (OutcomeScore.objects.count(), AdverseEvent.objects.count()) == counts
    assert AuditEvent.objects.count() == events
    assert verify_chain().ok
