"""Sterility pages over HTTP: outsiders 404, wrong role 403, bad input 400, happy paths."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from mesochart.sterility.models import (
    BowieDickTest,
    Cycle,
    CycleStatus,
    Pack,
    PackUse,
    SingleUseItemUse,
    Steriliser,
)

from .factories import (
    DAY,
    bowie_dick,
    make_item_lot,
    make_pack,
    make_steriliser,
    record_cycle,
    released_cycle,
)

pytestmark = pytest.mark.django_db

CYCLE_FORM = {
    "number": "12",
    "started_at": "2026-11-20T09:00",
    "program": "134-3.5-wrapped",
    "temperature_c": "134.2",
    "hold_min": "3.5",
    "pressure_bar": "2.1",
    "load_contents": "2 trays",
    "instrument_sets": "Microneedling tray\nMeso tray",
    "ci_type": "5",
    "ci_result": "pass",
    "bi_result": "",
    "bi_lot": "",
}


@pytest.fixture
def autoclave(clinic, staff):
    return make_steriliser(clinic, staff["manager"])


@pytest.fixture
def cycle(autoclave, staff):
    return released_cycle(autoclave, staff["manager"])


@pytest.fixture
def pack(cycle, staff):
    return make_pack(cycle, staff["manager"])


# --- who may see what ------------------------------------------------------------


@pytest.mark.parametrize("role", ["prescriber", "practitioner", "assistant", "manager", "auditor"])
def test_clinical_roles_and_auditor_see_the_sterility_overview(client_as, autoclave, role):
    response = client_as(role).get(reverse("sterility:index"))
    assert response.status_code == 200
    assert autoclave.name in response.content.decode()


def test_reception_may_not_see_sterility(client_as):
    assert client_as("reception").get(reverse("sterility:index")).status_code == 403


@pytest.mark.parametrize("who", ["outsider", "neighbour"])
def test_outsiders_get_404_for_every_object_page(
    client_as, autoclave, cycle, pack, clinic, staff, who
):
    item_lot = make_item_lot(clinic, staff["manager"])
    client = client_as(who)
    urls = [
        reverse("sterility:steriliser", args=[autoclave.pk]),
        reverse("sterility:cycle_new", args=[autoclave.pk]),
        reverse("sterility:bowie_dick_new", args=[autoclave.pk]),
        reverse("sterility:cycle", args=[cycle.pk]),
        reverse("sterility:pack", args=[pack.pk]),
        reverse("sterility:pack_label", args=[pack.pk]),
        reverse("sterility:pack_use", args=[pack.pk]),
        reverse("sterility:item_lot", args=[item_lot.pk]),
        reverse("sterility:item_use", args=[item_lot.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for name in ("cycle_release", "cycle_reject", "cycle_bi", "pack_new"):
        assert client.post(reverse(f"sterility:{name}", args=[cycle.pk])).status_code == 404


def test_outsider_lists_show_none_of_the_clinics_records(client_as, cycle, pack):
    for name in ("sterility:index", "sterility:cycles"):
        page = client_as("outsider").get(reverse(name)).content.decode()
        assert cycle.steriliser.name not in page and pack.code not in page


def test_auditor_may_look_but_not_record_or_release(client_as, autoclave, cycle):
    auditor = client_as("auditor")
    assert auditor.get(reverse("sterility:cycle", args=[cycle.pk])).status_code == 200
    assert auditor.get(reverse("sterility:cycle_new", args=[autoclave.pk])).status_code == 403
    assert (
        auditor.post(reverse("sterility:cycle_new", args=[autoclave.pk]), CYCLE_FORM).status_code
        == 403
    )
    assert not Cycle.objects.filter(number=12).exists()


def test_assistant_records_but_may_not_release(client_as, autoclave, staff):
    bowie_dick(autoclave, staff["manager"])
    response = client_as("assistant").post(
        reverse("sterility:cycle_new", args=[autoclave.pk]), CYCLE_FORM
    )
    assert response.status_code == 302
    cycle = Cycle.objects.get(number=12)
    assert (
        client_as("assistant").post(reverse("sterility:cycle_release", args=[cycle.pk])).status_code
        == 403
    )
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.RECORDED


# --- cycles ----------------------------------------------------------------------


def test_practitioner_records_a_cycle_and_a_manager_releases_it(client_as, autoclave, staff):
    bowie_dick(autoclave, staff["manager"])
    response = client_as("practitioner").post(
        reverse("sterility:cycle_new", args=[autoclave.pk]), CYCLE_FORM
    )
    cycle = Cycle.objects.get(steriliser=autoclave, number=12)
    assert response["Location"] == reverse("sterility:cycle", args=[cycle.pk])
    assert cycle.instrument_sets == ["Microneedling tray", "Meso tray"]
    assert cycle.operator == staff["practitioner"] and cycle.physical_met
    response = client_as("manager").post(reverse("sterility:cycle_release", args=[cycle.pk]))
    assert response.status_code == 302
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.RELEASED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature_c", "hot"),
        ("ci_type", "7"),
        ("program", "999-1"),
        ("started_at", "2099-01-01T09:00"),
    ],
)
def test_bad_cycle_input_is_400_naming_the_field_and_saves_nothing(
    client_as, autoclave, field, value
):
    response = client_as("practitioner").post(
        reverse("sterility:cycle_new", args=[autoclave.pk]), {**CYCLE_FORM, field: value}
    )
    assert response.status_code == 400
    assert f'id="id_{field}-error"' in response.content.decode()
    assert not Cycle.objects.exists()


def test_duplicate_cycle_number_is_400_on_the_number_field(client_as, autoclave, staff):
    record_cycle(autoclave, staff["manager"], 12)
    response = client_as("practitioner").post(
        reverse("sterility:cycle_new", args=[autoclave.pk]), CYCLE_FORM
    )
    assert response.status_code == 400
    assert 'id="id_number-error"' in response.content.decode()
    assert Cycle.objects.count() == 1


def test_bi_result_without_a_lot_is_400(client_as, autoclave):
    response = client_as("practitioner").post(
        reverse("sterility:cycle_new", args=[autoclave.pk]), {**CYCLE_FORM, "bi_result": "pending"}
    )
    assert response.status_code == 400 and 'id="id_bi_lot-error"' in response.content.decode()


def test_release_refused_shows_the_rule_and_keeps_the_load(client_as, autoclave, staff):
    cycle = record_cycle(autoclave, staff["manager"])  # no Bowie-Dick that day
    response = client_as("manager").post(reverse("sterility:cycle_release", args=[cycle.pk]))
    assert response.status_code == 409
    assert "sterility.bowie_dick_missing" in response.content.decode()
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.RECORDED


def test_release_page_does_not_answer_get(client_as, cycle):
    assert (
        client_as("manager").get(reverse("sterility:cycle_release", args=[cycle.pk])).status_code
        == 405
    )


def test_failed_bi_over_http_lists_the_affected_patients(
    client_as, autoclave, staff, patient, clinic
):
    from mesochart.sterility import services

    from .factories import at

    cycle = released_cycle(autoclave, staff["manager"], bi_result="pending", bi_lot="GS-1")
    pack = make_pack(cycle, staff["manager"])
    services.do_use_pack(staff["manager"], clinic, pack, patient, at(clinic, DAY, 15))
    response = client_as("practitioner").post(
        reverse("sterility:cycle_bi", args=[cycle.pk]), {"result": "fail", "lot": ""}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert patient.mrn in page and "marked suspect" in page
    assert Pack.objects.get(pk=pack.pk).status == "suspect"
    index = client_as("manager").get(reverse("sterility:index")).content.decode()
    assert pack.code in index


def test_bi_form_without_a_result_is_400(client_as, cycle):
    response = client_as("practitioner").post(
        reverse("sterility:cycle_bi", args=[cycle.pk]), {"lot": "x"}
    )
    assert response.status_code == 400 and 'id="id_result-error"' in response.content.decode()


def test_reject_needs_a_reason(client_as, autoclave, staff):
    cycle = record_cycle(autoclave, staff["manager"])
    url = reverse("sterility:cycle_reject", args=[cycle.pk])
    assert client_as("manager").post(url, {"reason": ""}).status_code == 400
    assert client_as("manager").post(url, {"reason": "wet packs"}).status_code == 302
    assert Cycle.objects.get(pk=cycle.pk).status == CycleStatus.FAILED


# --- Bowie-Dick and sterilisers --------------------------------------------------


def test_bowie_dick_form_records_and_rejects_bad_input(client_as, autoclave):
    url = reverse("sterility:bowie_dick_new", args=[autoclave.pk])
    client = client_as("assistant")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"performed_at": "2026-11-20T07:30", "result": "maybe"})
    assert bad.status_code == 400 and 'id="id_result-error"' in bad.content.decode()
    assert not BowieDickTest.objects.exists()
    ok = client.post(url, {"performed_at": "2026-11-20T07:30", "result": "pass"})
    assert ok.status_code == 302
    assert BowieDickTest.objects.get().day == DAY


def test_manager_adds_a_steriliser_and_a_class_b_must_be_pre_vacuum(client_as):
    url = reverse("sterility:steriliser_new")
    bad = client_as("manager").post(url, {"name": "B2", "steriliser_class": "B", "serial": "1"})
    assert bad.status_code == 400 and 'id="id_pre_vacuum-error"' in bad.content.decode()
    ok = client_as("manager").post(url, {"name": "B2", "steriliser_class": "B", "pre_vacuum": "on"})
    assert ok.status_code == 302 and Steriliser.objects.get().name == "B2"
    assert client_as("assistant").get(url).status_code == 403


# --- packs and labels ------------------------------------------------------------


def test_packs_are_labelled_from_the_cycle_page(client_as, cycle):
    response = client_as("assistant").post(
        reverse("sterility:pack_new", args=[cycle.pk]),
        {"set_name": "Tray", "contents": "", "count": "2"},
    )
    assert response.status_code == 302
    assert list(Pack.objects.values_list("code", flat=True)) == ["P-000001", "P-000002"]
    page = client_as("auditor").get(reverse("sterility:cycle", args=[cycle.pk])).content.decode()
    assert "P-000002" in page


def test_pack_form_with_a_bad_count_is_400(client_as, cycle):
    response = client_as("assistant").post(
        reverse("sterility:pack_new", args=[cycle.pk]), {"set_name": "Tray", "count": "0"}
    )
    assert response.status_code == 400 and 'id="id_count-error"' in response.content.decode()
    assert not Pack.objects.exists()


def test_label_page_has_a_real_svg_qr_code_of_the_pack_id(client_as, pack, cycle):
    response = client_as("assistant").get(reverse("sterility:pack_label", args=[pack.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S)
    assert svg is not None
    assert "<path" in svg.group(0) and f"<title>{pack.code}</title>" in svg.group(0)
    assert (
        pack.code in page and cycle.steriliser.name in page and "sterility/pack_label.css" in page
    )
    assert "2026-11-20" in page and "event-related" in page


def svg_to_image(svg: str):
    """Rasterise segno's one-path SVG (h = dark run, m = relative move) for a decoder."""
    import numpy as np

    size = int(re.search(r'width="(\d+)"', svg).group(1))
    scale = int(re.search(r"scale\((\d+)\)", svg).group(1))
    modules = size // scale
    grid = np.full((modules, modules), 255, dtype=np.uint8)
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])([-\d. ]+)", re.search(r' d="([^"]+)"', svg).group(1)):
        numbers = [float(n) for n in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            grid[int(y), int(x) : int(x + numbers[0])] = 0
            x += numbers[0]
    grid = np.pad(grid, 4, constant_values=255)
    return np.kron(grid, np.ones((8, 8), dtype=np.uint8))


def test_label_qr_code_decodes_to_the_pack_id(client_as, pack):
    import cv2

    page = client_as("assistant").get(reverse("sterility:pack_label", args=[pack.pk]))
    svg = re.search(r"<svg.*?</svg>", page.content.decode(), re.S).group(0)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(svg_to_image(svg))
    assert text == pack.code


def test_pack_use_over_http(client_as, pack, patient):
    url = reverse("sterility:pack_use", args=[pack.pk])
    client = client_as("practitioner")
    bad = client.post(url, {"patient": "XX-999", "used_at": "2026-11-20T15:00"})
    assert bad.status_code == 400 and 'id="id_patient-error"' in bad.content.decode()
    ok = client.post(url, {"patient": patient.mrn, "used_at": "2026-11-20T15:00"})
    assert ok.status_code == 302
    assert PackUse.objects.get().patient == patient
    again = client.post(url, {"patient": patient.mrn, "used_at": "2026-11-20T15:05"})
    assert again.status_code == 409 and "already used" in again.content.decode()
    detail = client_as("auditor").get(reverse("sterility:pack", args=[pack.pk])).content.decode()
    assert patient.mrn in detail and "used" in detail


def test_pack_of_an_unreleased_load_is_refused_over_http(client_as, autoclave, staff, patient):
    pack = make_pack(record_cycle(autoclave, staff["manager"]), staff["manager"])
    response = client_as("practitioner").post(
        reverse("sterility:pack_use", args=[pack.pk]),
        {"patient": patient.mrn, "used_at": "2026-11-20T15:00"},
    )
    assert response.status_code == 409 and not PackUse.objects.exists()


# --- single-use items ------------------------------------------------------------


def test_single_use_item_lot_registered_and_used_once_over_http(client_as, patient):
    client = client_as("practitioner")
    response = client.post(
        reverse("sterility:item_lot_new"),
        {
            "kind": "roller",
            "product": "Roller 0.5 mm",
            "lot": "R1",
            "expiry": "2027-01-31",
            "quantity": "5",
        },
    )
    assert response.status_code == 302
    item_lot_url = response["Location"]
    use_url = item_lot_url + "use/"
    form = {"item_serial": "UDI-PI-1", "patient": patient.mrn, "used_at": "2026-11-20T15:00"}
    assert client.post(use_url, form).status_code == 302
    again = client.post(use_url, form)
    assert again.status_code == 409 and 'id="id_item_serial-error"' in again.content.decode()
    assert SingleUseItemUse.objects.count() == 1
    assert "UDI-PI-1" in client.get(item_lot_url).content.decode()
    assert "Roller 0.5 mm" in client.get(reverse("sterility:item_lots")).content.decode()


def test_a_single_use_item_keeps_a_whole_gs1_udi_and_refuses_a_longer_one(client_as, patient):
    client = client_as("practitioner")
    response = client.post(
        reverse("sterility:item_lot_new"),
        {
            "kind": "roller",
            "product": "Roller",
            "lot": "R2",
            "expiry": "2027-01-31",
            "quantity": "5",
        },
    )
    use_url = response["Location"] + "use/"
    udi = "(01)04012345678901(17)281231(10)LOT-2026-11-A-000001(21)SN0000123456789ABCDE(11)261101"
    assert len(udi) > 80
    form = {"item_serial": udi, "patient": patient.mrn, "used_at": "2026-11-20T15:00"}
    assert client.post(use_url, form).status_code == 302
    assert SingleUseItemUse.objects.get().item_serial == udi
    limit = SingleUseItemUse._meta.get_field("item_serial").max_length
    refused = client.post(use_url, {**form, "item_serial": "9" * (limit + 1)})
    assert refused.status_code == 400 and 'id="id_item_serial-error"' in refused.content.decode()
    assert SingleUseItemUse.objects.count() == 1


def test_item_lot_with_bad_quantity_is_400(client_as):
    response = client_as("practitioner").post(
        reverse("sterility:item_lot_new"),
        {
            "kind": "roller",
            "product": "Roller",
            "lot": "R1",
            "expiry": "2027-01-31",
            "quantity": "0",
        },
    )
    assert response.status_code == 400 and 'id="id_quantity-error"' in response.content.decode()


def test_shelf_life_setting(client_as, clinic):
    url = reverse("sterility:policy")
    assert client_as("assistant").post(url, {"pack_shelf_life_days": "30"}).status_code == 403
    assert client_as("manager").post(url, {"pack_shelf_life_days": "-1"}).status_code == 400
    assert client_as("manager").post(url, {"pack_shelf_life_days": "30"}).status_code == 302
    from mesochart.sterility.services import policy_for

    assert policy_for(clinic).pack_shelf_life_days == 30


# --- more pages ------------------------------------------------------------------


def test_reception_gets_403_on_object_pages_of_its_own_clinic(client_as, cycle, pack):
    client = client_as("reception")
    assert client.get(reverse("sterility:cycle", args=[cycle.pk])).status_code == 403
    assert client.get(reverse("sterility:pack_label", args=[pack.pk])).status_code == 403
    assert (
        client.post(
            reverse("sterility:pack_new", args=[cycle.pk]), {"set_name": "X", "count": "1"}
        ).status_code
        == 403
    )
    assert Pack.objects.count() == 1


def test_manager_takes_a_steriliser_out_of_service_and_it_records_no_cycle(client_as, autoclave):
    url = reverse("sterility:steriliser_edit", args=[autoclave.pk])
    assert client_as("assistant").get(url).status_code == 403
    bad = client_as("manager").post(url, {"name": "", "steriliser_class": "B", "pre_vacuum": "on"})
    assert bad.status_code == 400 and 'id="id_name-error"' in bad.content.decode()
    form = {"name": autoclave.name, "steriliser_class": "B", "pre_vacuum": "on", "serial": "SN-1"}
    assert client_as("manager").post(url, form).status_code == 302
    assert not Steriliser.objects.get(pk=autoclave.pk).active
    response = client_as("practitioner").post(
        reverse("sterility:cycle_new", args=[autoclave.pk]), CYCLE_FORM
    )
    assert response.status_code == 400 and "out of service" in response.content.decode()
    assert "out of service" in client_as("manager").get(reverse("sterility:index")).content.decode()


def test_all_labels_of_a_cycle_print_on_one_page(client_as, cycle, staff):
    from mesochart.sterility import services

    services.do_create_packs(staff["manager"], cycle, set_name="Tray", count=2)
    page = (
        client_as("assistant")
        .get(reverse("sterility:cycle_labels", args=[cycle.pk]))
        .content.decode()
    )
    assert page.count("<svg") == 2 and "P-000001" in page and "P-000002" in page


def test_htmx_pack_form_answers_with_the_packs_fragment(client_as, cycle):
    url = reverse("sterility:pack_new", args=[cycle.pk])
    response = client_as("assistant").post(
        url, {"set_name": "Tray", "count": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card" id="packs">') and "P-000001" in page
    bad = client_as("assistant").post(url, {"set_name": "", "count": "1"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and 'id="id_set_name-error"' in bad.content.decode()
    assert "<html" not in bad.content.decode()


def test_sterilisers_and_shelf_life_need_sterility_manage_not_release(client_as):
    # A practitioner releases loads (sterility.release) but keeps no equipment register.
    for url in (reverse("sterility:steriliser_new"), reverse("sterility:policy")):
        assert client_as("practitioner").get(url).status_code == 403
        assert client_as("prescriber").get(url).status_code == 200
    page = client_as("practitioner").get(reverse("sterility:index")).content.decode()
    assert reverse("sterility:steriliser_new") not in page
