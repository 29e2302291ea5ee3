"""Trend charts as inline SVG, drawn in Python: no script, no internet, prints in WeasyPrint."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from lianxing.reports.text import format_value

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 70, 14, 22, 26
# Presentation attributes, not classes: WeasyPrint styles inline SVG from its attributes.
_FONT = 'font-family="Noto Sans CJK SC, sans-serif"'
_AXIS = f'{_FONT} font-size="8" fill="#445"'
_BLUE, _ORANGE = "#2b5797", "#e37400"


def trend_svg(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    unit_kind: str,
    kpi_id: str = "",
) -> str:
    """A line chart of one KPI over periods; the last (reported) period is highlighted."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    defined = [v for v in values if v is not None]
    low = min([*defined, 0.0]) if defined else 0.0
    high = max(defined) if defined else 1.0
    if high == low:
        high = low + (abs(low) or 1.0)
    step = plot_w / max(len(values) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + i * step, 1)

    def y(v: float) -> float:
        return round(TOP + plot_h - (v - low) / (high - low) * plot_h, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{LEFT}" y="14" {_FONT} font-size="10" font-weight="bold" fill="#1d2430">'
        f"{escape(title)}</text>",
    ]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick)}" y2="{y(tick)}" '
            'stroke="#e3e7ee" stroke-width="1"/>'
            f'<text x="{LEFT - 4}" y="{y(tick) + 3}" {_AXIS} text-anchor="end">'
            f"{escape(format_value(tick, unit_kind, kpi_id))}</text>"
        )
    points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
    if points:
        path = " ".join(f"{px},{py}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{_BLUE}" stroke-width="1.8"/>')
        for i, v in enumerate(values):
            if v is not None:
                last = i == len(values) - 1
                parts.append(
                    f'<circle cx="{x(i)}" cy="{y(v)}" r="{3.2 if last else 2}" '
                    f'fill="{_ORANGE if last else _BLUE}"/>'
                )
    for i, text in enumerate(labels):
        if len(labels) <= 6 or i % 2 == (len(labels) - 1) % 2:
            parts.append(
                f'<text x="{x(i)}" y="{HEIGHT - 8}" {_AXIS} text-anchor="middle">'
                f"{escape(text)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
