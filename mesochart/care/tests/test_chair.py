"""The chair screen's truths through HTTP and the services: refusals come back with the
server's values and the error beside the field, queued clicks arrive as one batch, the
same finding at many points is one line, many points are corrected at once, a missing
volume is a live finding, and a click costs the same whatever the patient's history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesochart.audit.models import AuditEvent
from mesochart.care import maps
from mesochart.care.models import ChartEntry
from mesochart.care.services import charting, check
from mesochart.care.workspace import group_findings, number_ranges, workspace
from mesochart.conftest import create_patient
from mesochart.errors import InvalidInput
from mesochart.library.services import library_for

from .factories import sign
from .session_factories import (
    DCA_BRUSH,
    add_points,
    codes,
    dca_session,
    post_points,
    receive,
    set_brush,
    signed_history,
    started,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# A charting click (point, check, workspace) may not run more queries than this, whatever
# the history: session, user and memberships (3), the gate (1), lock, position, insert and
# audit (7 with savepoints), the workspace's reads (17, the opened vials among them) and the
# session save (3).
CLICK_QUERY_BUDGET = 32


@pytest.fixture
def lot(clinic: Any, staff: Any) -> Any:
    return receive(clinic, staff["manager"], quantity="500")


@pytest.fixture
def consented(clinic: Any, staff: Any, patient: Any, templates: Any) -> Any:
    sign(clinic, staff["practitioner"], patient)
    return patient


def centre(zone: str = "submental") -> dict[str, Any]:
    x, y = maps.zone_centroid("face", zone)
    return {"view": "face", "x": x, "y": y}


# --- refusals show the server's truth ---------------------------------------------------


def test_an_invalid_volume_answers_400_with_the_error_beside_the_field_and_the_kept_value(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, volume_ml="0.05")
    url = reverse("care:session_brush", args=[session.pk])
    data = {
        "kind": "injection",
        "lot": str(lot.pk),
        "technique": "point",
        "volume_ml": "abc",
        "depth_mm": "6",
    }
    response = client_as("practitioner").post(url, data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="err-volume_ml"' in html and "“abc” is not a number." in html
    assert "The chart keeps 0.050 mL." in html
    assert (
        'id="brush-volume" name="volume_ml" inputmode="decimal" autocomplete="off" value="0.050"'
        in html
    )
    session.refresh_from_db()
    assert session.brush["volume_ml"] == "0.050" and session.brush["depth_mm"] == "6.00"


def test_a_comma_decimal_is_read_as_a_decimal(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    data = {"kind": "injection", "lot": str(lot.pk), "technique": "point", "volume_ml": "0,15"}
    response = client_as("practitioner").post(
        reverse("care:session_brush", args=[session.pk]), data, **HTMX
    )
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.brush["volume_ml"] == "0.150"


def test_an_unknown_pack_code_is_refused_in_the_packs_card(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    response = client_as("assistant").post(
        reverse("care:pack_add", args=[session.pk]), {"pack": "PK-NOPE"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'data-error-area="packs"' in html
    assert 'id="packs-error"' in html and "PK-NOPE" in html


def test_a_refused_sign_off_answers_409_with_every_reason_in_the_sign_off_card(
    client_as: Any, clinic: Any, staff: Any, patient: Any, templates: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], patient, lot, points=51)
    response = client_as("practitioner").post(
        reverse("care:session_sign", args=[session.pk]), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 409 and 'data-error-area="signoff"' in html
    assert 'id="signoff-error"' in html and "Not signed." in html
    assert "No signed treatment consent" in html and "51 injection points" in html


def test_without_htmx_a_refusal_comes_back_as_a_message_on_the_session_page(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    client = client_as("practitioner")
    response = client.post(reverse("care:pack_add", args=[session.pk]), {"pack": "PK-NOPE"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "PK-NOPE" in page


# --- queued clicks --------------------------------------------------------------------------


def test_queued_clicks_arrive_as_one_batch_and_become_one_point_each(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    x, y = maps.zone_centroid("face", "submental")
    data = {"view": ["face"], "x": [x, x + 0.01, x - 0.01], "y": [y, y, y]}
    response = client_as("practitioner").post(
        reverse("care:point_add", args=[session.pk]), data, **HTMX
    )
    assert response.status_code == 200
    assert 'data-points="3"' in response.content.decode()
    assert list(session.entries.values_list("position", flat=True)) == [1, 2, 3]
    (event,) = AuditEvent.objects.filter(action="session.point_add")
    assert len(event.details["points"]) == 3


def test_a_click_outside_every_zone_is_refused_alone_and_the_others_are_charted(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    x, y = maps.zone_centroid("face", "submental")
    added = post_points(staff["practitioner"], session, [(x, y), ("0.01", "0.01"), (x, y)])
    assert len(added.entries) == 2 and len(added.refused) == 1
    assert "1 point is outside every treatment zone" in added.message
    assert session.entries.count() == 2


def test_a_batch_wholly_outside_the_zones_saves_nothing_and_names_the_map(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    with pytest.raises(InvalidInput) as exc:
        post_points(staff["practitioner"], session, [("0.01", "0.01"), ("0.99", "0.01")])
    assert exc.value.field == "map"
    assert not ChartEntry.objects.exists()


def test_a_partly_refused_batch_answers_200_with_the_refusal_over_the_map(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    x, y = maps.zone_centroid("face", "submental")
    data = {"view": ["face"], "x": [x, "0.01"], "y": [y, "0.01"]}
    response = client_as("practitioner").post(
        reverse("care:point_add", args=[session.pk]), data, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="map-error"' in html
    assert 'data-points="1"' in html


# --- grouped findings and corrections ----------------------------------------------------


def test_the_same_finding_at_six_points_is_one_group_listing_the_points(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, volume_ml="0.5")
    add_points(staff["practitioner"], session, 6)
    result = check.run_check(session)
    assert [f["code"] for f in result.findings].count("dose.volume_per_point") == 6
    entries = check.session_entries(session)
    groups = group_findings(library_for(clinic), result.findings, entries, result.paths)
    (group,) = [g for g in groups if g.code == "dose.volume_per_point"]
    assert len(group.entries) == 6 and group.numbers == "1\u20136"
    assert group.count_label == "6 points" and group.zones == ["Submental"]
    assert "Deoxycholic acid 10 mg/mL" in group.message and "dca-10mg-ml" not in group.message
    assert group.title == "Volume per injection point"


def test_the_workspace_shows_one_line_for_the_group(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, volume_ml="0.5")
    add_points(staff["practitioner"], session, 6)
    html = client_as("practitioner").get(reverse("care:session", args=[session.pk])).content
    text = html.decode()
    assert text.count('data-code="dose.volume_per_point"') == 1
    assert "Points 1\u20136" in text and 'data-count="6"' in text


def test_a_volume_is_corrected_for_selected_points_at_once(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, volume_ml="0.5")
    add_points(staff["practitioner"], session, 6)
    ids = [str(i) for i in session.entries.values_list("pk", flat=True)[:4]]
    response = client_as("practitioner").post(
        reverse("care:entries_edit", args=[session.pk]),
        {"edit-entries": ids, "edit-volume_ml": "0.2"},
        **HTMX,
    )
    assert response.status_code == 200
    volumes = sorted(session.entries.values_list("volume_ml", flat=True))
    assert volumes == [Decimal("0.200")] * 4 + [Decimal("0.500")] * 2
    event = AuditEvent.objects.get(action="session.entries_edit")
    assert event.details["new"] == {"volume_ml": "0.200"}
    assert set(event.details["entries"]) == set(ids)


def test_a_whole_zone_is_corrected_at_once_and_the_finding_goes(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, volume_ml="0.5")
    add_points(staff["practitioner"], session, 6)
    assert codes(session)["dose.volume_per_point"] == "block"
    other = receive(clinic, staff["manager"], lot_number="K9999", quantity="50")
    charting.do_update_entries(
        staff["practitioner"],
        session,
        charting.EntryChanges(volume_ml=Decimal("0.2"), depth_mm=Decimal("7"), lot=other),
        zone="submental",
    )
    assert "dose.volume_per_point" not in codes(session)
    assert set(session.entries.values_list("lot__lot_number", "depth_mm")) == {
        ("K9999", Decimal("7.00"))
    }


def test_a_correction_with_nothing_to_change_or_no_selection_names_the_field(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    url = reverse("care:entries_edit", args=[session.pk])
    client = client_as("practitioner")
    response = client.post(url, {"edit-volume_ml": "0.1"}, **HTMX)
    assert response.status_code == 400 and 'data-error-area="edit"' in response.content.decode()
    ids = [str(i) for i in session.entries.values_list("pk", flat=True)]
    response = client.post(url, {"edit-entries": ids}, **HTMX)
    assert response.status_code == 400
    response = client.post(url, {"edit-entries": ids, "edit-volume_ml": "lots"}, **HTMX)
    assert response.status_code == 400 and "“lots” is not a number." in response.content.decode()
    assert set(session.entries.values_list("volume_ml", flat=True)) == {Decimal("0.200")}


def test_points_of_another_session_cannot_be_corrected_through_this_one(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    first = dca_session(clinic, staff["practitioner"], consented, lot, points=1)
    other_patient = create_patient(clinic, staff["practitioner"], given_name="Ana", email="")
    sign(clinic, staff["practitioner"], other_patient)
    second = dca_session(clinic, staff["practitioner"], other_patient, lot, points=1)
    with pytest.raises(InvalidInput) as exc:
        charting.do_update_entries(
            staff["practitioner"],
            first,
            charting.EntryChanges(volume_ml=Decimal("0.1")),
            entry_ids=list(second.entries.values_list("pk", flat=True)),
        )
    assert exc.value.field == "entries"
    assert second.entries.get().volume_ml == Decimal("0.200")


# --- a missing volume is a live finding ---------------------------------------------------------


def test_an_injection_without_volume_is_a_live_block_not_a_surprise_at_signing(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = started(clinic, staff["practitioner"], consented)
    set_brush(staff["practitioner"], session, {"kind": "injection", "lot": str(lot.pk)})
    add_points(staff["practitioner"], session, 2)
    result = check.run_check(session)
    missing = [f for f in result.findings if f["code"] == "chart.volume_missing"]
    assert len(missing) == 2 and all(f["severity"] == "block" for f in missing)
    assert not missing[0]["overridable"]
    assert {f["where"] for f in missing} == {"injections[0].volume_ml", "injections[1].volume_ml"}


def test_an_injection_without_a_lot_is_a_live_finding_and_the_engine_still_runs(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = started(clinic, staff["practitioner"], consented)
    set_brush(staff["practitioner"], session, {"kind": "injection", "volume_ml": "0.2"})
    add_points(staff["practitioner"], session, 1)
    found = codes(session)
    assert found["chart.product_missing"] == "block"
    assert "consent.missing" not in found  # the engine ran on the rest of the chart


def test_number_ranges_read_like_a_clinician_writes_them() -> None:
    assert number_ranges([1, 2, 3, 4, 6, 9, 10]) == "1\u20134, 6, 9\u201310"
    assert number_ranges([5]) == "5" and number_ranges([]) == ""


# --- the cost of a click ---------------------------------------------------------------------


def test_a_click_costs_the_same_queries_with_300_earlier_sessions_as_with_none(
    client_as: Any, clinic: Any, staff: Any, templates: Any, lot: Any
) -> None:
    client = client_as("practitioner")
    counts = []
    for history, name in ((0, "New"), (300, "Long")):
        patient = create_patient(
            clinic, staff["practitioner"], given_name=name, email=f"{name}@example.org"
        )
        sign(clinic, staff["practitioner"], patient)
        signed_history(patient, staff["practitioner"], history)
        session = dca_session(clinic, staff["practitioner"], patient, lot, points=3)
        url = reverse("care:point_add", args=[session.pk])
        client.post(url, centre(), **HTMX)
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(url, centre(), **HTMX)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= CLICK_QUERY_BUDGET, counts


def test_the_history_of_300_sessions_reaches_the_engine_from_the_signed_summaries(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    signed_history(consented, staff["practitioner"], 300)
    history = check.history_for(consented)
    assert len(history) == 300
    assert history[-1].zones == ("cheek_left", "forehead")
    assert history[-1].products == ("ha-nonxl-vitamins",)
    assert history[0].date < history[-1].date


def test_the_workspace_reads_do_not_grow_with_entries(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.accounts.models import Membership

    session = dca_session(clinic, staff["practitioner"], consented, lot, points=2)
    membership = Membership.objects.get(user=staff["practitioner"])
    with CaptureQueriesContext(connection) as few:
        workspace(session, membership)
    add_points(staff["practitioner"], session, 40)
    with CaptureQueriesContext(connection) as many:
        workspace(session, membership)
    assert len(few) == len(many)


def test_a_single_use_item_of_another_clinic_is_refused_in_the_packs_card(
    client_as: Any,
    clinic: Any,
    staff: Any,
    consented: Any,
    lot: Any,
    other_clinic: Any,
    outsider: Any,
) -> None:
    from mesochart.sterility.tests.factories import make_item_lot

    session = dca_session(clinic, staff["practitioner"], consented, lot)
    foreign = make_item_lot(other_clinic, outsider, lot="THEIRS")
    ours = make_item_lot(clinic, staff["manager"], lot="OURS")
    client = client_as("assistant")
    url = reverse("care:item_add", args=[session.pk])
    response = client.post(url, {"item_lot": str(foreign.pk)}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and 'data-error-area="packs"' in html
    assert "Choose a single-use item lot." in html and not session.items.exists()
    response = client.post(url, {"item_lot": str(ours.pk), "serial": "S-1"}, **HTMX)
    assert response.status_code == 200 and session.items.get().serial == "S-1"


BRUSH_TEXT_LABELS = {
    "device": "Device",
    "device_lot": "Device lot",
    "energy": "Energy / settings",
    "technique": "Technique",
}


def column_limit(model: Any, name: str) -> int:
    return int(model._meta.get_field(name).max_length)


@pytest.mark.parametrize("field", sorted(BRUSH_TEXT_LABELS))
def test_a_brush_text_longer_than_the_chart_can_hold_is_refused_naming_the_field(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any, field: str
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    limit = column_limit(ChartEntry, field)
    data = {"kind": "injection", "lot": str(lot.pk), field: "x" * (limit + 1)}
    client = client_as("practitioner")
    response = client.post(reverse("care:session_brush", args=[session.pk]), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and 'data-error-area="brush"' in html
    message = f"{BRUSH_TEXT_LABELS[field]}: at most {limit} characters (this has {limit + 1})."
    assert f'<p id="err-{field}">{message}</p>' in html
    kept = session.brush
    session.refresh_from_db()
    assert session.brush == kept and session.brush["volume_ml"] == "0.200"
    # the next point still charts, through the browser's own request
    response = client.post(reverse("care:point_add", args=[session.pk]), centre(), **HTMX)
    assert response.status_code == 200 and session.entries.count() == 1


def test_a_brush_text_that_fits_exactly_is_kept_whole(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    limit = column_limit(ChartEntry, "device_lot")
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    session = set_brush(
        staff["practitioner"],
        session,
        {"kind": "microneedling", "device": "pen", "device_lot": "L" * limit},
    )
    add_points(staff["practitioner"], session, 1)
    assert session.entries.get().device_lot == "L" * limit


def test_a_brush_stored_too_long_is_refused_at_the_point_naming_the_field_not_a_500(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    """A brush saved before its texts were checked (or by any other door) cannot jam the
    chart with database errors: the point is refused with the field to change."""
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    limit = column_limit(ChartEntry, "device")
    type(session).objects.filter(pk=session.pk).update(
        brush={**session.brush, "device": "d" * (limit + 1)}
    )
    client = client_as("practitioner")
    response = client.post(reverse("care:point_add", args=[session.pk]), centre(), **HTMX)
    assert response.status_code == 400 and f"Device: at most {limit} characters" in (
        response.content.decode()
    )
    assert not session.entries.exists()
    data = {**DCA_BRUSH, "lot": str(lot.pk)}
    assert (
        client.post(reverse("care:session_brush", args=[session.pk]), data, **HTMX).status_code
        == 200
    )
    response = client.post(reverse("care:point_add", args=[session.pk]), centre(), **HTMX)
    assert response.status_code == 200 and session.entries.count() == 1


def test_the_service_refuses_a_brush_text_the_chart_cannot_hold(
    clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    too_long = "e" * (column_limit(ChartEntry, "energy") + 1)
    with pytest.raises(InvalidInput) as refused:
        charting.do_set_brush(
            staff["practitioner"], session, charting.Brush(kind="energy", energy=too_long)
        )
    assert refused.value.field == "energy"
    session.refresh_from_db()
    assert "energy" not in session.brush


# A GS1 UDI as a scanner types it: GTIN (01), expiry (17), lot (10), serial (21).
UDI = "(01)04012345678901(17)281231(10)LOT-2026-11-A(21)SN0000123456789ABCDE"


def test_a_single_use_item_keeps_a_whole_gs1_udi_as_its_serial(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.sterility.tests.factories import make_item_lot

    session = dca_session(clinic, staff["practitioner"], consented, lot)
    item_lot = make_item_lot(clinic, staff["manager"], lot="R-1")
    url = reverse("care:item_add", args=[session.pk])
    assert len(UDI) > 40
    response = client_as("assistant").post(
        url, {"item_lot": str(item_lot.pk), "serial": UDI}, **HTMX
    )
    assert response.status_code == 200 and session.items.get().serial == UDI


def test_a_serial_longer_than_the_chart_holds_is_refused_not_cut(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    from mesochart.care.models import SessionItem
    from mesochart.sterility.tests.factories import make_item_lot

    session = dca_session(clinic, staff["practitioner"], consented, lot)
    item_lot = make_item_lot(clinic, staff["manager"], lot="R-1")
    limit = column_limit(SessionItem, "serial")
    response = client_as("assistant").post(
        reverse("care:item_add", args=[session.pk]),
        {"item_lot": str(item_lot.pk), "serial": "S" * (limit + 1)},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'data-error-area="packs"' in html
    assert f"at most {limit} characters" in html and not session.items.exists()
    with pytest.raises(InvalidInput) as refused:
        charting.do_add_item(staff["assistant"], session, item_lot, "S" * (limit + 1))
    assert refused.value.field == "serial" and not session.items.exists()


def test_a_zone_entry_note_longer_than_the_chart_holds_is_refused_not_cut(
    client_as: Any, clinic: Any, staff: Any, consented: Any, lot: Any
) -> None:
    session = dca_session(clinic, staff["practitioner"], consented, lot)
    limit = column_limit(ChartEntry, "note")
    response = client_as("practitioner").post(
        reverse("care:entry_add", args=[session.pk]),
        {"ze-zone": "submental", "ze-points": "1", "ze-note": "n" * (limit + 1)},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'data-error-area="zone-entry"' in html
    assert f"Note: at most {limit} characters (this has {limit + 1})." in html
    assert not session.entries.exists()
    with pytest.raises(InvalidInput) as refused:
        charting.do_add_zone_entry(
            staff["practitioner"], session, zone="submental", points=1, note="n" * (limit + 1)
        )
    assert refused.value.field == "note" and not session.entries.exists()
    entry = charting.do_add_zone_entry(
        staff["practitioner"], session, zone="submental", points=1, note="n" * limit
    )
    assert entry.note == "n" * limit
