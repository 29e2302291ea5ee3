"""Provenance of a KPI value: which sources and batches its facts came from, and the rows.

The KPI engine (``lianxing.metrics``) computes values from daily cubes and does not keep
the ``source`` of each fact, so provenance reads the KPI's *base facts* itself, with the
same cuts as the KPI definitions' defaults (non-cancelled orders purchased in the period
for order KPIs, refunds by refund date, ad and traffic rows by their local date, fees by
posting time). A ratio KPI has several components (roas: attributed sales and ad cost);
each gets its own shares. Values are in the rows' own currency: shares within one store
do not depend on the reporting currency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from lianxing.domain.facts import FACT_TABLES
from lianxing.domain.integrity import (
    SOURCE_KIND_LABELS,
    SourceShare,
    is_labelled_manual,
    kind_shares,
    source_shares,
)
from lianxing.integrity.detectors import CANCELLED, StoreScope, rows
from lianxing.warehouse import Warehouse

ComponentQuery = Callable[[Warehouse, StoreScope], ir.Table]


def _store(warehouse: Warehouse, scope: StoreScope, name: str) -> ir.Table:
    facts = warehouse.table(name)
    return facts.filter(facts.store_id == scope.store_id)


def _timed(facts: ir.Table, column: str, scope: StoreScope) -> ir.Table:
    return facts.filter((facts[column] >= scope.start_utc) & (facts[column] < scope.end_utc))


def _dated(facts: ir.Table, column: str, scope: StoreScope) -> ir.Table:
    return facts.filter((facts[column] >= scope.first_day) & (facts[column] < scope.end_day))


def _sold_lines(warehouse: Warehouse, scope: StoreScope, measure: str) -> ir.Table:
    orders = _timed(_store(warehouse, scope, "orders"), "purchase_ts", scope)
    orders = orders.filter(orders.status != CANCELLED).select("order_id", "purchase_ts")
    lines = _store(warehouse, scope, "order_lines").join(orders, "order_id")
    return lines.mutate(value=lines[measure].cast("float64"), at=lines.purchase_ts)


def _orders(which: str) -> ComponentQuery:
    def query(warehouse: Warehouse, scope: StoreScope) -> ir.Table:
        orders = _store(warehouse, scope, "orders")
        if which == "due":
            orders = _timed(orders, "promised_ship_by_ts", scope)
            orders = orders.filter(orders.status != CANCELLED)
            return orders.mutate(value=ibis.literal(1.0), at=orders.promised_ship_by_ts)
        if which == "shipped":
            orders = _timed(orders, "shipped_ts", scope)
            return orders.mutate(value=ibis.literal(1.0), at=orders.shipped_ts)
        orders = _timed(orders, "purchase_ts", scope)
        if which == "sold":
            orders = orders.filter(orders.status != CANCELLED)
        return orders.mutate(value=ibis.literal(1.0), at=orders.purchase_ts)

    return query


def _lines(measure: str) -> ComponentQuery:
    return lambda warehouse, scope: _sold_lines(warehouse, scope, measure)


def _amounts(table: str, ts_column: str, measure: str) -> ComponentQuery:
    def query(warehouse: Warehouse, scope: StoreScope) -> ir.Table:
        facts = _timed(_store(warehouse, scope, table), ts_column, scope)
        return facts.mutate(value=facts[measure].cast("float64"), at=facts[ts_column])

    return query


def _counted(table: str, ts_column: str) -> ComponentQuery:
    def query(warehouse: Warehouse, scope: StoreScope) -> ir.Table:
        facts = _timed(_store(warehouse, scope, table), ts_column, scope)
        return facts.mutate(value=ibis.literal(1.0), at=facts[ts_column])

    return query


def _daily(table: str, date_column: str, measure: str | None) -> ComponentQuery:
    def query(warehouse: Warehouse, scope: StoreScope) -> ir.Table:
        facts = _dated(_store(warehouse, scope, table), date_column, scope)
        value = ibis.literal(1.0) if measure is None else facts[measure].cast("float64")
        return facts.mutate(value=value, at=facts[date_column].cast("timestamp"))

    return query


@dataclass(frozen=True, slots=True)
class Component:
    name: str  # what is summed, e.g. "gmv" or "ad_cost"
    table: str
    query: ComponentQuery


_GMV = Component("gmv (item_price)", "order_lines", _lines("item_price"))
_UNITS = Component("units (quantity)", "order_lines", _lines("quantity"))
_ORDERS = Component("orders", "orders", _orders("sold"))
_ALL_ORDERS = Component("all orders", "orders", _orders("all"))
_DUE = Component("orders due", "orders", _orders("due"))
_SHIPPED = Component("orders shipped", "orders", _orders("shipped"))
_REFUNDS = Component("refunds (amount)", "refunds", _amounts("refunds", "refund_ts", "amount"))
_RETURNS = Component("returns (quantity)", "returns", _amounts("returns", "return_ts", "quantity"))
_FEES = Component("fees (amount)", "fees", _amounts("fees", "posted_ts", "amount"))
_AD_COST = Component("ad cost", "ad_daily", _daily("ad_daily", "date", "cost"))
_AD_SALES = Component(
    "ad attributed sales", "ad_daily", _daily("ad_daily", "date", "attributed_sales")
)
_SESSIONS = Component("sessions", "traffic_daily", _daily("traffic_daily", "date", "sessions"))
_LISTINGS = Component("listing snapshots", "listings", _daily("listings", "snapshot_date", None))
_HEALTH = Component(
    "account health snapshots", "account_health", _daily("account_health", "snapshot_date", None)
)
_TICKETS = Component("cs tickets", "cs_tickets", _counted("cs_tickets", "opened_ts"))

KPI_COMPONENTS: dict[str, tuple[Component, ...]] = {
    "gmv": (_GMV,),
    "gmv_net": (_GMV, _REFUNDS),
    "orders": (_ORDERS,),
    "units": (_UNITS,),
    "aov": (_GMV, _ORDERS),
    "cancel_rate": (_ALL_ORDERS,),
    "fulfillment_rate": (_DUE,),
    "late_shipment_rate": (_SHIPPED,),
    "refund_rate": (_REFUNDS, _GMV),
    "return_rate": (_RETURNS, _UNITS),
    "ad_spend": (_AD_COST,),
    "ad_sales": (_AD_SALES,),
    "roas": (_AD_SALES, _AD_COST),
    "acos": (_AD_COST, _AD_SALES),
    "tacos": (_AD_COST, _GMV),
    "sessions": (_SESSIONS,),
    "conversion_rate": (_UNITS, _SESSIONS),
    "live_skus": (_LISTINGS,),
    "sell_through_rate": (_UNITS, _LISTINGS),
    "contribution_profit": (_GMV, _REFUNDS, _FEES, _AD_COST),
    "profit_margin": (_GMV, _REFUNDS, _FEES, _AD_COST),
    "account_health_score": (_HEALTH,),
    "cs_first_response_hours": (_TICKETS,),
}


@dataclass(frozen=True, slots=True)
class ComponentProvenance:
    name: str
    table: str
    total: float
    row_count: int
    shares: list[SourceShare]
    rows: list[dict[str, Any]]

    @property
    def manual_rows(self) -> int:
        return sum(s.rows for s in self.shares if s.manual)

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "table": self.table,
            "total": round(self.total, 4),
            "rows": self.row_count,
            "manual_rows": self.manual_rows,
            "by_source": [
                {
                    "source": s.source,
                    "batch_id": s.batch_id,
                    "kind": s.kind.value,
                    "label": SOURCE_KIND_LABELS[s.kind],
                    "manual": s.manual,
                    "value": round(s.value, 4),
                    "rows": s.rows,
                    "share": s.share,
                }
                for s in self.shares
            ],
            "by_kind": {k.value: v for k, v in kind_shares(self.shares).items()},
            "drilldown": self.rows,
        }


@dataclass(frozen=True, slots=True)
class ProvenanceReport:
    kpi: str
    scope: StoreScope
    components: list[ComponentProvenance]

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.scope.store_id,
            "kpi": self.kpi,
            "period": {
                "start": self.scope.first_day.isoformat(),
                "end": self.scope.end_day.isoformat(),
                "timezone": self.scope.timezone,
            },
            "currency": self.scope.currency,
            "components": [c.as_dict() for c in self.components],
        }


class ProvenanceError(ValueError):
    """The KPI is unknown to provenance; the message lists the known ones."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "as_integer_ratio") and not isinstance(value, int | float):
        return float(value)  # Decimal
    return value


def kpi_provenance(
    warehouse: Warehouse, scope: StoreScope, kpi: str, *, row_limit: int = 20
) -> ProvenanceReport:
    """Shares of each source and batch in the KPI's base facts, and up to ``row_limit``
    rows of each component (largest values first), every manual row labelled."""
    if kpi not in KPI_COMPONENTS:
        raise ProvenanceError(
            f"--kpi: provenance knows no KPI {kpi!r}; expected one of "
            f"{', '.join(sorted(KPI_COMPONENTS))}"
        )
    if row_limit < 0:
        raise ProvenanceError(f"--rows: expected 0 or more, got {row_limit}")
    components = []
    for component in KPI_COMPONENTS[kpi]:
        facts = component.query(warehouse, scope)
        facts = facts.filter(facts.value.notnull())
        grouped = facts.group_by("source", "batch_id").aggregate(
            total=facts.value.sum(), n=facts.count()
        )
        parts = [
            (r["source"], r["batch_id"], float(r["total"] or 0.0), int(r["n"]))
            for r in rows(grouped)
        ]
        shares = source_shares(parts)
        key = list(FACT_TABLES[component.table].key)
        columns = [c for c in key if c != "store_id"]
        drill: list[dict[str, Any]] = []
        if row_limit:
            top = facts.order_by([ibis.desc(facts.value.abs()), *columns]).limit(row_limit)
            for row in rows(top.select(*columns, "at", "value", "source", "batch_id")):
                item = {name: _jsonable(row[name]) for name in (*columns, "at")}
                item.update(
                    value=float(row["value"]),
                    source=row["source"],
                    batch_id=row["batch_id"],
                    manual=is_labelled_manual(row["source"]),
                )
                drill.append(item)
        components.append(
            ComponentProvenance(
                component.name,
                component.table,
                sum(p[2] for p in parts),
                sum(p[3] for p in parts),
                shares,
                drill,
            )
        )
    return ProvenanceReport(kpi, scope, components)
