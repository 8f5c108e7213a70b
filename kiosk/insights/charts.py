"""Charts for the statistics page, drawn on the server as inline SVG (no script, no CDN).

Each chart is an ``<svg role="img">`` named by its ``<title>`` and ``<desc>``; the page puts
the same numbers in a table for screen readers and for copying. Every text is escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH_PX = 640
BAR_ROW_PX = 26
LABEL_COLUMN_PX = 190
VALUE_COLUMN_PX = 80
LABEL_MAX_CHARS = 14
DAILY_HEIGHT_PX = 240
DAILY_MARGIN = {"left": 44, "right": 12, "top": 34, "bottom": 30}
INK = "#333333"
GRID = "#dddddd"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length, and the value written after it."""

    label: str
    value: float
    shown: str


@dataclass(frozen=True)
class Series:
    """One line of the daily chart."""

    name: str
    values: list[int]
    colour: str


def _short(label: str) -> str:
    """A label that fits the label column."""
    return label if len(label) <= LABEL_MAX_CHARS else label[: LABEL_MAX_CHARS - 1] + "…"


def _open(chart_id: str, title: str, description: str, height_px: int) -> str:
    """The SVG's opening: size, accessible name and description."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH_PX} {height_px}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" font-size="13" fill="{INK}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
    )


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar], *, colour: str = "#1d5c8c",
              empty_text: str = "—") -> Markup:
    """A horizontal bar chart with a label before and the value after each bar."""
    height_px = max(1, len(bars)) * BAR_ROW_PX + 8
    parts = [_open(chart_id, title, description, height_px)]
    if not bars:
        parts.append(f'<text x="8" y="20">{escape(empty_text)}</text>')
    top = max((bar.value for bar in bars), default=0) or 1
    span_px = WIDTH_PX - LABEL_COLUMN_PX - VALUE_COLUMN_PX
    for row, bar in enumerate(bars):
        y = 4 + row * BAR_ROW_PX
        length = max(0.0, bar.value) / top * span_px
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.shown)}</title>"
            f'<text x="{LABEL_COLUMN_PX - 8}" y="{y + 17}" text-anchor="end">{escape(_short(bar.label))}</text>'
            f'<rect x="{LABEL_COLUMN_PX}" y="{y + 4}" width="{length:.1f}" height="{BAR_ROW_PX - 8}" '
            f'fill="{escape(colour)}" rx="2"/>'
            f'<text x="{LABEL_COLUMN_PX + length + 6:.1f}" y="{y + 17}">{escape(bar.shown)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (at least 1): a readable axis top."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _axis(top: int, plot_w: float, plot_h: float) -> list[str]:
    """Horizontal grid lines with their values at 0, ½ and the top."""
    left, y0 = DAILY_MARGIN["left"], DAILY_MARGIN["top"]
    lines = []
    for fraction in (0.0, 0.5, 1.0):
        y = y0 + plot_h * (1 - fraction)
        value = top * fraction
        label = f"{value:g}" if value == int(value) else f"{value:.1f}"
        lines.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
    return lines


def _x_labels(days: list[date], plot_w: float, plot_h: float) -> list[str]:
    """Day labels under the plot, about eight of them whatever the period's length."""
    every = max(1, math.ceil(len(days) / 8))
    step = plot_w / max(1, len(days) - 1)
    y = DAILY_MARGIN["top"] + plot_h + 18
    return [
        f'<text x="{DAILY_MARGIN["left"] + i * step:.1f}" y="{y:.1f}" text-anchor="middle">{day:%m-%d}</text>'
        for i, day in enumerate(days) if i % every == 0
    ]


def _line(series: Series, top: int, plot_w: float, plot_h: float) -> str:
    """One series as a polyline with a dot on each day."""
    step = plot_w / max(1, len(series.values) - 1)
    points = [
        (DAILY_MARGIN["left"] + i * step, DAILY_MARGIN["top"] + plot_h * (1 - v / top))
        for i, v in enumerate(series.values)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>' for x, y in points)
    colour = escape(series.colour)
    return (f'<g fill="{colour}"><polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            f"{dots}</g>")


def _legend(series: list[Series]) -> str:
    """Coloured keys naming each line, above the plot."""
    keys = []
    for i, item in enumerate(series):
        x = DAILY_MARGIN["left"] + i * 140
        keys.append(f'<rect x="{x}" y="8" width="14" height="4" fill="{escape(item.colour)}"/>'
                    f'<text x="{x + 20}" y="15">{escape(item.name)}</text>')
    return "".join(keys)


def daily_chart(chart_id: str, title: str, description: str, days: list[date], series: list[Series]) -> Markup:
    """A line chart of daily counts, one line per series, with a legend and a value axis."""
    plot_w = WIDTH_PX - DAILY_MARGIN["left"] - DAILY_MARGIN["right"]
    plot_h = DAILY_HEIGHT_PX - DAILY_MARGIN["top"] - DAILY_MARGIN["bottom"]
    top = nice_ceiling(max((v for s in series for v in s.values), default=0))
    parts = [_open(chart_id, title, description, DAILY_HEIGHT_PX), _legend(series)]
    parts += _axis(top, plot_w, plot_h) + _x_labels(days, plot_w, plot_h)
    parts += [_line(s, top, plot_w, plot_h) for s in series]
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
