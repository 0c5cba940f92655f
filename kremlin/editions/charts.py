"""Bar charts as inline SVG, drawn without any library, network or script.

Each function takes labelled values and returns one ``<svg>`` element whose bars are
``<rect class="mark">`` (with a ``<title>`` tooltip), sized by a ``viewBox`` so the page
can scale it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

BAR_COLOUR = "#3b6ea5"
GRID_COLOUR = "#d9dee5"
TEXT_COLOUR = "#333"
FONT = "font-family='system-ui, sans-serif'"


def nice_ceiling(value: float) -> float:
    """Smallest of 1, 2, 2.5, 3, 4, 5, 6 or 8 x 10^k not below ``value`` (an axis maximum)."""
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _fmt(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 10_000:
        return f"{n / 1000:g}k"
    return f"{n:,.0f}"


def column_chart(
    title: str, points: Sequence[tuple[str, int]], *, width: int = 560, height: int = 260
) -> str:
    """Vertical bars, one per label in order (e.g. years); labels thinned to stay legible."""
    left, right, top, bottom = 48, 8, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = nice_ceiling(max((v for _, v in points), default=0))
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.78, 1.0)
    every = max(1, math.ceil(n / (plot_w / 34)))  # one label per ~34 px
    parts = [_svg_open(title, width, height)]
    parts.append(_text(left, 16, title, weight="600", size=13))
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID_COLOUR}'/>"
        )
        parts.append(_text(left - 6, y + 4, _fmt(value), anchor="end", size=10))
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top_value
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        parts.append(
            f"<rect class='mark' x='{x:.1f}' y='{y:.1f}' width='{bar_w:.1f}' height='{h:.1f}' fill='{BAR_COLOUR}'>"
            f"<title>{escape(label)}: {value:,}</title></rect>"
        )
        if i % every == 0:
            parts.append(_text(x + bar_w / 2, top + plot_h + 14, label, anchor="middle", size=10))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str, items: Sequence[tuple[str, int]], *, width: int = 560, label_width: int = 190
) -> str:
    """Horizontal bars, largest first as given, with the value at the end of each bar."""
    row, top, right = 20, 28, 56
    height = top + row * max(len(items), 1) + 8
    plot_w = width - label_width - right
    top_value = max((v for _, v in items), default=0) or 1
    parts = [_svg_open(title, width, height)]
    parts.append(_text(8, 16, title, weight="600", size=13))
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(plot_w * value / top_value, 1.0)
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(_text(label_width - 6, y + 13, short, anchor="end", size=11))
        parts.append(
            f"<rect class='mark' x='{label_width}' y='{y + 2}' width='{w:.1f}' height='{row - 6}' fill='{BAR_COLOUR}'>"
            f"<title>{escape(label)}: {value:,}</title></rect>"
        )
        parts.append(_text(label_width + w + 4, y + 13, f"{value:,}", size=10))
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(title: str, width: int, height: int) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='{escape(title, quote=True)}' {FONT}>"
    )


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = 11, weight: str = "400"
) -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' font-size='{size}' "
        f"font-weight='{weight}' fill='{TEXT_COLOUR}'>{escape(text)}</text>"
    )
