from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mesochart.stock import services
from mesochart.stock.models import FridgeReading, Lot, LotStatus, MovementKind, ProductGtin

pytestmark = pytest.mark.django_db

ROLES = ["prescriber", "practitioner", "assistant", "reception", "manager", "auditor"]


def receive_data(the_fridge, **overrides):
    data = {
        "scan": "",
        "product": "ha-skin-booster",
        "lot_number": "R-100",
        "expiry": "2030-01-31",
        "quantity": "12",
        "unit": "syringe",
        "storage": "fridge",
        "fridge": str(the_fridge.pk),
        "supplier": "Acme",
        "gtin": "",
        "serial": "",
    }
    data.update(overrides)
    return data


# --- pages every stock role sees ------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_stock_pages_answer_by_role(client_as, role, lot, fridge):
    client = client_as(role)
    expected = 403 if role == "reception" else 200
    for url in (
        reverse("stock:index"),
        reverse("stock:lot_list"),
        reverse("stock:lot_detail", args=[lot.pk]),
        reverse("stock:fridge_list"),
        reverse("stock:fridge_detail", args=[fridge.pk]),
    ):
        assert client.get(url).status_code == expected, url


def test_outsider_and_neighbour_get_404_on_this_clinics_objects(
    client_as, lot, fridge, clinic, manager
):
    container = services.do_open_container(manager, clinic, lot)
    for who in ("outsider", "neighbour"):
        client = client_as(who)
        for url in (
            reverse("stock:lot_detail", args=[lot.pk]),
            reverse("stock:container_detail", args=[container.pk]),
            reverse("stock:fridge_detail", args=[fridge.pk]),
        ):
            assert client.get(url).status_code == 404
        for name in ("lot_waste", "lot_adjust", "lot_quarantine", "lot_release", "lot_open"):
            assert client.post(reverse(f"stock:{name}", args=[lot.pk]), {}).status_code == 404
        post = client.post(reverse("stock:fridge_reading", args=[fridge.pk]), {})
        assert post.status_code == 404
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.AVAILABLE


def test_outsiders_lists_do_not_show_this_clinics_lots(client_as, lot):
    body = client_as("outsider").get(reverse("stock:lot_list")).content.decode()
    assert lot.lot_number not in body


def test_dashboard_shows_expiring_and_quarantined_lots(client_as, make_lot, manager, clinic, today):
    make_lot(lot_number="SOON-1", expiry=today + timedelta(days=7))
    held = make_lot(lot_number="HELD-1")
    services.do_quarantine_lot(manager, clinic, held, "Warm")
    body = client_as("practitioner").get(reverse("stock:index")).content.decode()
    expiring = body.split('id="expiring"')[1].split("</section>")[0]
    quarantined = body.split('id="quarantined"')[1].split("</section>")[0]
    assert "SOON-1" in expiring and "HELD-1" not in expiring
    assert "HELD-1" in quarantined


def test_fefo_fragment_lists_the_lot_to_use_first(client_as, make_lot, today):
    make_lot(lot_number="LATE", expiry=today + timedelta(days=300))
    make_lot(lot_number="EARLY", expiry=today + timedelta(days=40))
    body = client_as("assistant").get(reverse("stock:fefo"), {"product": "ha-skin-booster"})
    text = body.content.decode()
    assert text.index("EARLY") < text.index("LATE") and "use first" in text


def test_lot_list_query_count_is_constant(client_as, make_lot, django_assert_max_num_queries):
    client = client_as("manager")
    make_lot()
    client.get(reverse("stock:lot_list"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("stock:lot_list"))
    for _ in range(15):
        make_lot()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("stock:lot_list"))
    assert response.content.decode().count("/stock/lots/") >= 16


# --- receiving ------------------------------------------------------------------------


def test_receive_form_creates_the_lot(client_as, fridge):
    response = client_as("assistant").post(reverse("stock:receive"), receive_data(fridge))
    lot = Lot.objects.get(lot_number="R-100")
    assert response.status_code == 302
    assert response["Location"] == reverse("stock:lot_detail", args=[lot.pk])
    assert lot.on_hand_now() == Decimal("12")


def test_reception_and_auditor_cannot_receive(client_as, fridge):
    for role in ("reception", "auditor"):
        assert (
            client_as(role).post(reverse("stock:receive"), receive_data(fridge)).status_code == 403
        )
    assert not Lot.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"product": "botox-9000"}, "Product"),
        ({"lot_number": ""}, "Lot number"),
        ({"quantity": "0"}, "Quantity"),
        ({"expiry": "2001-01-01"}, "Expiry date"),
        ({"fridge": ""}, "Fridge"),
        ({"scan": "(01)04012345678902(10)X"}, "Scan the pack"),
    ],
)
def test_bad_receive_input_answers_400_naming_the_field(client_as, fridge, overrides, field):
    response = client_as("practitioner").post(
        reverse("stock:receive"), receive_data(fridge, **overrides)
    )
    assert response.status_code == 400
    assert f'role="alert">{field}' in response.content.decode()
    assert not Lot.objects.exists()


def test_scan_fills_product_lot_and_expiry(client_as, fridge, clinic):
    ProductGtin.objects.create(clinic=None, gtin="04012345678901", product="ha-nonxl-vitamins")
    data = receive_data(
        fridge,
        scan="]d2010401234567890117271231" + "10SCAN-9\x1d21S1",
        product="",
        lot_number="",
        expiry="",
        unit="vial",
    )
    response = client_as("practitioner").post(reverse("stock:receive"), data)
    assert response.status_code == 302
    lot = Lot.objects.get()
    assert (lot.product, lot.lot_number, lot.expiry.isoformat(), lot.gtin, lot.serial) == (
        "ha-nonxl-vitamins",
        "SCAN-9",
        "2027-12-31",
        "04012345678901",
        "S1",
    )
    assert lot.udi_di == "04012345678901" and "(10)SCAN-9" in lot.udi_pi


def test_clinic_gtin_mapping_wins_over_the_global_one(clinic):
    ProductGtin.objects.create(clinic=None, gtin="04012345678901", product="ha-nonxl-vitamins")
    services.do_map_gtin(None, clinic, "04012345678901", "ha-serum-sterile")
    assert services.product_for_gtin(clinic, "04012345678901") == "ha-serum-sterile"


def test_fill_from_scan_shows_the_values_without_saving(client_as, fridge):
    ProductGtin.objects.create(clinic=None, gtin="04012345678901", product="ha-nonxl-vitamins")
    data = receive_data(
        fridge, scan="(01)04012345678901(17)271231(10)FILL-1", product="", lot_number="", expiry=""
    )
    data["fill"] = "1"
    response = client_as("practitioner").post(
        reverse("stock:receive"), data, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="FILL-1"' in body and 'value="2027-12-31"' in body
    assert '<option value="ha-nonxl-vitamins" selected>' in body
    assert "<html" not in body  # the htmx fragment only
    assert not Lot.objects.exists()


def test_after_a_fill_the_cursor_waits_in_the_first_field_left_empty(client_as, fridge):
    """The page autofocuses the scan field; once the scan has filled product, lot and expiry,
    the next keystrokes (the quantity) must not be typed into the scan."""
    ProductGtin.objects.create(clinic=None, gtin="04012345678901", product="ha-nonxl-vitamins")
    data = receive_data(
        fridge,
        scan="(01)04012345678901(17)271231(10)FILL-2",
        product="",
        lot_number="",
        expiry="",
        quantity="",
    )
    data["fill"] = "1"
    body = (
        client_as("practitioner")
        .post(reverse("stock:receive"), data, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    focused = re.findall(r"<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*>", body)
    assert len(focused) == 1
    assert 'name="quantity"' in focused[0]
    # An unreadable scan keeps the cursor in the scan field, to scan again.
    data["scan"] = "(01)0401234567890X"
    body = (
        client_as("practitioner")
        .post(reverse("stock:receive"), data, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    focused = re.findall(r"<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*>", body)
    assert len(focused) == 1 and 'name="scan"' in focused[0]


def test_unmapped_gtin_asks_for_the_product(client_as, fridge):
    data = receive_data(fridge, scan="(01)04012345678901(17)271231(10)X", product="")
    response = client_as("practitioner").post(reverse("stock:receive"), data)
    assert response.status_code == 400
    assert "not mapped to a product" in response.content.decode()


def test_duplicate_lot_answers_400_on_lot_number(client_as, fridge, lot):
    data = receive_data(fridge, lot_number=lot.lot_number)
    response = client_as("manager").post(reverse("stock:receive"), data)
    assert response.status_code == 400
    assert "already in stock" in response.content.decode()


# --- lot actions ----------------------------------------------------------------------


def test_open_container_then_its_page(client_as, lot):
    response = client_as("practitioner").post(
        reverse("stock:lot_open", args=[lot.pk]), {"kind": "syringe"}
    )
    assert response.status_code == 302
    page = client_as("auditor").get(response["Location"])
    assert page.status_code == 200 and "Single use" in page.content.decode()


def test_opening_a_quarantined_lot_is_refused(client_as, lot, manager, clinic):
    services.do_quarantine_lot(manager, clinic, lot, "Warm")
    response = client_as("practitioner").post(
        reverse("stock:lot_open", args=[lot.pk]), {"kind": "vial"}
    )
    assert response.status_code == 409
    assert "quarantined" in response.content.decode()
    assert not lot.containers.exists()


def test_waste_needs_a_reason_over_http(client_as, lot):
    client = client_as("assistant")
    url = reverse("stock:lot_waste", args=[lot.pk])
    response = client.post(url, {"waste-quantity": "1", "waste-reason": ""})
    assert response.status_code == 400 and "Reason" in response.content.decode()
    assert client.post(url, {"waste-quantity": "1", "waste-reason": "Dropped"}).status_code == 302
    assert lot.movements.filter(kind=MovementKind.WASTED).count() == 1


def test_waste_more_than_on_hand_is_refused(client_as, lot):
    url = reverse("stock:lot_waste", args=[lot.pk])
    response = client_as("assistant").post(url, {"waste-quantity": "11", "waste-reason": "x"})
    assert response.status_code == 409
    assert lot.on_hand_now() == Decimal("10")


def test_adjust_is_for_managers_only(client_as, lot):
    url = reverse("stock:lot_adjust", args=[lot.pk])
    data = {"adjust-quantity": "-2", "adjust-reason": "Count"}
    assert client_as("practitioner").post(url, data).status_code == 403
    assert client_as("manager").post(url, data).status_code == 302
    assert client_as("manager").post(url, {"adjust-quantity": "-2"}).status_code == 400
    assert lot.on_hand_now() == Decimal("8")


def test_quarantine_and_release_over_http(client_as, lot):
    manager = client_as("manager")
    q = reverse("stock:lot_quarantine", args=[lot.pk])
    r = reverse("stock:lot_release", args=[lot.pk])
    assert client_as("practitioner").post(q, {"status-reason": "x"}).status_code == 403
    assert manager.post(q, {"status-reason": ""}).status_code == 400
    assert manager.post(q, {"status-reason": "Warm box"}).status_code == 302
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.QUARANTINED
    assert manager.post(r, {"status-reason": "Supplier says fine"}).status_code == 302
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.AVAILABLE


def test_threshold_is_set_by_a_manager(client_as):
    url = reverse("stock:threshold")
    assert (
        client_as("practitioner")
        .post(url, {"product": "ha-skin-booster", "minimum": "5"})
        .status_code
        == 403
    )
    assert client_as("manager").post(url, {"product": "nope", "minimum": "5"}).status_code == 400
    assert (
        client_as("manager").post(url, {"product": "ha-skin-booster", "minimum": "5"}).status_code
        == 302
    )


# --- fridges --------------------------------------------------------------------------


def test_manager_adds_a_fridge(client_as):
    url = reverse("stock:fridge_list")
    assert client_as("practitioner").post(url, {"name": "Back"}).status_code == 403
    assert client_as("manager").post(url, {"name": ""}).status_code == 400
    assert client_as("manager").post(url, {"name": "Back"}).status_code == 302


def test_reading_over_http_and_excursion_quarantines(client_as, fridge, lot):
    url = reverse("stock:fridge_reading", args=[fridge.pk])
    client = client_as("assistant")
    assert (
        client.post(url, {"recorded_at": "2026-01-05T08:00", "temperature_c": "hot"}).status_code
        == 400
    )
    assert (
        client_as("auditor")
        .post(url, {"recorded_at": "2026-01-05T08:00", "temperature_c": "4"})
        .status_code
        == 403
    )
    assert (
        client.post(url, {"recorded_at": "2026-01-05T08:00", "temperature_c": "9.5"}).status_code
        == 302
    )
    assert Lot.objects.get(pk=lot.pk).status == LotStatus.QUARANTINED
    assert (
        "excursion" in client.get(reverse("stock:fridge_detail", args=[fridge.pk])).content.decode()
    )


def test_csv_upload_over_http(client_as, fridge):
    url = reverse("stock:fridge_upload", args=[fridge.pk])
    client = client_as("practitioner")
    bad = SimpleUploadedFile("log.csv", b"recorded_at,temperature_c\n2026-01-05 08:00,4\nnope,5\n")
    response = client.post(url, {"file": bad})
    assert response.status_code == 400
    assert "line 3, column recorded_at" in response.content.decode()
    assert not FridgeReading.objects.exists()
    good = SimpleUploadedFile("log.csv", b"recorded_at,temperature_c\n2026-01-05 08:00,4\n")
    assert client.post(url, {"file": good}).status_code == 302
    assert FridgeReading.objects.count() == 1


def test_lot_detail_query_count_does_not_grow_with_movements(
    client_as, lot, manager, clinic, patient, django_assert_max_num_queries
):
    client = client_as("manager")
    url = reverse("stock:lot_detail", args=[lot.pk])
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    container = services.do_open_container(manager, clinic, lot)
    for _ in range(5):
        services.do_administer(
            manager, clinic, lot, patient, Decimal("1"), "neck", container=container
        )
    services.do_open_container(manager, clinic, lot)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert "5" in response.content.decode().split('id="on-hand"')[1][:40]


def test_receive_page_offers_the_scan_field(client_as):
    body = client_as("assistant").get(reverse("stock:receive")).content.decode()
    assert 'name="scan"' in body and 'name="fill"' in body


def test_auditor_sees_lots_but_cannot_open_or_waste(client_as, lot):
    client = client_as("auditor")
    assert (
        client.post(reverse("stock:lot_open", args=[lot.pk]), {"kind": "vial"}).status_code == 403
    )
    waste = {"waste-quantity": "1", "waste-reason": "x"}
    assert client.post(reverse("stock:lot_waste", args=[lot.pk]), waste).status_code == 403
    assert lot.on_hand_now() == Decimal("10") and not lot.containers.exists()


def test_plain_fill_from_scan_renders_the_page_with_lots_to_use_first(client_as, fridge, lot):
    ProductGtin.objects.create(clinic=None, gtin="04012345678901", product=lot.product)
    data = receive_data(fridge, scan="(01)04012345678901(17)271231(10)NEW-1", product="")
    data["fill"] = "1"
    body = client_as("practitioner").post(reverse("stock:receive"), data).content.decode()
    assert "<html" in body and 'value="NEW-1"' in body
    assert lot.lot_number in body.split('id="fefo-result"')[1]
    assert Lot.objects.count() == 1


def test_csv_upload_with_an_overlong_field_is_a_400_naming_the_line(client_as, fridge):
    url = reverse("stock:fridge_upload", args=[fridge.pk])
    big = b"recorded_at,temperature_c\n" + b"x" * 140_000 + b",4\n"
    response = client_as("practitioner").post(url, {"file": SimpleUploadedFile("log.csv", big)})
    assert response.status_code == 400
    assert "line 2" in response.content.decode()
    assert not FridgeReading.objects.exists()


def test_a_large_csv_upload_is_imported_by_a_background_task_shown_on_the_fridge_page(
    client_as, fridge, settings, django_capture_on_commit_callbacks
):
    from mesochart.stock.models import FridgeImport

    settings.STOCK_IMPORT_BACKGROUND_ROWS = 2
    url = reverse("stock:fridge_upload", args=[fridge.pk])
    client = client_as("practitioner")
    rows = "".join(f"2026-01-05 0{h}:00,4.{h}\n" for h in range(3))
    good = SimpleUploadedFile("log.csv", ("recorded_at,temperature_c\n" + rows).encode())
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"file": good}).status_code == 302
    job = FridgeImport.objects.get()
    assert (job.status, job.lines, job.rows, job.text) == ("done", 3, 3, "")
    assert FridgeReading.objects.count() == 3
    bad = SimpleUploadedFile("log.csv", ("recorded_at,temperature_c\n" + rows + "x,y\n").encode())
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"file": bad}).status_code == 302
    failed = FridgeImport.objects.filter(status="failed").get()
    assert "line 5" in failed.error
    assert FridgeReading.objects.count() == 3
    page = client.get(reverse("stock:fridge_detail", args=[fridge.pk])).content.decode()
    assert "Failed" in page and "line 5" in page and "Imported" in page
