"""Server-rendered SVG charts for the overview page: pure functions from numbers to markup.

The Content-Security-Policy allows no inline scripts or ``style`` attributes, so the charts are plain SVG with
presentation attributes (``fill``, ``x``, ``width``) and CSS classes. Every text that reaches the markup (labels,
source names, titles) is escaped here, element content and attribute values alike, before the result is wrapped
in ``Markup``; Jinja's autoescaping therefore neither double-escapes nor lets anything through unescaped. Each
chart carries ``<title>``/``<desc>`` for screen readers and a ``<title>`` per bar for tooltips; the page shows a
table with the same numbers under each chart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

WIDTH = 720
TEXT_COLOUR = "#1b1b1b"
GRID_COLOUR = "#c8c8c8"
DEFAULT_COLOUR = "#0b4f8a"
# Dark enough for contrast against white; the legend and the tables say which is which in words.
COLOURS = {
    "threat": "#b42318",
    "doxxing": "#b54708",
    "harassment": "#6941c6",
    "disinformation": "#175cd3",
}
FALLBACK_COLOURS = ("#0b4f8a", "#2e7d32", "#8a1010", "#5d4037", "#00695c", "#ad1457")
EMPTY_MESSAGE = "Inga flaggade inlägg under perioden."

# Characters XML 1.0 does not allow (control characters, lone surrogates, non-characters).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_IDENT = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Series:
    """One stacked part of every column: ``key`` picks the colour and CSS class, ``name`` is shown."""

    key: str
    name: str
    values: Sequence[int]


def text(value: object) -> str:
    """Element content: ``&``, ``<`` and ``>`` escaped, characters XML forbids replaced."""
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def attribute(value: object) -> str:
    """An attribute value with its double quotes: safe in XML and in HTML's inline SVG alike."""
    return '"' + escape(_NOT_XML.sub("\ufffd", str(value)), {'"': "&quot;", "'": "&#x27;"}) + '"'


def number(value: int) -> str:
    """Swedish digit grouping: 12 345."""
    return f"{value:,}".replace(",", "\u00a0")


def shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def colour(key: str, index: int = 0) -> str:
    return COLOURS.get(key, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def ticks(maximum: int, count: int = 4) -> list[int]:
    """Round, evenly spaced integer gridlines from 0 up to at least ``maximum``."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def stacked_columns(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    ident: str,
    title: str,
    description: str = "",
    tick_labels: Sequence[str] | None = None,
    empty: str = EMPTY_MESSAGE,
) -> Markup:
    """One column per category (e.g. a day) with the series stacked on each other (e.g. one per label).

    ``categories`` name the columns in full (used in tooltips); ``tick_labels`` are shorter axis labels."""
    for item in series:
        if len(item.values) != len(categories):
            raise ValueError(f"series {item.key!r} has {len(item.values)} values for {len(categories)} categories")
    totals = [sum(item.values[i] for item in series) for i in range(len(categories))]
    if not categories or not any(totals):
        return _empty(ident, title, description, empty)
    axis = list(tick_labels) if tick_labels is not None else list(categories)
    legend_height, left, right, bottom = 28, 48, 8, 24
    plot_height = 180
    height = legend_height + plot_height + bottom + 8
    top = legend_height + 8
    plot_width = WIDTH - left - right
    grid = ticks(max(totals))
    scale = plot_height / grid[-1]
    band = plot_width / len(categories)
    bar = max(1.0, band * 0.8)
    parts = [_open(ident, title, description, height)]
    parts.append(_legend(series, y=4))
    parts.append('<g class="chart-grid">')
    for value in grid:
        y = top + plot_height - value * scale
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID_COLOUR}" '
            f'stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT_COLOUR}">{text(number(value))}</text>'
        )
    parts.append("</g>")
    every = max(1, math.ceil(len(categories) / 10))
    parts.append('<g class="chart-bars">')
    for index, category in enumerate(categories):
        x = left + index * band + (band - bar) / 2
        y = top + plot_height
        named = ", ".join(f"{item.name} {number(item.values[index])}" for item in series if item.values[index])
        column_title = f"{category}: {named or 'inga'}"
        parts.append(f"<g><title>{text(column_title)}</title>")
        for position, item in enumerate(series):
            value = item.values[index]
            if value <= 0:
                continue
            size = value * scale
            y -= size
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{size:.1f}" '
                f"fill={attribute(colour(item.key, position))} class={attribute('bar bar-' + _ident(item.key))}>"
                f"<title>{text(f'{category}, {item.name}: {number(value)}')}</title></rect>"
            )
        parts.append("</g>")
        if index % every == 0:
            parts.append(
                f'<text x="{left + index * band + band / 2:.1f}" y="{top + plot_height + 16}" text-anchor="middle" '
                f'fill="{TEXT_COLOUR}">{text(axis[index])}</text>'
            )
    parts.append("</g>")
    parts.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_height}" y2="{top + plot_height}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through text() or attribute()


def horizontal_bars(
    rows: Sequence[tuple[str, int]],
    *,
    ident: str,
    title: str,
    description: str = "",
    keys: Sequence[str] | None = None,
    empty: str = EMPTY_MESSAGE,
) -> Markup:
    """One bar per row (name, count), longest first as given; ``keys`` pick colours (e.g. labels)."""
    if not rows or not any(count for _, count in rows):
        return _empty(ident, title, description, empty)
    label_width, value_width, row_height, top = 170, 60, 24, 6
    height = top + row_height * len(rows) + 6
    plot_width = WIDTH - label_width - value_width
    maximum = max(count for _, count in rows)
    parts = [_open(ident, title, description, height)]
    parts.append('<g class="chart-bars">')
    for index, (name, count) in enumerate(rows):
        y = top + index * row_height
        key = keys[index] if keys is not None and index < len(keys) else ""
        size = plot_width * count / maximum if maximum else 0
        parts.append(
            f"<g><title>{text(f'{name}: {number(count)}')}</title>"
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" fill="{TEXT_COLOUR}">'
            f"{text(shorten(name, 26))}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{max(size, 1.0 if count else 0.0):.1f}" '
            f'height="{row_height - 6}" fill={attribute(colour(key) if key else DEFAULT_COLOUR)} '
            f"class={attribute('bar bar-' + _ident(key or 'total'))}/>"
            f'<text x="{label_width + size + 6:.1f}" y="{y + 16}" fill="{TEXT_COLOUR}">{text(number(count))}</text>'
            "</g>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through text() or attribute()


def _open(ident: str, title: str, description: str, height: int) -> str:
    name = _ident(ident)
    labelled = f"{name}-title {name}-desc" if description else f"{name}-title"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="system-ui, sans-serif" font-size="11" '
        f"aria-labelledby={attribute(labelled)}>"
        f"<title id={attribute(name + '-title')}>{text(title)}</title>"
    )
    if description:
        head += f"<desc id={attribute(name + '-desc')}>{text(description)}</desc>"
    return head


def _legend(series: Sequence[Series], y: int) -> str:
    parts = ['<g class="chart-legend">']
    x = 48
    for position, item in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="{y + 3}" width="12" height="12" fill={attribute(colour(item.key, position))}/>'
            f'<text x="{x + 16}" y="{y + 13}" fill="{TEXT_COLOUR}">{text(shorten(item.name, 24))}</text>'
        )
        x += 28 + 7 * min(len(item.name), 24)
    parts.append("</g>")
    return "".join(parts)


def _empty(ident: str, title: str, description: str, message: str) -> Markup:
    return Markup(  # noqa: S704 - every text went through text() or attribute()
        _open(ident, title, description, 40) + f'<text x="8" y="24" fill="{TEXT_COLOUR}">{text(message)}</text></svg>'
    )


def _ident(value: str) -> str:
    """An id or class name: lowercase letters, digits and hyphens only."""
    return _NOT_IDENT.sub("-", value.lower()).strip("-") or "x"
