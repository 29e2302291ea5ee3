"""Sparklines as inline SVG: a few dozen bytes per cell, no script, printable."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup


def sparkline_points(
    values: Sequence[float | None], width: float, height: float, pad: float = 2.0
) -> list[tuple[float, float]]:
    """(x, y) for each defined value; the lowest value at the bottom, the highest at the top."""
    defined = [v for v in values if v is not None]
    if not defined:
        return []
    low, high = min(defined), max(defined)
    span = high - low
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = []
    for i, value in enumerate(values):
        if value is None:
            continue
        share = 0.5 if span == 0 else (value - low) / span
        points.append(
            (round(pad + i * step, 1), round(height - pad - share * (height - 2 * pad), 1))
        )
    return points


def sparkline_svg(values: Sequence[float | None], width: int = 80, height: int = 22) -> Markup:
    points = sparkline_points(values, width, height)
    if not points:
        return Markup("")
    path = " ".join(f"{x},{y}" for x, y in points)
    last_x, last_y = points[-1]
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-hidden="true"><polyline points="{path}" fill="none" '
        f'stroke="currentColor" stroke-width="1.5"/>'
        f'<circle cx="{last_x}" cy="{last_y}" r="2" fill="currentColor"/></svg>'
    )
