"""HTML rendering of a :class:`ReviewReport` (also the source of the PDF)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from lianxing.reports.charts import trend_svg
from lianxing.reports.model import ReviewReport
from lianxing.reports.text import (
    delivery_label,
    format_change,
    format_date,
    format_rate,
    format_share,
    format_value,
    label,
    severity_label,
    status_label,
)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("lianxing.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> str:
    return (files("lianxing.reports") / "templates" / "report.css").read_text(encoding="utf-8")


def _raw(value: float | None) -> str:
    """The exact number for machines (``data-value``): repr round-trips a float."""
    return "" if value is None else repr(value)


def _trend_class(change: float | None, direction: str) -> str:
    """Green when the KPI moved the good way (down for lower-is-better KPIs), else red."""
    if change is None or change == 0:
        return ""
    return "up" if (change > 0) == (direction == "higher") else "down"


def render_html(report: ReviewReport, lang: str = "zh") -> str:
    charts = [
        trend_svg(
            f"{trend.name.get(lang)} ({trend.unit})",
            trend.labels,
            trend.values,
            trend.unit_kind,
            trend.kpi_id,
        )
        for trend in report.trends
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=report,
        lang=lang,
        css=_css(),
        charts=charts,
        digest=report.inputs_digest(),
        one_day=dt.timedelta(days=1),
        t=lambda key: label(key, lang),
        fmt=format_value,
        raw=_raw,
        change=format_change,
        share=format_share,
        money=lambda v: format_value(v, "currency"),
        rate=format_rate,
        status=lambda s: status_label(s, lang),
        date=format_date,
        severity=lambda s: severity_label(s, lang),
        delivery=lambda s: delivery_label(s, lang),
        trend_class=_trend_class,
    )
