"""Small inline SVG charts for the approval and evidence pages: pure text in, markup out.

The pages' Content-Security-Policy allows no scripts and no inline ``style`` attributes, so a
chart is drawn with SVG presentation attributes only (``fill``, ``stroke``, ``font-size``).
Every label is untrusted (feature and metric names come from monitoring files) and goes through
``html.escape``, which is also correct XML escaping for SVG text and attributes. A chart scales
with the page (``viewBox`` and ``width="100%"``), so it is readable on a phone; its numbers are
also in its ``<title>``/``<desc>`` for screen readers and text browsers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 320, 120
_LEFT, _RIGHT, _TOP, _BOTTOM = 36, 8, 20, 18
_SERIES = "#1f5fa8"  # the value
_REFERENCE = "#b3261e"  # the threshold or baseline it is held against
_SECOND = "#e08a00"  # the second of a pair (shadow, latest)


@dataclass(frozen=True, slots=True)
class Pair:
    """One row of a paired bar chart: a label and two values (None: not measured)."""

    label: str
    first: float | None
    second: float | None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _figure(title: str, caption: str, body: str, desc: str) -> str:
    return (
        f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{body}</svg>"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#333") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" font-family="sans-serif" '
        f'text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
    )


def line_against(
    title: str,
    values: Sequence[float | None],
    reference: float,
    reference_label: str,
    unit: str = "",
    labels: Sequence[str] = (),
    bad_above: bool = True,
    from_zero: bool = True,
    note: str = "",
) -> str:
    """A series over time against a horizontal reference line (a threshold or a baseline).

    ``labels`` name the points (execution stamps): the first and last are drawn under the axis.
    Gaps (None) break the line. Points on the wrong side of the reference (above it, or below
    with ``bad_above=False``) are red. ``from_zero=False`` scales to the values (a metric that
    moves 10% is visible). ``note`` is added to the caption. Returns "" when nothing was
    measured."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(*known, reference), max(*known, reference)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low = min(0.0, low) if from_zero else low - pad
    high = high + pad
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(len(values) - 1, 1)

    def y_of(value: float) -> float:
        return _TOP + plot_h * (1 - (value - low) / (high - low))

    segments: list[list[str]] = [[]]
    dots = []
    for i, value in enumerate(values):
        if value is None:
            segments.append([])
            continue
        x, y = _LEFT + i * step, y_of(value)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        wrong_side = value > reference if bad_above else value < reference
        colour = _REFERENCE if wrong_side else _SERIES
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
    lines = "".join(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{_SERIES}" stroke-width="2"/>'
        for points in segments
        if len(points) > 1
    )
    ref_y = y_of(reference)
    body = (
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}" '
        'stroke="#888" stroke-width="1"/>'
        + _text(_LEFT - 3, y_of(high) + 8, _fmt(high), "end")
        + _text(_LEFT - 3, _TOP + plot_h, _fmt(low), "end")
        + f'<line x1="{_LEFT}" y1="{ref_y:.1f}" x2="{WIDTH - _RIGHT}" y2="{ref_y:.1f}" '
        f'stroke="{_REFERENCE}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        + _text(
            WIDTH - _RIGHT, ref_y - 3, f"{reference_label} {_fmt(reference)}", "end", _REFERENCE
        )
        + lines
        + "".join(dots)
        + _text(_LEFT, 12, title)
    )
    if labels:
        body += _text(_LEFT, HEIGHT - 4, labels[0]) + _text(
            WIDTH - _RIGHT, HEIGHT - 4, labels[-1], "end"
        )
    latest = next((v for v in reversed(values) if v is not None), None)
    desc = (
        f"{len(values)} points from {_fmt(known[0])} to {_fmt(latest)}{unit}; "
        f"{reference_label} {_fmt(reference)}{unit}; "
        f"{sum(1 for v in known if (v > reference if bad_above else v < reference))} "
        f"{'above' if bad_above else 'below'} it"
    )
    caption = f"{title}: latest {_fmt(latest)}{unit}, {reference_label} {_fmt(reference)}{unit}"
    caption += f" ({note})" if note else ""
    return _figure(title, caption, body, desc)


def paired_bars(title: str, rows: Sequence[Pair], names: tuple[str, str]) -> str:
    """Horizontal bars, two per row (e.g. baseline and latest, production and shadow), each row
    scaled to its own larger value so rows of different units sit in one chart. Returns "" when
    there is nothing to draw."""
    rows = [row for row in rows if row.first is not None or row.second is not None][:6]
    if not rows:
        return ""
    row_h = 26
    height = _TOP + row_h * len(rows) + 6
    bar_x, bar_w = 110, WIDTH - 110 - 60
    body = [
        _text(4, 12, title),
        f'<rect x="{WIDTH - 150}" y="4" width="8" height="8" fill="{_SERIES}"/>',
        _text(WIDTH - 139, 12, names[0]),
        f'<rect x="{WIDTH - 80}" y="4" width="8" height="8" fill="{_SECOND}"/>',
        _text(WIDTH - 69, 12, names[1]),
    ]
    for i, row in enumerate(rows):
        top = _TOP + i * row_h
        scale = max(abs(v) for v in (row.first, row.second) if v is not None) or 1.0
        body.append(_text(4, top + 13, row.label[:24]))
        for j, (value, colour) in enumerate(((row.first, _SERIES), (row.second, _SECOND))):
            y = top + 2 + j * 11
            width = 0.0 if value is None else bar_w * abs(value) / scale
            body.append(
                f'<rect x="{bar_x}" y="{y}" width="{width:.1f}" height="9" fill="{colour}"/>'
            )
            body.append(_text(bar_x + width + 3, y + 8, _fmt(value)))
    desc = "; ".join(
        f"{row.label}: {names[0]} {_fmt(row.first)}, {names[1]} {_fmt(row.second)}" for row in rows
    )
    figure = _figure(title, f"{title} ({names[0]} and {names[1]})", "".join(body), desc)
    return figure.replace(f"0 0 {WIDTH} {HEIGHT}", f"0 0 {WIDTH} {height}", 1)
