"""KPI matrices for the API and the pages, from the same engine as ``lianxing kpi``.

The handlers pass only stores the caller may see; everything below trusts that list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lianxing.db.models import Store
from lianxing.domain.kpi import KpiMatrix, Scope, Unit
from lianxing.domain.periods import Period, month_period, parse_period
from lianxing.metrics import service as metrics_service
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.loader import Catalog
from lianxing.workspace import Workspace

# The portfolio's columns: what an owner looks at first.
HEADLINE_KPIS = (
    "gmv",
    "orders",
    "aov",
    "refund_rate",
    "roas",
    "conversion_rate",
    "late_shipment_rate",
)
TREND_MONTHS = 6


def catalog_for(ws: Workspace) -> Catalog:
    """Shipped KPI definitions plus the workspace's own (``<home>/kpis``)."""
    return metrics_service.catalog_for(ws.settings.home_dir).require_valid()


def store_info(store: Store) -> StoreInfo:
    return StoreInfo(store.id, store.timezone, store.currency, store.launch_date, store.name)


def engine_for(ws: Workspace, stores: Sequence[Store]) -> KpiEngine:
    return KpiEngine(
        ws.warehouse.ibis, ws.warehouse.table, catalog_for(ws), [store_info(s) for s in stores]
    )


def data_as_of(today: dt.date | None = None) -> dt.date:
    """The last complete day: data ends yesterday."""
    return (today or dt.date.today()) - dt.timedelta(days=1)


def default_period_text(today: dt.date | None = None) -> str:
    day = data_as_of(today)
    return f"{day:%Y-%m}"


def trend_months(period: Period, count: int = TREND_MONTHS) -> list[Period]:
    """``count`` calendar months ending with the one the period ends in."""
    last = period.last_day
    months = []
    year, month = last.year, last.month
    for _ in range(count):
        months.append(month_period(year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def kpi_json(
    ws: Workspace,
    store: Store,
    period_text: str,
    kpi_ids: Sequence[str] | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Exactly what ``lianxing kpi --store ID --period P --json`` prints (same service)."""
    period = parse_period(period_text, as_of=data_as_of(today) + dt.timedelta(days=1))
    scope = Scope.store(store.id, store.name)
    matrix = metrics_service.compute_matrix(
        ws.warehouse,
        catalog_for(ws),
        [store_info(store)],
        scopes=[scope],
        periods=[period],
        kpis=list(kpi_ids) if kpi_ids else None,
    )
    return metrics_service.kpi_json(matrix, period.label, scope)


@dataclass(slots=True)
class KpiRow:
    """One store (or the total) in the portfolio table."""

    scope: Scope
    store: Store | None
    values: dict[str, float | None]
    changes: dict[str, float | None]  # relative change against the previous period
    trends: dict[str, list[float | None]]  # by month, oldest first
    statuses: dict[str, str] = field(default_factory=dict)  # KPI -> target status


@dataclass(slots=True)
class Portfolio:
    period: Period
    months: list[Period]
    kpis: list[str]
    matrix: KpiMatrix
    rows: list[KpiRow]
    total: KpiRow | None

    def definition(self, kpi_id: str) -> Any:
        return self.matrix.definitions[kpi_id]

    def unit(self, kpi_id: str) -> str:
        return self.matrix.unit_label(self.matrix.definitions[kpi_id])


def portfolio(
    ws: Workspace,
    stores: Sequence[Store],
    period: Period,
    kpi_ids: Sequence[str] = HEADLINE_KPIS,
) -> Portfolio:
    """Every store's KPIs for ``period`` with monthly trends, and the portfolio total."""
    months = trend_months(period)
    scopes = [Scope.store(s.id, s.name) for s in stores]
    if len(stores) > 1:
        scopes.append(Scope("portfolio:visible", tuple(s.id for s in stores), "total"))
    periods = [period, *[m for m in months if m.label != period.label]]
    matrix = engine_for(ws, stores).compute(
        periods=periods, scopes=scopes, kpis=list(kpi_ids), compare=True
    )
    rows: list[KpiRow] = []
    by_id = {s.id: s for s in stores}
    for scope in scopes:
        values: dict[str, float | None] = {}
        changes: dict[str, float | None] = {}
        trends: dict[str, list[float | None]] = {}
        for kpi in kpi_ids:
            cell = matrix.cell(kpi, period.label, scope.key)
            values[kpi] = cell.value.value
            before = cell.previous.value if cell.previous else None
            changes[kpi] = (
                None
                if cell.value.value is None or before in (None, 0)
                else (cell.value.value - before) / abs(before)
            )
            trends[kpi] = [matrix.value(kpi, m.label, scope.key) for m in months]
        store = by_id.get(scope.store_ids[0]) if not scope.is_portfolio else None
        rows.append(KpiRow(scope, store, values, changes, trends))
    total = rows.pop() if len(stores) > 1 else None
    return Portfolio(period, months, list(kpi_ids), matrix, rows, total)


# Ratios read as multiples rather than percentages.
MULTIPLE_KPIS = frozenset({"roas"})


def format_value(value: float | None, unit: str, kpi_id: str = "") -> str:
    """A KPI value for a person: money with separators, ratios as percentages."""
    if value is None:
        return "—"
    if kpi_id in MULTIPLE_KPIS:
        return f"{value:.2f}×"
    if unit == Unit.RATIO.value:
        return f"{value * 100:.1f}%"
    if unit == Unit.COUNT.value:
        return f"{value:,.0f}"
    if unit in (Unit.HOURS.value, Unit.SCORE.value):
        return f"{value:,.1f}"
    return f"{value:,.2f}"
