from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mesochart.audit.models import AuditEvent
from mesochart.conftest import create_patient
from mesochart.outcomes import services
from mesochart.outcomes.models import ClusterAlert
from mesochart.protocols import load_library

from .factories import make_lot, make_packs, make_preparation, record_ae

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def second(clinic, staff):
    return create_patient(clinic, staff["manager"], given_name="Ana", family_name="Silva")


@pytest.mark.parametrize(("days_apart", "alerted"), [(30, True), (31, False), (0, True)])
def test_two_infections_of_one_lot_within_30_days_alert(
    clinic, staff, patient, second, days_apart, alerted
):
    lot = make_lot(clinic, staff)
    record_ae(
        clinic, staff, patient, event_type="infection", onset=TODAY - timedelta(days=40), lots=[lot]
    )
    record_ae(
        clinic,
        staff,
        second,
        event_type="nodule",
        onset=TODAY - timedelta(days=40 - days_apart),
        lots=[lot],
    )
    alerts = ClusterAlert.objects.all()
    assert alerts.count() == (1 if alerted else 0)
    if alerted:
        alert = alerts.get()
        assert (alert.kind, alert.object_id) == ("lot", lot.pk)
        assert alert.events.count() == 2 and alert.label == str(lot)
        assert alert.first_onset == TODAY - timedelta(days=40)
        assert alert.last_onset == TODAY - timedelta(days=40 - days_apart)
        assert AuditEvent.objects.filter(action="cluster_alert.raise").count() == 1


def test_events_on_different_lots_do_not_alert(clinic, staff, patient, second):
    record_ae(clinic, staff, patient, event_type="infection", lots=[make_lot(clinic, staff, "A")])
    record_ae(clinic, staff, second, event_type="infection", lots=[make_lot(clinic, staff, "B")])
    assert not ClusterAlert.objects.exists()


def test_other_event_types_do_not_count(clinic, staff, patient, second):
    lot = make_lot(clinic, staff)
    record_ae(clinic, staff, patient, event_type="bruising", lots=[lot])
    record_ae(clinic, staff, second, event_type="infection", lots=[lot])
    assert not ClusterAlert.objects.exists()


def test_packs_of_one_cycle_alert_on_the_cycle(clinic, staff, patient, second):
    first, other = make_packs(clinic, staff, 2)
    record_ae(clinic, staff, patient, event_type="infection", packs=[first])
    record_ae(clinic, staff, second, event_type="nodule", packs=[other])
    alert = ClusterAlert.objects.get()
    assert (alert.kind, alert.object_id) == ("cycle", first.cycle_id)
    assert alert.label.startswith(first.cycle.code)


def test_two_events_on_one_pack_alert_on_the_pack_and_its_cycle(clinic, staff, patient, second):
    pack = make_packs(clinic, staff, 1)[0]
    record_ae(clinic, staff, patient, event_type="infection", packs=[pack])
    record_ae(clinic, staff, second, event_type="infection", packs=[pack])
    assert set(ClusterAlert.objects.values_list("kind", flat=True)) == {"pack", "cycle"}


def test_one_mixture_preparation_alerts(clinic, staff, patient, second):
    prep = make_preparation(clinic)
    record_ae(clinic, staff, patient, event_type="nodule", preparations=[prep])
    record_ae(clinic, staff, second, event_type="nodule", preparations=[prep])
    assert ClusterAlert.objects.get().kind == "preparation"


def test_one_open_alert_per_object_gains_new_events_and_recording_twice_changes_nothing(
    clinic, staff, patient, second
):
    lot = make_lot(clinic, staff)
    first = record_ae(clinic, staff, patient, event_type="infection", lots=[lot])
    record_ae(clinic, staff, second, event_type="infection", lots=[lot])
    third = record_ae(clinic, staff, patient, event_type="nodule", lots=[lot])
    alert = ClusterAlert.objects.get()
    assert alert.events.count() == 3
    assert AuditEvent.objects.filter(action="cluster_alert.update").count() == 1
    # an update of an event already in the alert adds nothing and audits nothing more
    services.refresh_cluster_alerts(staff["manager"], first)
    services.do_update_adverse_event(staff["practitioner"], third, {"outcome": "recovering"})
    assert ClusterAlert.objects.count() == 1 and alert.events.count() == 3
    assert AuditEvent.objects.filter(action__startswith="cluster_alert.").count() == 2


def test_an_acknowledged_alert_stays_closed_and_a_new_event_opens_another(
    clinic, staff, patient, second
):
    lot = make_lot(clinic, staff)
    record_ae(clinic, staff, patient, event_type="infection", lots=[lot])
    record_ae(clinic, staff, second, event_type="infection", lots=[lot])
    alert = ClusterAlert.objects.get()
    services.do_acknowledge_alert(staff["manager"], alert, "Lot quarantined, supplier told")
    record_ae(clinic, staff, patient, event_type="nodule", lots=[lot])
    assert ClusterAlert.objects.count() == 2
    assert ClusterAlert.objects.filter(acknowledged_at__isnull=True).get().events.count() == 3


def test_updating_an_event_with_a_new_lot_link_raises_the_alert(clinic, staff, patient, second):
    lot = make_lot(clinic, staff)
    record_ae(clinic, staff, patient, event_type="infection", lots=[lot])
    later = record_ae(clinic, staff, second, event_type="infection")
    assert not ClusterAlert.objects.exists()
    services.do_update_adverse_event(staff["practitioner"], later, {"lots": [lot]})
    assert ClusterAlert.objects.get().events.count() == 2


def test_the_window_and_threshold_are_settings(clinic, staff, patient, second, settings):
    settings.OUTCOMES_CLUSTER_WINDOW_DAYS = 7
    settings.OUTCOMES_CLUSTER_MIN_EVENTS = 3
    lot = make_lot(clinic, staff)
    record_ae(
        clinic, staff, patient, event_type="infection", onset=TODAY - timedelta(days=20), lots=[lot]
    )
    record_ae(
        clinic, staff, second, event_type="infection", onset=TODAY - timedelta(days=12), lots=[lot]
    )
    record_ae(
        clinic, staff, patient, event_type="infection", onset=TODAY - timedelta(days=5), lots=[lot]
    )
    assert not ClusterAlert.objects.exists()  # 8 days apart is outside 7; two within 7 < 3
    record_ae(
        clinic, staff, second, event_type="nodule", onset=TODAY - timedelta(days=6), lots=[lot]
    )
    assert ClusterAlert.objects.get().events.count() == 3


def test_managers_see_open_alerts_on_the_dashboard_and_acknowledge_with_a_note(
    clinic, staff, patient, second, client_as
):
    lot = make_lot(clinic, staff)
    record_ae(clinic, staff, patient, event_type="infection", lots=[lot])
    record_ae(clinic, staff, second, event_type="infection", lots=[lot])
    alert = ClusterAlert.objects.get()
    url = reverse("outcomes:alert", args=[alert.pk])
    manager = client_as("manager")
    dashboard = manager.get(reverse("core:dashboard")).content.decode()
    assert 'id="cluster-alerts"' in dashboard and url in dashboard
    assert url not in client_as("reception").get(reverse("core:dashboard")).content.decode()
    assert url not in client_as("practitioner").get(reverse("core:dashboard")).content.decode()
    listing = manager.get(reverse("outcomes:alerts"))
    name = load_library().products[lot.product].name
    assert f"{name} lot {lot.lot_number}".encode() in listing.content  # named, not coded
    empty = manager.post(url, {"note": "  "})
    assert empty.status_code == 400 and "note" in empty.context["form"].errors
    assert client_as("prescriber").post(url, {"note": "seen"}).status_code == 403
    assert manager.post(url, {"note": "Lot quarantined"}).status_code == 302
    alert.refresh_from_db()
    assert (
        alert.acknowledged_by == staff["manager"]
        and alert.acknowledgement_note == "Lot quarantined"
    )
    assert AuditEvent.objects.filter(action="cluster_alert.acknowledge").count() == 1
    assert url not in manager.get(reverse("core:dashboard")).content.decode()
