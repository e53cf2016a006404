"""Charts drawn on the server as SVG: no chart library to vendor, nothing for the CSP to allow,
and a page that shows its numbers before (or without) any script.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that states the
numbers in words, so a screen reader gets what the picture shows; pages also show the same
numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40
#: Colour-blind-safe (Okabe-Ito), each at least 3:1 against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

_ids = count(1)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    """The axis' top: the smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _frame(title: str, desc: str, body: list[str], legend: Sequence[str]) -> Markup:
    chart_id = f"chart-{next(_ids)}"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 20 * ((len(legend) + 3) // 4)}" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        *body,
    ]
    for index, name in enumerate(legend):
        x = LEFT + (index % 4) * 150
        y = HEIGHT + 8 + 20 * (index // 4)
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 10}" fill="#111827">{escape(name[:22])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes(top: float, labels: Sequence[str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">'
            f"{_number(value)}</text>"
        )
    every = max(1, len(labels) // 8)
    plot_w = WIDTH - LEFT - RIGHT
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + plot_w * (index + 0.5) / max(len(labels), 1)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#4b5563">'
            f"{escape(label)}</text>"
        )
    return parts


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Lines over shared x labels (time buckets); one colour per series, with a legend."""
    top = _nice_max(max((v for s in series for v in s.values), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _axes(top, labels)
    for index, line in enumerate(series):
        points = " ".join(
            f"{LEFT + plot_w * (i + 0.5) / max(len(labels), 1):.1f},"
            f"{TOP + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(line.values)
        )
        colour = PALETTE[index % len(PALETTE)]
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    desc = "; ".join(
        f"{s.name}: total {_number(sum(s.values))}, peak {_number(max(s.values, default=0))}"
        for s in series
    )
    return _frame(title, desc or "No data", body, [s.name for s in series])


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _nice_max(max((v for s in series for v in s.values), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _axes(top, labels)
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for s_index, bars in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        for index, value in enumerate(bars.values):
            height = plot_h * value / top
            x = LEFT + group_w * index + group_w * 0.1 + bar_w * s_index
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar_w:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(labels[index])}, '
                f"{escape(bars.name)}: {_number(value)}</title></rect>"
            )
    desc = "; ".join(
        f"{label}: "
        + ", ".join(f"{s.name} {_number(s.values[i])}" for s in series if i < len(s.values))
        for i, label in enumerate(labels)
    )
    return _frame(title, desc or "No data", body, [s.name for s in series])
