"""Anatomical injection maps: SVG views of the face and body, and zone resolution.

Pure Python (no Django). Each view is a data file ``mapdata/<view>.toml``: the viewBox
size, decorative outline paths (viewBox units) and zone polygons in NORMALISED
coordinates (``x``, ``y`` in [0, 1] of the view's box, ``y`` downwards). The same
polygons are drawn by :func:`render_svg` and tested by :func:`zone_at`, so the zone the
server stores for a click is the zone the practitioner saw under the pointer.

Zones are listed in priority order: where polygons overlap the LATER zone wins, which is
also the one painted on top (the eyelid over the periorbital ring, the nose over the
cheek). Left and right are always the PATIENT's: on the front views the patient's left is
on the viewer's right, on ``body_back`` and ``scalp`` (seen from above, face up the page)
it is on the viewer's left. See docs/maps.md.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from mesochart.protocols import load_library

MAPDATA_DIR = Path(__file__).parent / "mapdata"
VIEWS: tuple[str, ...] = ("face", "scalp", "body_front", "body_back")
"""Every map view, in the stable order :func:`views_for_zones` answers in."""
OUTLINE_KINDS = ("silhouette", "line", "detail", "soft", "guide", "fill", "hair")
MARK_KINDS = ("side", "caption", "region")
POINT_RADIUS = 0.014
"""Point radius as a fraction of the view's width."""

Point = tuple[float, float]
Polygon = tuple[Point, ...]


class MapDataError(ValueError):
    """A map data file is invalid; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class ZoneShape:
    """One zone's polygons on a view (normalised coordinates)."""

    zone: str
    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.bbox
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        return any(point_in_polygon(x, y, polygon) for polygon in self.polygons)


@dataclass(frozen=True, slots=True)
class Outline:
    """A decorative path in viewBox units; never clickable."""

    kind: str
    d: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A decorative text label ("R"/"L" side markers, captions) at a normalised point."""

    kind: str
    text: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class MapView:
    name: str
    title: str
    width: int
    height: int
    zones: tuple[ZoneShape, ...]  # priority order: later wins
    outlines: tuple[Outline, ...]
    marks: tuple[Mark, ...]

    @property
    def zone_codes(self) -> tuple[str, ...]:
        return tuple(shape.zone for shape in self.zones)

    def shape(self, zone: str) -> ZoneShape:
        for shape in self.zones:
            if shape.zone == zone:
                return shape
        raise ValueError(f"zone {zone!r} is not on the {self.name!r} map")


@dataclass(frozen=True, slots=True)
class MapPoint:
    """An injection point to draw: normalised ``x``/``y``, the zone stored with it."""

    id: str
    x: float
    y: float
    zone: str | None = None
    label: str | None = None
    number: int | str | None = None
    css_class: str | None = None

    @classmethod
    def from_value(cls, value: MapPoint | Mapping[str, Any]) -> MapPoint:
        if isinstance(value, MapPoint):
            return value
        return cls(
            id=str(value["id"]),
            x=float(value["x"]),
            y=float(value["y"]),
            zone=value.get("zone") or None,
            label=value.get("label"),
            number=value.get("number"),
            css_class=value.get("css_class") or value.get("class"),
        )


# --- geometry -------------------------------------------------------------------------


def point_in_polygon(x: float, y: float, polygon: Sequence[Point]) -> bool:
    """Even-odd rule (ray casting): a point on a left/top edge counts as inside."""
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _check_coordinate(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number between 0 and 1")
    if not (0.0 <= value <= 1.0):  # also refuses NaN
        raise ValueError(f"{name} must be between 0 and 1")
    return float(value)


def zone_at(view: str, x: float, y: float) -> str | None:
    """The zone under the normalised point (x, y) of ``view``, or None outside every zone.

    Raises ValueError for an unknown view or a coordinate outside [0, 1].
    """
    map_view = load_map(view)
    x = _check_coordinate("x", x)
    y = _check_coordinate("y", y)
    for shape in reversed(map_view.zones):
        if shape.contains(x, y):
            return shape.zone
    return None


def views_for_zones(zones: Iterable[str]) -> list[str]:
    """The views that show any of ``zones``, in :data:`VIEWS` order (codes on no map are
    ignored; tests keep every library zone on a map)."""
    wanted = set(zones)
    return [view for view in VIEWS if wanted.intersection(load_map(view).zone_codes)]


def zone_centroid(view: str, zone: str) -> Point:
    """A point well inside ``zone`` as it resolves on ``view`` (not hidden by a
    higher-priority zone): the deepest cell of a grid over the zone, rounded to 4 places."""
    return _zone_centroid(view, zone)


@functools.cache
def _zone_centroid(view: str, zone: str) -> Point:
    map_view = load_map(view)
    shape = map_view.shape(zone)
    x0, y0, x1, y1 = shape.bbox
    steps = 48
    # Square cells in viewBox units, so "deep" means the same in x and y.
    span = max((x1 - x0) * map_view.width, (y1 - y0) * map_view.height)
    cell = span / steps
    cols = max(1, math.ceil((x1 - x0) * map_view.width / cell))
    rows = max(1, math.ceil((y1 - y0) * map_view.height / cell))
    dx = (x1 - x0) / cols
    dy = (y1 - y0) / rows
    inside: dict[tuple[int, int], Point] = {}
    for r in range(rows):
        for c in range(cols):
            px = round(x0 + (c + 0.5) * dx, 4)
            py = round(y0 + (r + 0.5) * dy, 4)
            if zone_at(view, px, py) == zone:
                inside[(c, r)] = (px, py)
    if not inside:
        raise MapDataError(f"{view}.toml: zone {zone!r} is hidden by higher-priority zones")
    # Breadth-first depth from the nearest cell outside the zone (8-neighbourhood).
    depth: dict[tuple[int, int], int] = {}
    queue: deque[tuple[int, int]] = deque()
    for c, r in inside:
        neighbours = [(c + i, r + j) for i in (-1, 0, 1) for j in (-1, 0, 1)]
        if any(n not in inside for n in neighbours):
            depth[(c, r)] = 1
            queue.append((c, r))
    while queue:
        c, r = queue.popleft()
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                n = (c + i, r + j)
                if n in inside and n not in depth:
                    depth[n] = depth[(c, r)] + 1
                    queue.append(n)
    mean_x = sum(p[0] for p in inside.values()) / len(inside)
    mean_y = sum(p[1] for p in inside.values()) / len(inside)
    # Deep enough (60% of the deepest), then as central as possible.
    enough = max(1, math.ceil(max(depth.values()) * 0.6))
    best = max(
        inside,
        key=lambda k: (
            min(depth[k], enough),
            -((inside[k][0] - mean_x) ** 2 + (inside[k][1] - mean_y) ** 2),
            -k[1],
            -k[0],
        ),
    )
    return inside[best]


# --- data files -----------------------------------------------------------------------


def load_map(view: str) -> MapView:
    """The view's map, loaded and validated once. ValueError for an unknown view."""
    if view not in VIEWS:
        raise ValueError(f"unknown map view {view!r}; expected one of {', '.join(VIEWS)}")
    return _load_map(view)


@functools.cache
def _load_map(view: str) -> MapView:
    path = MAPDATA_DIR / f"{view}.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return parse_map(view, raw, source=path.name)


def parse_map(view: str, raw: Mapping[str, Any], *, source: str = "<map>") -> MapView:
    """Validate a map's raw data (as read from TOML) into a :class:`MapView`."""
    known_zones = load_library().zones

    def fail(field: str, message: str) -> MapDataError:
        return MapDataError(f"{source}: {field}: {message}")

    def number(field: str, value: Any, *, unit: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(field, "must be a number")
        if unit and not (0.0 <= value <= 1.0):
            raise fail(field, "must be between 0 and 1")
        return float(value)

    width = raw.get("width")
    height = raw.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        raise fail("width/height", "must be positive integers")
    title = raw.get("title")
    if not isinstance(title, str) or not title:
        raise fail("title", "missing")

    shapes: list[ZoneShape] = []
    for i, entry in enumerate(raw.get("zones", [])):
        code = entry.get("zone")
        if code not in known_zones:
            raise fail(f"zones[{i}].zone", f"unknown zone code {code!r}")
        if any(shape.zone == code for shape in shapes):
            raise fail(f"zones[{i}].zone", f"{code!r} listed twice (give it several polygons)")
        polygons: list[Polygon] = []
        for p, points in enumerate(entry.get("polygons", [])):
            field = f"zones[{i}].polygons[{p}]"
            if len(points) < 3:
                raise fail(field, "needs at least 3 points")
            polygons.append(
                tuple(
                    (
                        number(f"{field}[{k}].x", pt[0], unit=True),
                        number(f"{field}[{k}].y", pt[1], unit=True),
                    )
                    for k, pt in enumerate(points)
                )
            )
        if not polygons:
            raise fail(f"zones[{i}].polygons", "missing")
        xs = [pt[0] for polygon in polygons for pt in polygon]
        ys = [pt[1] for polygon in polygons for pt in polygon]
        shapes.append(ZoneShape(code, tuple(polygons), (min(xs), min(ys), max(xs), max(ys))))
    if not shapes:
        raise fail("zones", "missing")

    outlines: list[Outline] = []
    for i, entry in enumerate(raw.get("outlines", [])):
        kind = entry.get("kind")
        if kind not in OUTLINE_KINDS:
            raise fail(f"outlines[{i}].kind", f"must be one of {', '.join(OUTLINE_KINDS)}")
        d = entry.get("d")
        if not isinstance(d, str) or not d.strip():
            raise fail(f"outlines[{i}].d", "missing")
        outlines.append(Outline(kind, " ".join(d.split())))

    marks: list[Mark] = []
    for i, entry in enumerate(raw.get("marks", [])):
        kind = entry.get("kind")
        if kind not in MARK_KINDS:
            raise fail(f"marks[{i}].kind", f"must be one of {', '.join(MARK_KINDS)}")
        text = entry.get("text")
        if not isinstance(text, str) or not text:
            raise fail(f"marks[{i}].text", "missing")
        marks.append(
            Mark(
                kind,
                text,
                number(f"marks[{i}].x", entry.get("x"), unit=True),
                number(f"marks[{i}].y", entry.get("y"), unit=True),
            )
        )
    return MapView(view, title, width, height, tuple(shapes), tuple(outlines), tuple(marks))


# --- SVG ------------------------------------------------------------------------------

# Presentation attributes: the map reads well without facemap.css (PDFs, e-mail);
# facemap.css overrides them (CSS beats presentation attributes).
_OUTLINE_STYLE = {
    "silhouette": 'fill="#f1f4f5" stroke="none"',
    "hair": 'fill="#e6eaed" stroke="#8a9aa4" stroke-width="0.8"',
    "line": 'fill="none" stroke="#3d4d57" stroke-width="1.3" stroke-linejoin="round"',
    "detail": 'fill="none" stroke="#4f5f6a" stroke-width="1" stroke-linecap="round"',
    "soft": 'fill="none" stroke="#9aa8b0" stroke-width="0.8" stroke-linecap="round"',
    "guide": 'fill="none" stroke="#9aa8b0" stroke-width="0.8" stroke-dasharray="4 3"',
    "fill": 'fill="#4f5f6a" stroke="none"',
}
_UNDERLAY_KINDS = ("silhouette", "hair")


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def zone_label(zone: str) -> str:
    """The library's name of a zone ("Left cheek"); the code itself if unknown."""
    found = load_library().zones.get(zone)
    return found.name if found else zone


def render_svg(
    view: str,
    points: Sequence[MapPoint | Mapping[str, Any]] = (),
    *,
    highlight_zones: Iterable[str] = (),
    interactive: bool = True,
    label: str | None = None,
) -> str:
    """A self-contained ``<svg class="facemap">`` of ``view`` with ``points`` drawn on it.

    Zones are ``<polygon class="zone" data-zone=...>`` (one ``<g class="zone-group">``
    per zone, in priority order), outlines are decorative (``pointer-events: none``),
    points are ``<circle class="pt" data-point-id=...>`` with their number beside them.
    ``highlight_zones`` get the class ``is-highlighted`` (e.g. the zones a protocol
    treats). ``interactive`` adds ``data-interactive`` for facemap.js and makes points
    focusable. Output is deterministic; every attribute and text is escaped.
    """
    map_view = load_map(view)
    w, h = map_view.width, map_view.height
    highlighted = set(highlight_zones)
    title = label if label is not None else map_view.title
    role = 'role="group"' if interactive else 'role="img"'
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="facemap facemap-{_attr(view)}" '
        f'data-view="{_attr(view)}" viewBox="0 0 {w} {h}" {role} '
        f'aria-label="{_attr(title)}"'
        + (' data-interactive="true"' if interactive else "")
        + ' preserveAspectRatio="xMidYMid meet">',
        f"<title>{_attr(title)}</title>",
    ]
    deco = 'pointer-events="none" aria-hidden="true"'
    out.append(f'<g class="map-underlay" {deco}>')
    out.extend(
        f'<path class="outline outline-{o.kind}" d="{_attr(o.d)}" {_OUTLINE_STYLE[o.kind]}/>'
        for o in map_view.outlines
        if o.kind in _UNDERLAY_KINDS
    )
    out.append("</g>")

    out.append('<g class="zones">')
    for shape in map_view.zones:
        name = zone_label(shape.zone)
        classes = "zone is-highlighted" if shape.zone in highlighted else "zone"
        fill = "#e4f1f2" if shape.zone in highlighted else "#ffffff"
        out.append(f'<g class="zone-group" data-zone="{_attr(shape.zone)}">')
        for polygon in shape.polygons:
            coords = " ".join(f"{_num(px * w)},{_num(py * h)}" for px, py in polygon)
            out.append(
                f'<polygon class="{classes}" data-zone="{_attr(shape.zone)}" '
                f'points="{coords}" fill="{fill}" stroke="#b7c3ca" '
                f'stroke-width="0.7" stroke-linejoin="round">'
                f"<title>{_attr(name)}</title></polygon>"
            )
        out.append("</g>")
    out.append("</g>")

    out.append(f'<g class="map-outlines" {deco}>')
    out.extend(
        f'<path class="outline outline-{o.kind}" d="{_attr(o.d)}" {_OUTLINE_STYLE[o.kind]}/>'
        for o in map_view.outlines
        if o.kind not in _UNDERLAY_KINDS
    )
    for mark in map_view.marks:
        out.append(
            f'<text class="map-mark map-mark-{mark.kind}" x="{_num(mark.x * w)}" '
            f'y="{_num(mark.y * h)}" text-anchor="middle" dominant-baseline="central" '
            f'font-family="system-ui, sans-serif" font-size="{13 if mark.kind == "side" else 11}" '
            f'fill="#5f6f7a">{_attr(mark.text)}</text>'
        )
    out.append("</g>")

    out.append('<g class="points">')
    radius = POINT_RADIUS * w
    for value in points:
        point = MapPoint.from_value(value)
        px = _check_coordinate("x", point.x) * w
        py = _check_coordinate("y", point.y) * h
        classes = "pt" + (f" {point.css_class}" if point.css_class else "")
        zone_attr = f' data-zone="{_attr(point.zone)}"' if point.zone else ""
        tooltip = point.label or (zone_label(point.zone) if point.zone else "Point")
        if point.number is not None:
            tooltip = f"{point.number}. {tooltip}"
        focus = f' tabindex="0" role="button" aria-label="{_attr(tooltip)}"' if interactive else ""
        out.append(f'<g class="pt-group" data-point-id="{_attr(point.id)}">')
        out.append(
            f'<circle class="{_attr(classes)}" data-point-id="{_attr(point.id)}"{zone_attr} '
            f'cx="{_num(px)}" cy="{_num(py)}" r="{_num(radius)}"{focus} '
            f'fill="#1f6f78" fill-opacity="0.85" stroke="#ffffff" stroke-width="1.5">'
            f"<title>{_attr(tooltip)}</title></circle>"
        )
        if point.number is not None:
            out.append(
                f'<text class="pt-num" x="{_num(px + radius * 1.15)}" '
                f'y="{_num(py - radius * 1.15)}" pointer-events="none" aria-hidden="true" '
                f'font-family="system-ui, sans-serif" font-size="{_num(radius * 1.45)}" '
                f'font-weight="600" fill="#1d2a33">{_attr(point.number)}</text>'
            )
        out.append("</g>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
