"""Tiny inline SVG charts: lines over time and paired bars, no library, no network.

A report embeds them as text, so it opens anywhere and weighs a few kilobytes whatever
the traffic: each chart draws aggregates (one point per bucket, bar per category).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
W, H, LEFT, BOTTOM, TOP = 640, 220, 48, 28, 12


def _frame(body: str, title: str, height: int = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" '
        f'width="{W}" height="{height}" role="img" aria-label="{escape(title)}">'
        f'<rect width="{W}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def _time_label(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M")


def line_chart(
    xs: Sequence[float],
    lines: Mapping[str, Sequence[float | None]],
    title: str,
    y_max: float | None = None,
    percent: bool = False,
) -> str:
    """Lines over time (``xs`` in Unix ms); None values leave a gap."""
    if not xs:
        return _frame(f'<text x="{LEFT}" y="40">no data</text>', title)
    values = [v for line in lines.values() for v in line if v is not None]
    top = y_max if y_max is not None else max([*values, 1e-09]) * 1.1
    x0, x1 = min(xs), max(xs)
    span = (x1 - x0) or 1.0
    plot_w, plot_h = W - LEFT - 10, H - BOTTOM - TOP

    def point(x: float, y: float) -> str:
        return f"{LEFT + (x - x0) / span * plot_w:.1f},{TOP + plot_h - y / top * plot_h:.1f}"

    parts = [_axes(top, percent, plot_w, plot_h)]
    parts.append(f'<text x="{LEFT}" y="{H - 8}" font-size="11">{_time_label(x0)}</text>')
    parts.append(
        f'<text x="{W - 10}" y="{H - 8}" font-size="11" text-anchor="end">{_time_label(x1)}</text>'
    )
    for i, (name, ys) in enumerate(lines.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = [point(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        if len(points) == 1:
            x, y = points[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
        elif points:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        parts.append(
            f'<text x="{LEFT + 8 + 90 * i}" y="{TOP + 10}" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    return _frame("".join(parts), title)


def _axes(top: float, percent: bool, plot_w: float, plot_h: float) -> str:
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_h - fraction * plot_h
        value = top * fraction
        label = f"{100 * value:.0f}%" if percent else short(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{label}</text>"
        )
    return "".join(parts)


def short(value: float) -> str:
    """An axis label that fits the margin: 950, 1.8k, 2.4M."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str,
    percent: bool = True,
) -> str:
    """Horizontal bars, one group per label, one bar per series (e.g. reference, now)."""
    if not labels:
        return _frame(f'<text x="{LEFT}" y="40">no data</text>', title, 60)
    row = 6 + 9 * len(series)
    height = TOP + row * len(labels) + 24
    top = max([v for values in series.values() for v in values] + [1e-9])
    label_w, plot_w = 110, W - 110 - 70
    parts = []
    for i, label in enumerate(labels):
        y = TOP + i * row
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row / 2 + 3:.1f}" font-size="11" '
            f'text-anchor="end">{escape(str(label))[:18]}</text>'
        )
        for j, values in enumerate(series.values()):
            width = values[i] / top * plot_w
            text = f"{100 * values[i]:.1f}%" if percent else f"{values[i]:.3g}"
            parts.append(
                f'<rect x="{label_w}" y="{y + 3 + 9 * j}" width="{width:.1f}" height="8" '
                f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(text)}</title></rect>'
            )
    for j, name in enumerate(series):
        parts.append(
            f'<text x="{label_w + 140 * j}" y="{height - 8}" font-size="11" '
            f'fill="{COLOURS[j % len(COLOURS)]}">■ {escape(name)}</text>'
        )
    return _frame("".join(parts), title, height)
