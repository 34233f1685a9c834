"""Charts of the reports as self-contained HTML (inline SVG, no script, no dependency):
an interval chart (each row's estimate and 95% interval, zero marked) and the budget
response curves with their bands. The Studio draws its own from the API's JSON; these
are for a report mailed or archived from the command line.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from onevoice.domain.measure.budget import CurvePoint

WIDTH, ROW, LEFT, RIGHT = 860, 22, 260, 30
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _default_value(row: Any) -> tuple[float, float, float]:
    return row.estimate, row.lower, row.upper


def interval_chart(
    title: str,
    rows: Sequence[Any],
    *,
    label: Callable[[Any], str],
    value: Callable[[Any], tuple[float, float, float]] = _default_value,
) -> str:
    """An SVG with one line per row: the interval as a bar, the estimate as a dot."""
    points = [(label(r), *value(r)) for r in rows]
    finite = [v for _l, *vs in points for v in vs if math.isfinite(v)] + [0.0]
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    plot = WIDTH - LEFT - RIGHT

    def x(v: float) -> float:
        v = min(max(v, low), high) if math.isfinite(v) else (high if v > 0 else low)
        return LEFT + (v - low) / span * plot

    height = ROW * (len(points) + 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{html.escape(title)}</title>",
        f'<line x1="{x(0):.1f}" y1="{ROW / 2}" x2="{x(0):.1f}" y2="{height - ROW}" '
        'stroke="#999" stroke-dasharray="3,3"/>',
    ]
    for k, (name, est, lo, hi) in enumerate(points):
        y = ROW * (k + 1)
        colour = "#2ca02c" if lo > 0 else "#d62728" if hi < 0 else "#777"
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{html.escape(name)}</text>'
        )
        if math.isfinite(lo) or math.isfinite(hi):
            parts.append(
                f'<line x1="{x(lo):.1f}" y1="{y}" x2="{x(hi):.1f}" y2="{y}" stroke="{colour}" '
                'stroke-width="3"/>'
            )
        if math.isfinite(est):
            parts.append(f'<circle cx="{x(est):.1f}" cy="{y}" r="4" fill="{colour}"/>')
    axis_y = height - ROW / 2
    parts.append(f'<text x="{LEFT}" y="{axis_y}">{low:.4g}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{axis_y}" text-anchor="end">{high:.4g}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def curve_chart(title: str, curves: Sequence[CurvePoint]) -> str:
    """Each program's fitted curve (incremental revenue per period against contacts per
    period) with its 95% bootstrap band."""
    if not curves:
        return "<p>No program has enough history for a curve yet.</p>"
    height, top, bottom = 420, 20, 40
    xs = [c.contacts_per_period for c in curves]
    ys = [v for c in curves for v in (c.estimate, c.lower, c.upper) if math.isfinite(v)] + [0.0]
    x_hi, y_lo, y_hi = max(xs) or 1.0, min(ys), max(ys)
    y_span = (y_hi - y_lo) or 1.0

    def px(v: float) -> float:
        return LEFT / 3 + v / x_hi * (WIDTH - LEFT / 3 - RIGHT)

    def py(v: float) -> float:
        return top + (y_hi - v) / y_span * (height - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{html.escape(title)}</title>",
        f'<line x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(x_hi):.1f}" y2="{py(0):.1f}" '
        'stroke="#999"/>',
    ]
    programs = list(dict.fromkeys(c.program for c in curves))
    for k, program in enumerate(programs):
        mine = [c for c in curves if c.program == program]
        colour = _COLOURS[k % len(_COLOURS)]
        band = [c for c in mine if math.isfinite(c.lower) and math.isfinite(c.upper)]
        if band:
            outline = [(px(c.contacts_per_period), py(c.upper)) for c in band] + [
                (px(c.contacts_per_period), py(c.lower)) for c in reversed(band)
            ]
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in outline)
            parts.append(f'<polygon points="{path}" fill="{colour}" fill-opacity="0.15"/>')
        line = " ".join(f"{px(c.contacts_per_period):.1f},{py(c.estimate):.1f}" for c in mine)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{top + 14 * (k + 1)}" text-anchor="end" '
            f'fill="{colour}">{html.escape(program)}</text>'
        )
    parts.append(
        f'<text x="{px(x_hi / 2):.1f}" y="{height - 8}" text-anchor="middle">'
        "contacts per period</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def write_html(path: Path, title: str, body: str) -> None:
    """A standalone page around a chart."""
    page = (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head>\n<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
