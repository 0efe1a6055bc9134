"""Server-rendered SVG charts (no JavaScript library): line charts of metrics over time
and horizontal bar charts. Pure Python; every text is escaped. Each chart carries a
``<title>`` and ``<desc>`` (``role="img"``); pages show the numbers in a table too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f6f8b", "#c2571a", "#4d8b31", "#8a3ea6", "#b8860b", "#444444", "#d6336c")


@dataclass(frozen=True)
class Point:
    x: float  # e.g. a day number; only the order and spacing matter
    y: float | None
    marked: bool = False  # drawn hollow: e.g. a photo not comparable with the baseline
    label: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: list[Point] = field(default_factory=list)


def _num(value: float) -> str:
    return f"{value:.1f}"


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    series: list[Series],
    x_ticks: list[tuple[float, str]],
    *,
    width: int = 640,
    height: int = 260,
) -> str:
    """One line per series; points with ``y`` None are skipped (the line breaks there).
    Every drawn point is a ``<circle class="pt">`` with its own ``<title>``."""
    left, right, top, bottom = 56, 150, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [p.x for s in series for p in s.points]
    ys = [p.y for s in series for p in s.points if p.y is not None]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1.0, y1 + 1.0
    pad = (y1 - y0) * 0.08
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (plot_w / 2 if x1 == x0 else (x - x0) / (x1 - x0) * plot_w)

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        value = y0 + pad + frac * (y1 - y0 - 2 * pad)
        y = py(value)
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_num(y)}" y2="{_num(y)}" '
            'stroke="#e3e3e3"/>'
            f'<text x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" font-size="11">'
            f"{escape(_fmt(value))}</text>"
        )
    for x, label in x_ticks:
        out.append(
            f'<text x="{_num(px(x))}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for p in s.points:
            if p.y is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_num(px(p.x))},{_num(py(p.y))}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                out.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{" ".join(seg)}"/>'
                )
        for p in s.points:
            if p.y is None:
                continue
            fill = "#fff" if p.marked else colour
            note = " (not comparable)" if p.marked else ""
            out.append(
                f'<circle class="pt{" marked" if p.marked else ""}" cx="{_num(px(p.x))}" '
                f'cy="{_num(py(p.y))}" r="4" fill="{fill}" stroke="{colour}" stroke-width="2">'
                f"<title>{escape(s.name)}: {escape(_fmt(p.y))}"
                f"{' on ' + escape(p.label) if p.label else ''}{note}</title></circle>"
            )
        ly = top + 10 + i * 18
        out.append(
            f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 32}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{left + plot_w + 38}" y="{ly + 4}" font-size="12">{escape(s.name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: list[tuple[str, float]],
    *,
    unit: str = "",
    width: int = 640,
) -> str:
    """Horizontal bars from 0 (negative values to the left); one ``<rect class="bar">``
    per bar with its value written beside it."""
    label_w, value_w, row_h, top = 220, 70, 24, 8
    height = top * 2 + row_h * max(len(bars), 1)
    plot_w = width - label_w - value_w
    lo = min([0.0, *(v for _, v in bars)])
    hi = max([0.0, *(v for _, v in bars)])
    span = (hi - lo) or 1.0

    def px(v: float) -> float:
        return label_w + (v - lo) / span * plot_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]
    zero = px(0.0)
    for i, (label, value) in enumerate(bars):
        y = top + i * row_h
        x, w = (zero, px(value) - zero) if value >= 0 else (px(value), zero - px(value))
        text = f"{_fmt(value)}{(' ' + unit) if unit else ''}"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12">'
            f"{escape(label[:34])}</text>"
            f'<rect class="bar" x="{_num(x)}" y="{y + 4}" width="{_num(max(w, 1.0))}" '
            f'height="{row_h - 8}" fill="{PALETTE[0]}"><title>{escape(label)}: {escape(text)}'
            "</title></rect>"
            f'<text x="{_num(max(px(value), zero) + 6)}" y="{y + 16}" font-size="12">'
            f"{escape(text)}</text>"
        )
    out.append(
        f'<line x1="{_num(zero)}" x2="{_num(zero)}" y1="{top}" y2="{height - top}" '
        'stroke="#888"/></svg>'
    )
    return "".join(out)
