"""Refresh after new facts equals a full recompute (hypothesis, DuckDB).

A refresh updates the sums the last matrix was evaluated from (rows of the re-queried days
out, fresh rows in) instead of computing everything again. Whatever arrives from the
changed instant on — new orders in two currencies, orders of those days changed or
cancelled, refunds of any earlier order, ads, a corrected exchange rate — and whether or
not the import kept the cubes in step first, the refreshed matrix must equal one computed
from scratch by a new engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpi_facts import load_facts

from lianxing.domain.kpi import KpiMatrix, Scope
from lianxing.domain.periods import months_between
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.loader import load_catalog
from lianxing.metrics.service import keep_cubes_in_step
from lianxing.warehouse import WriteStats, connect

STORES = [
    StoreInfo(1, "America/Los_Angeles", "USD", dt.date(2026, 9, 1)),
    StoreInfo(2, "Europe/Berlin", "EUR", dt.date(2026, 9, 15)),
]
KPIS = [
    "gmv",
    "gmv_net",
    "orders",
    "units",
    "aov",
    "cancel_rate",
    "refund_rate",
    "ad_spend",
    "roas",
    "tacos",
]
START = dt.datetime(2026, 9, 1)
CHANGED_SINCE = dt.datetime(2026, 10, 20)
DAYS = 75  # 2026-09-01 .. 2026-11-14

money = st.integers(min_value=1, max_value=50_000).map(lambda cents: cents / 100)
order_st = st.fixed_dictionaries(
    {
        "store_id": st.sampled_from([1, 2]),
        "minutes": st.integers(min_value=0, max_value=DAYS * 24 * 60 - 1),
        "cancelled": st.booleans(),
        "price": st.one_of(st.none(), money),
        "quantity": st.integers(min_value=1, max_value=4),
        "currency": st.sampled_from(["USD", "EUR"]),
    }
)
later_st = st.fixed_dictionaries(
    {
        "new_orders": st.lists(order_st, max_size=8),
        # Indexes into the history: orders of the changed days re-sent with another price
        # or cancelled; any order refunded.
        "changes": st.lists(st.tuples(st.integers(0, 39), st.booleans(), money), max_size=4),
        "refunds": st.lists(st.tuples(st.integers(0, 39), money), max_size=4),
        "ad_cost": st.one_of(st.none(), st.integers(min_value=1, max_value=300)),
        "new_rate": st.one_of(st.none(), st.integers(min_value=80, max_value=120)),
        "cubes_followed_at_import": st.booleans(),
        "tables_named": st.booleans(),
    }
)


def _order_rows(i: int, o: dict[str, Any], prefix: str = "O") -> dict[str, list[dict[str, Any]]]:
    ts = START + dt.timedelta(minutes=o["minutes"])
    key = {"store_id": o["store_id"], "order_id": f"{prefix}{i}"}
    return {
        "orders": [
            {
                **key,
                "purchase_ts": ts,
                "currency": o["currency"],
                "status": "cancelled" if o["cancelled"] else "shipped",
            }
        ],
        "order_lines": [
            {
                **key,
                "line_id": "1",
                "sku": "S",
                "quantity": o["quantity"],
                "item_price": o["price"],
                "currency": o["currency"],
            }
        ],
    }


def _merge(*parts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    facts: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for table, rows in part.items():
            facts.setdefault(table, []).extend(rows)
    return facts


def _history(orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rates = [
        {"date": (START + dt.timedelta(days=d)).date(), "currency": "EUR", "rate_to_usd": 1.1}
        for d in range(-2, DAYS + 3)
    ]
    ads = [
        {
            "store_id": store,
            "date": (START + dt.timedelta(days=d)).date(),
            "campaign_id": "C",
            "ad_type": "sp",
            "cost": 10.0,
            "attributed_sales": 35.0,
            "currency": "USD" if store == 1 else "EUR",
        }
        for store in (1, 2)
        for d in range(DAYS)
    ]
    return _merge(
        *(_order_rows(i, o) for i, o in enumerate(orders)),
        {"fx_rates": rates, "ad_daily": ads},
    )


def _later(history: list[dict[str, Any]], later: dict[str, Any]) -> dict[str, Any]:
    since_minutes = int((CHANGED_SINCE - START).total_seconds() // 60)
    parts = []
    for i, o in enumerate(later["new_orders"]):
        parts.append(_order_rows(i, {**o, "minutes": max(o["minutes"], since_minutes)}, "N"))
    for index, cancel, price in later["changes"]:
        if index < len(history) and history[index]["minutes"] >= since_minutes:
            changed = {**history[index], "price": price, "cancelled": cancel}
            parts.append(_order_rows(index, changed))
    refunds = []
    for index, amount in later["refunds"]:
        if index < len(history):
            o = history[index]
            refunds.append(
                {
                    "store_id": o["store_id"],
                    "refund_id": f"R{index}",
                    "order_id": f"O{index}",
                    "refund_ts": CHANGED_SINCE + dt.timedelta(hours=5),
                    "amount": amount,
                    "currency": o["currency"],
                }
            )
    if refunds:
        parts.append({"refunds": refunds})
    if later["ad_cost"] is not None:
        row = {
            "store_id": 2,
            "date": CHANGED_SINCE.date(),
            "campaign_id": "C2",
            "ad_type": "sp",
            "cost": float(later["ad_cost"]),
            "attributed_sales": 3.0 * later["ad_cost"],
            "currency": "EUR",
        }
        parts.append({"ad_daily": [row]})
    if later["new_rate"] is not None:
        day = (CHANGED_SINCE + dt.timedelta(days=1)).date()  # store 2's ads are in EUR
        parts.append(
            {"fx_rates": [{"date": day, "currency": "EUR", "rate_to_usd": later["new_rate"] / 100}]}
        )
    return _merge(*parts)


def _compute(engine: KpiEngine) -> KpiMatrix:
    scopes = [Scope.store(1), Scope.store(2), Scope("portfolio:all", (1, 2), "all")]
    periods = months_between(dt.date(2026, 9, 1), dt.date(2026, 11, 30))
    return engine.compute(periods=periods, scopes=scopes, kpis=KPIS, compare=True)


def _cells(matrix: KpiMatrix) -> dict[tuple[str, str, str, str], tuple[float | None, str | None]]:
    cells = {}
    for role, grids in (
        ("current", matrix.current),
        ("previous", matrix.previous),
        ("last_year", matrix.last_year),
    ):
        for kpi, grid in grids.items():
            for p, label in enumerate(matrix.periods):
                for g, scope in enumerate(matrix.scopes):
                    key = (role, kpi, label, scope.key)
                    cells[key] = (grid.values[p][g], grid.reasons[p][g])
    return cells


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(order_st, min_size=1, max_size=40), st.lists(later_st, min_size=1, max_size=2))
def test_a_refresh_equals_a_full_recompute(
    history: list[dict[str, Any]], arrivals: list[dict[str, Any]]
) -> None:
    wh = connect("duckdb://")
    try:
        wh.ensure_schema()
        load_facts(wh, _history(history))
        catalog = load_catalog().require_valid()
        engine = KpiEngine(wh.ibis, wh.table, catalog, STORES)
        _compute(engine)
        for n, later in enumerate(arrivals):  # a second refresh builds on the first
            arriving = _later(history, later)
            if not arriving:
                continue
            load_facts(wh, arriving, batch=f"later-{n}")
            if later["cubes_followed_at_import"]:
                written = {table: WriteStats(new=len(rows)) for table, rows in arriving.items()}
                keep_cubes_in_step(wh, STORES, written)
            tables = list(arriving) if later["tables_named"] else None
            refreshed = _cells(engine.refresh(CHANGED_SINCE, tables))
            full = _cells(_compute(KpiEngine(wh.ibis, wh.table, catalog, STORES)))
            assert refreshed.keys() == full.keys()
            for key, (value, reason) in full.items():
                got, got_reason = refreshed[key]
                assert got_reason == reason, (n, key)
                if value is None:
                    assert got is None, (n, key)
                else:
                    assert got == pytest.approx(value, rel=1e-9, abs=1e-9), (n, key)
    finally:
        wh.close()
