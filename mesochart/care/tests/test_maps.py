"""Injection maps: the zone a click resolves to, the SVG the server draws, and the
browser script that turns clicks and drags into events (docs/maps.md)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mesochart.care import maps
from mesochart.care.maps import MapPoint, render_svg, views_for_zones, zone_at, zone_centroid
from mesochart.protocols import load_library

SVG = "{http://www.w3.org/2000/svg}"
STATIC = Path(maps.__file__).resolve().parent.parent / "static" / "care"
ALL = [(view, zone) for view in maps.VIEWS for zone in maps.load_map(view).zone_codes]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


# --- vocabulary and data --------------------------------------------------------------


def test_every_library_zone_is_on_at_least_one_view():
    on_maps = {zone for _, zone in ALL}
    assert set(load_library().zones) <= on_maps


def test_views_use_only_library_zone_codes():
    assert {zone for _, zone in ALL} <= set(load_library().zones)


def test_each_view_has_a_data_file_and_nothing_else_is_there():
    files = {p.stem for p in maps.MAPDATA_DIR.glob("*.toml")}
    assert files == set(maps.VIEWS)


def test_views_show_the_zones_of_their_region():
    face = set(maps.load_map("face").zone_codes)
    lib = load_library().zones
    assert face == {c for c, z in lib.items() if z.region in ("face", "neck")} | {"decollete"}
    assert maps.load_map("scalp").zone_codes == ("scalp",)
    assert set(maps.load_map("body_front").zone_codes) == {
        "abdomen", "flank_left", "flank_right", "thigh_left", "thigh_right", "arm_left", "arm_right",
    }  # fmt: skip
    assert set(maps.load_map("body_back").zone_codes) == {
        "buttock_left", "buttock_right", "thigh_left", "thigh_right",
        "flank_left", "flank_right", "arm_left", "arm_right",
    }  # fmt: skip


def test_a_map_with_an_unknown_zone_code_is_refused_naming_the_field():
    raw = {"title": "T", "width": 10, "height": 10, "zones": [{"zone": "knee", "polygons": []}]}
    with pytest.raises(maps.MapDataError, match=r"bad\.toml: zones\[0\]\.zone: unknown zone"):
        maps.parse_map("x", raw, source="bad.toml")


def test_a_polygon_point_outside_the_unit_square_is_refused():
    raw = {
        "title": "T",
        "width": 10,
        "height": 10,
        "zones": [{"zone": "nose", "polygons": [[[0, 0], [1.2, 0], [0, 1]]]}],
    }
    with pytest.raises(maps.MapDataError, match=r"zones\[0\]\.polygons\[0\]\[1\]\.x"):
        maps.parse_map("x", raw, source="bad.toml")


# --- point in polygon -----------------------------------------------------------------

C_SHAPE = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.3), (0.3, 0.3), (0.3, 0.7), (0.9, 0.7), (0.9, 0.9), (0.1, 0.9))  # fmt: skip


def test_point_in_a_concave_polygon():
    assert maps.point_in_polygon(0.2, 0.5, C_SHAPE)  # the spine of the C
    assert maps.point_in_polygon(0.6, 0.2, C_SHAPE)  # upper arm
    assert not maps.point_in_polygon(0.6, 0.5, C_SHAPE)  # the mouth of the C
    assert not maps.point_in_polygon(0.95, 0.5, C_SHAPE)


def test_point_in_polygon_uses_the_even_odd_rule():
    # A pentagram: its centre is wound twice, so even-odd leaves it OUTSIDE.
    import math

    star = tuple(
        (0.5 + 0.4 * math.sin(k * 4 * math.pi / 5), 0.5 - 0.4 * math.cos(k * 4 * math.pi / 5))
        for k in range(5)
    )
    assert not maps.point_in_polygon(0.5, 0.5, star)
    assert maps.point_in_polygon(0.5, 0.15, star)  # inside the top spike


# --- zone resolution ------------------------------------------------------------------


@pytest.mark.parametrize(("view", "zone"), ALL)
def test_centroid_of_every_zone_resolves_back_to_it(view, zone):
    x, y = zone_centroid(view, zone)
    assert 0 <= x <= 1 and 0 <= y <= 1
    assert zone_at(view, x, y) == zone


@pytest.mark.parametrize(
    ("view", "zone"),
    [(v, z) for v, z in ALL if z.endswith("_left")],
)
def test_left_and_right_zones_are_mirror_images(view, zone):
    twin = zone.removesuffix("_left") + "_right"
    x, y = zone_centroid(view, zone)
    assert zone_at(view, round(1 - x, 4), y) == twin


def test_face_patient_left_is_on_the_viewer_right():
    for zone in ("cheek_left", "temple_left", "eyelid_left", "jowl_left", "jawline_left"):
        assert zone_centroid("face", zone)[0] > 0.5, zone
    assert zone_centroid("face", "cheek_right")[0] < 0.5


def test_body_front_patient_left_is_on_the_viewer_right():
    for zone in ("thigh_left", "arm_left", "flank_left"):
        assert zone_centroid("body_front", zone)[0] > 0.5, zone


def test_body_back_patient_left_is_on_the_viewer_left():
    for zone in ("buttock_left", "thigh_left", "arm_left", "flank_left"):
        assert zone_centroid("body_back", zone)[0] < 0.5, zone


def test_midline_face_zones_run_from_forehead_down_to_the_neck():
    order = ["forehead", "glabella", "nose", "upper_lip", "chin", "submental", "neck", "decollete"]
    ys = [zone_centroid("face", zone)[1] for zone in order]
    assert ys == sorted(ys), dict(zip(order, ys, strict=True))
    for zone in order:
        assert abs(zone_centroid("face", zone)[0] - 0.5) < 0.05, zone


def test_walking_down_the_midline_meets_the_zones_in_anatomical_order():
    seen: list[str] = []
    for i in range(1001):
        zone = zone_at("face", 0.5, i / 1000)
        if zone and (not seen or seen[-1] != zone):
            seen.append(zone)
    assert seen == [
        "forehead", "glabella", "nose", "upper_lip", "perioral", "chin",
        "submental", "neck", "decollete",
    ]  # fmt: skip


def test_eyelid_lies_inside_the_periorbital_ring_and_wins_the_overlap():
    for side in ("left", "right"):
        ring = maps.load_map("face").shape(f"periorbital_{side}")
        lid = maps.load_map("face").shape(f"eyelid_{side}")
        rx0, ry0, rx1, ry1 = ring.bbox
        lx0, ly0, lx1, ly1 = lid.bbox
        assert rx0 < lx0 < lx1 < rx1 and ry0 < ly0 < ly1 < ry1
        # The eyelid's own centre is inside the periorbital polygon too: eyelid wins.
        x, y = zone_centroid("face", f"eyelid_{side}")
        assert ring.contains(x, y) and zone_at("face", x, y) == f"eyelid_{side}"
        # Just outside the lid, above and below, is periorbital.
        assert zone_at("face", x, round(ly0 - 0.008, 4)) == f"periorbital_{side}"
        assert zone_at("face", x, round(ly1 + 0.008, 4)) == f"periorbital_{side}"


def test_face_regions_sit_where_a_clinician_expects():
    c = {zone: zone_centroid("face", zone) for zone in maps.load_map("face").zone_codes}
    assert c["temple_right"][0] < c["periorbital_right"][0] < c["nose"][0]
    assert c["periorbital_right"][1] < c["cheek_right"][1] < c["jowl_right"][1]
    assert c["nasolabial_right"][0] < c["upper_lip"][0] < c["nasolabial_left"][0]
    assert c["jowl_right"][1] < c["jawline_right"][1] + 0.04
    assert c["jawline_right"][0] < c["jowl_right"][0] < c["chin"][0]
    assert c["glabella"][1] < c["eyelid_right"][1]


def test_a_point_outside_the_drawing_is_no_zone():
    assert zone_at("face", 0.02, 0.02) is None  # the corner
    assert zone_at("face", 0.5, 0.1) is None  # the hair, above the hairline
    assert zone_at("face", 0.17, 0.4) is None  # the ear
    assert zone_at("body_front", 0.05, 0.5) is None
    assert zone_at("body_front", 0.5, 0.09) is None  # the head is not a body zone
    assert zone_at("scalp", 0.5, 0.98) is None


@pytest.mark.parametrize(
    ("x", "y", "field"),
    [
        (-0.01, 0.5, "x"),
        (1.01, 0.5, "x"),
        (0.5, -0.2, "y"),
        (0.5, 1.5, "y"),
        (float("nan"), 0.5, "x"),
    ],
)
def test_coordinates_outside_the_unit_square_are_refused_naming_the_field(x, y, field):
    with pytest.raises(ValueError, match=f"^{field} must be between 0 and 1$"):
        zone_at("face", x, y)


def test_the_box_edges_are_valid_coordinates():
    assert zone_at("face", 0, 0) is None
    assert zone_at("face", 1, 1) is None


def test_an_unknown_view_is_refused():
    with pytest.raises(ValueError, match="unknown map view 'back'"):
        zone_at("back", 0.5, 0.5)
    with pytest.raises(ValueError, match="unknown map view"):
        render_svg("torso", [])


# --- views for a protocol -------------------------------------------------------------


def protocol_views(code: str) -> list[str]:
    return views_for_zones(load_library().protocols[code].zones)


def test_views_for_a_protocol():
    assert protocol_views("submental-dca") == ["face"]
    assert protocol_views("hair-mesotherapy") == ["scalp"]
    assert protocol_views("body-cellulite") == ["body_front", "body_back"]
    assert protocol_views("skin-booster") == ["face"]
    assert protocol_views("microneedling-pen") == list(maps.VIEWS)


def test_views_for_zones_keeps_the_stable_order_and_ignores_unmapped_codes():
    assert views_for_zones(["buttock_left", "scalp", "nose"]) == ["face", "scalp", "body_back"]
    assert views_for_zones(["knee"]) == []
    assert views_for_zones([]) == []


# --- SVG ------------------------------------------------------------------------------

POINTS = [
    {"id": "a1", "x": 0.62, "y": 0.48, "zone": "cheek_left", "number": 1},
    MapPoint(id="a2", x=0.5, y=0.3, zone="forehead", number=2, css_class="pt-blocked"),
]


@pytest.mark.parametrize("view", maps.VIEWS)
def test_svg_parses_and_has_one_group_per_zone(view):
    root = parse(render_svg(view, POINTS if view == "face" else []))
    assert root.tag == f"{SVG}svg"
    assert root.get("data-view") == view
    assert root.get("viewBox") == "0 0 400 520"
    assert root.get("aria-label")
    assert root.find(f"{SVG}title") is not None
    groups = root.findall(f".//{SVG}g[@class='zone-group']")
    assert [g.get("data-zone") for g in groups] == list(maps.load_map(view).zone_codes)
    for group in groups:
        for polygon in group.findall(f"{SVG}polygon"):
            assert polygon.get("data-zone") == group.get("data-zone")
            assert "zone" in polygon.get("class", "").split()
            title = polygon.find(f"{SVG}title")
            assert title is not None
            assert title.text == load_library().zones[group.get("data-zone")].name


def test_svg_polygons_are_the_data_polygons_in_viewbox_units():
    root = parse(render_svg("face", []))
    polygon = root.find(f".//{SVG}polygon[@data-zone='nose']")
    assert polygon is not None
    first = polygon.get("points", "").split()[0]
    x, y = (float(v) for v in first.split(","))
    nx, ny = maps.load_map("face").shape("nose").polygons[0][0]
    assert (x, y) == (pytest.approx(nx * 400, abs=0.01), pytest.approx(ny * 520, abs=0.01))


def test_svg_draws_points_with_ids_zones_numbers_and_classes():
    root = parse(render_svg("face", POINTS))
    circles = root.findall(f".//{SVG}circle[@data-point-id]")
    assert [c.get("data-point-id") for c in circles] == ["a1", "a2"]
    assert circles[0].get("data-zone") == "cheek_left"
    assert circles[0].get("tabindex") == "0"
    assert circles[1].get("class") == "pt pt-blocked"
    assert float(circles[0].get("cx", "")) == pytest.approx(0.62 * 400)
    assert float(circles[0].get("cy", "")) == pytest.approx(0.48 * 520)
    numbers = [t.text for t in root.findall(f".//{SVG}text[@class='pt-num']")]
    assert numbers == ["1", "2"]


def test_decorations_never_catch_the_pointer():
    root = parse(render_svg("face", []))
    for cls in ("map-underlay", "map-outlines"):
        group = root.find(f".//{SVG}g[@class='{cls}']")
        assert group is not None and group.get("pointer-events") == "none"
        assert group.findall(f"{SVG}path")


def test_svg_escapes_labels_and_ids():
    evil = '<script>alert("x")</script>'
    svg = render_svg(
        "face",
        [{"id": '"><script>', "x": 0.5, "y": 0.5, "label": evil, "class": 'x" onload="y'}],
        label=evil,
    )
    assert "<script>" not in svg and 'onload="y"' not in svg
    root = parse(svg)
    assert root.get("aria-label") == evil
    assert root.find(f"{SVG}title").text == evil  # type: ignore[union-attr]
    circle = root.find(f".//{SVG}circle")
    assert circle is not None and circle.get("data-point-id") == '"><script>'


def test_svg_is_deterministic():
    assert render_svg("face", POINTS, highlight_zones={"nose", "chin"}) == render_svg(
        "face", POINTS, highlight_zones=["chin", "nose"]
    )


def test_highlighted_zones_and_static_maps():
    root = parse(render_svg("face", POINTS, highlight_zones=["submental"], interactive=False))
    assert root.get("data-interactive") is None
    assert root.get("role") == "img"
    highlighted = {
        p.get("data-zone")
        for p in root.iter(f"{SVG}polygon")
        if "is-highlighted" in p.get("class", "")
    }
    assert highlighted == {"submental"}
    assert all(c.get("tabindex") is None for c in root.iter(f"{SVG}circle"))
    interactive = parse(render_svg("face", POINTS))
    assert interactive.get("data-interactive") == "true"


def test_points_outside_the_box_are_refused():
    with pytest.raises(ValueError, match=r"^y must be between 0 and 1$"):
        render_svg("face", [{"id": "p", "x": 0.5, "y": 1.2}])


# --- the browser script ---------------------------------------------------------------


def test_script_names_every_event_and_makes_no_network_calls():
    script = (STATIC / "facemap.js").read_text()
    for name in ("facemap:add", "facemap:move", "facemap:select", "facemap:delete"):
        assert f'"{name}"' in script, name
    assert "htmx:afterSwap" in script and "htmx:load" in script
    assert not re.search(r"\b(fetch|XMLHttpRequest|sendBeacon|htmx\.ajax)\b", script)
    assert "pt-blocked" in (STATIC / "facemap.css").read_text()


def page_with_map(page, view: str, points=()) -> None:
    html = (
        "<!doctype html><html><head><style>"
        + (STATIC / "facemap.css").read_text()
        + "</style></head><body style='margin:0'><div style='width:400px'>"
        + render_svg(view, list(points))
        + "</div><script>window.events = [];"
        + "for (const n of ['add', 'move', 'select', 'delete']) {"
        + "  document.addEventListener('facemap:' + n,"
        + "    e => window.events.push([e.type, e.detail]));}"
        + "</script><script>"
        + (STATIC / "facemap.js").read_text()
        + "</script></body></html>"
    )
    page.set_content(html)


def at(page, x: float, y: float) -> tuple[float, float]:
    box = page.locator("svg.facemap").bounding_box()
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


@pytest.mark.browser
def test_browser_click_dispatches_add_with_normalised_coordinates(page):
    page_with_map(page, "face")
    x, y = zone_centroid("face", "cheek_left")
    page.mouse.click(*at(page, x, y))
    events = page.evaluate("window.events")
    assert len(events) == 1
    name, detail = events[0]
    assert name == "facemap:add"
    assert detail["view"] == "face" and detail["zone"] == "cheek_left"
    assert detail["x"] == pytest.approx(x, abs=0.003) and detail["y"] == pytest.approx(y, abs=0.003)
    assert zone_at("face", detail["x"], detail["y"]) == "cheek_left"  # server agrees


@pytest.mark.browser
def test_browser_drag_moves_a_point_and_click_selects_it_then_delete(page):
    start = zone_centroid("face", "forehead")
    page_with_map(page, "face", [{"id": "p7", "x": start[0], "y": start[1], "number": 1}])
    page.mouse.move(*at(page, *start))
    page.mouse.down()
    target = zone_centroid("face", "chin")
    page.mouse.move(*at(page, *target), steps=8)
    page.mouse.up()
    events = page.evaluate("window.events")
    assert [e[0] for e in events] == ["facemap:move"]
    detail = events[0][1]
    assert detail["pointId"] == "p7" and detail["zone"] == "chin" and detail["view"] == "face"
    assert zone_at("face", detail["x"], detail["y"]) == "chin"
    cy = float(page.get_attribute("circle.pt", "cy"))
    assert cy == pytest.approx(target[1] * 520, abs=2)

    page.mouse.click(*at(page, *target))  # a click without drag selects
    page.keyboard.press("Delete")
    events = page.evaluate("window.events")
    assert [e[0] for e in events][1:] == ["facemap:select", "facemap:delete"]
    assert events[1][1] == {"pointId": "p7"} and events[2][1] == {"pointId": "p7"}
    assert page.get_attribute("circle.pt", "class") == "pt is-selected"


@pytest.mark.browser
def test_browser_keyboard_reaches_points(page):
    page_with_map(page, "body_back", [{"id": "k1", "x": 0.4, "y": 0.5}])
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Backspace")
    events = page.evaluate("window.events")
    assert [e[0] for e in events] == ["facemap:select", "facemap:delete"]
    assert json.dumps(events[1][1]) == '{"pointId": "k1"}'
