"""KPI algebra properties (hypothesis) on DuckDB: days add up to the month; portfolios
recompute ratios from summed parts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_facts import load_facts

from lianxing.domain.kpi import Scope
from lianxing.domain.periods import day_period, parse_period
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.loader import load_catalog
from lianxing.warehouse import connect

STORES = [StoreInfo(1, "America/New_York"), StoreInfo(2, "Asia/Shanghai"), StoreInfo(3, "UTC")]
ADDITIVE = ["gmv", "gmv_net", "orders", "units", "ad_spend", "sessions"]
RATIOS = ["aov", "cancel_rate", "refund_rate", "roas", "conversion_rate"]

order_st = st.fixed_dictionaries(
    {
        "store_id": st.sampled_from([1, 2, 3]),
        # Around October so some orders fall across month edges in local time.
        "minutes": st.integers(min_value=-2 * 24 * 60, max_value=33 * 24 * 60),
        "cancelled": st.booleans(),
        "price": st.one_of(
            st.none(), st.integers(min_value=1, max_value=50_000).map(lambda c: c / 100)
        ),
        "quantity": st.integers(min_value=1, max_value=5),
        "refund": st.one_of(
            st.none(), st.integers(min_value=1, max_value=10_000).map(lambda c: c / 100)
        ),
        "ad_cost": st.integers(min_value=0, max_value=1000),
        "sessions": st.integers(min_value=0, max_value=500),
    }
)


def _facts(orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    start = dt.datetime(2026, 10, 1)
    facts: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("orders", "order_lines", "refunds", "ad_daily", "traffic_daily")
    }
    for i, o in enumerate(orders):
        ts = start + dt.timedelta(minutes=o["minutes"])
        oid = f"O{i}"
        facts["orders"].append(
            {
                "store_id": o["store_id"],
                "order_id": oid,
                "purchase_ts": ts,
                "currency": "USD",
                "status": "cancelled" if o["cancelled"] else "shipped",
            }
        )
        facts["order_lines"].append(
            {
                "store_id": o["store_id"],
                "order_id": oid,
                "line_id": "1",
                "sku": "S",
                "quantity": o["quantity"],
                "item_price": o["price"],
                "currency": "USD",
            }
        )
        if o["refund"] is not None:
            facts["refunds"].append(
                {
                    "store_id": o["store_id"],
                    "refund_id": f"R{i}",
                    "order_id": oid,
                    "refund_ts": ts + dt.timedelta(days=3),
                    "amount": o["refund"],
                    "currency": "USD",
                }
            )
        day = ts.date()
        facts["ad_daily"].append(
            {
                "store_id": o["store_id"],
                "date": day,
                "campaign_id": oid,
                "ad_type": "sp",
                "cost": o["ad_cost"],
                "attributed_sales": o["ad_cost"] * 2,
                "currency": "USD",
            }
        )
        facts["traffic_daily"].append(
            {"store_id": o["store_id"], "date": day, "sku": oid, "sessions": o["sessions"]}
        )
    return facts


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(order_st, min_size=1, max_size=30))
def test_days_add_up_to_the_month_and_portfolios_recompute_ratios(
    orders: list[dict[str, Any]],
) -> None:
    wh = connect("duckdb://")
    try:
        wh.ensure_schema()
        load_facts(wh, _facts(orders))
        engine = KpiEngine(wh.ibis, wh.table, load_catalog().require_valid(), STORES)
        month = parse_period("2026-10")
        days = [day_period(d) for d in month.iter_days()]
        scopes = [Scope.store(s.store_id) for s in STORES] + [
            Scope("portfolio:all", (1, 2, 3), "all")
        ]
        matrix = engine.compute(
            periods=[month, *days], scopes=scopes, kpis=ADDITIVE + RATIOS, compare=False
        )
        for scope in scopes:
            for kpi in ADDITIVE:
                whole = matrix.value(kpi, month.label, scope.key)
                parts = [matrix.value(kpi, d.label, scope.key) for d in days]
                if whole is None:
                    continue  # no data at all for this store
                total = sum(p for p in parts if p is not None)
                assert total == pytest.approx(whole, rel=1e-9, abs=1e-6), (kpi, scope.key)
        for kpi in RATIOS:
            cell = matrix.cell(kpi, month.label, "portfolio:all").value
            numerator = sum(
                matrix.cell(kpi, month.label, s.key).value.parts.get("numerator") or 0.0
                for s in scopes[:3]
            )
            denominator = sum(
                matrix.cell(kpi, month.label, s.key).value.parts.get("denominator") or 0.0
                for s in scopes[:3]
            )
            if denominator == 0:
                assert cell.value is None
            else:
                assert cell.value == pytest.approx(numerator / denominator, rel=1e-9), kpi
    finally:
        wh.close()
