"""The stored daily order cube stays equal to a recomputation from the order cube.

Store 1 (Los Angeles) in October on the hand-made facts: gmv 100 (A1 50 + 30, A5 20),
3 orders, 7 units (see test_engine_cases.py). A5 is bought 2026-11-01 06:00 UTC, which is
10-31 in Los Angeles but 11-01 in UTC: it moves between months with the store's zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kpi_facts import FACTS, STORES, T, _line, _order, load_facts, make_engine

from lianxing.domain.kpi import KpiMatrix, Scope
from lianxing.domain.periods import parse_period
from lianxing.metrics.compiler import FactQueries, StoreInfo, Window
from lianxing.metrics.daily_cube import DailyOrderCube
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.order_cube import (
    DAILY_DIRTY_TABLE as DIRTY,
)
from lianxing.metrics.order_cube import (
    DAILY_TABLE,
    OrderCube,
)
from lianxing.metrics.order_cube import (
    DAILY_ZONES_TABLE as ZONES,
)
from lianxing.warehouse import Warehouse

OCT, NOV = "2026-10", "2026-11"
KPIS = ["gmv", "orders", "units"]
STORE_1 = STORES[:1]
A9 = {  # 2026-10-20 11:00 PDT, one line of 25 USD
    "orders": [_order(1, "A9", T(2026, 10, 20, 18), "shipped", "USD")],
    "order_lines": [_line(1, "A9", "1", "S1", 1, 25.0, "USD")],
}


def _month(engine: KpiEngine, month: str, store: int = 1) -> tuple[float | None, ...]:
    matrix: KpiMatrix = engine.compute(
        periods=[parse_period(month)], scopes=[Scope.store(store)], kpis=KPIS
    )
    return tuple(matrix.value(k, month, f"store:{store}") for k in KPIS)


def _name(wh: Warehouse, table: str) -> str:
    return f"{wh.schema}.{table}" if wh.schema else table


def _stored(wh: Warehouse, stores: list[StoreInfo]) -> tuple[set[tuple[Any, ...]], ...]:
    daily = DailyOrderCube(OrderCube(wh.ibis, wh.table))
    ids = [s.store_id for s in stores]
    orders, refunds = daily.table(), daily.refund_table()
    return (
        _rows(wh, orders.filter(orders.store_id.isin(ids)), ORDER_COLUMNS),
        _rows(wh, refunds.filter(refunds.store_id.isin(ids)), REFUND_COLUMNS),
    )


def _recomputed(wh: Warehouse, stores: list[StoreInfo]) -> tuple[set[tuple[Any, ...]], ...]:
    cube = OrderCube(wh.ibis, wh.table)
    window = Window(dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    queries = FactQueries(wh.ibis, wh.table, stores, window, "marketplace", cube.table())
    return (
        _rows(wh, queries.order_day_sums(), ORDER_COLUMNS),
        _rows(wh, queries.refund_return_order_day_sums(), REFUND_COLUMNS),
    )


ORDER_COLUMNS = (
    ["store_id", "day", "currency", "cancelled", "orders", "pending", "units"],
    ["item_price", "item_tax", "shipping_price", "shipping_tax"],
)
REFUND_COLUMNS = (["kind", "store_id", "day", "currency"], ["value"])


def _rows(wh: Warehouse, table: Any, columns: tuple[list[str], list[str]]) -> set[tuple[Any, ...]]:
    keys, numbers = columns
    frame = wh.ibis.to_pyarrow(table.select(*keys, *numbers)).to_pylist()
    return {
        (*(r[c] for c in keys), *(None if r[c] is None else float(r[c]) for c in numbers))
        for r in frame
    }


def test_the_daily_cube_follows_appends_updates_and_moved_orders(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    assert _month(make_engine(warehouse), OCT) == pytest.approx((100, 3, 7))
    assert _stored(warehouse, STORE_1) == _recomputed(warehouse, STORE_1)

    load_facts(warehouse, A9, batch="append")  # a new order with its line: appended
    assert _month(make_engine(warehouse), OCT) == pytest.approx((125, 4, 8))
    assert _stored(warehouse, STORE_1) == _recomputed(warehouse, STORE_1)

    # A9 re-imported as bought on 11-02 (a replaced row): it leaves October for November.
    moved = {"orders": [_order(1, "A9", T(2026, 11, 2, 18), "shipped", "USD")]}
    load_facts(warehouse, moved, batch="moved")
    engine = make_engine(warehouse)
    assert _month(engine, OCT) == pytest.approx((100, 3, 7))
    assert _month(engine, NOV) == pytest.approx((25, 1, 1))
    assert _stored(warehouse, STORE_1) == _recomputed(warehouse, STORE_1)
    assert warehouse.execute(f"SELECT count(*) FROM {_name(warehouse, DIRTY)}") == [(0,)]


def test_a_store_seen_in_another_zone_is_recut(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    assert _month(make_engine(warehouse), OCT) == pytest.approx((100, 3, 7))
    in_utc = [StoreInfo(1, "UTC", "USD", dt.date(2026, 10, 1)), STORES[1]]
    # In UTC A2 (10-01 03:00) is an October order and A5 (11-01 06:00) a November one.
    assert _month(make_engine(warehouse, in_utc), OCT) == pytest.approx((180, 3, 7))
    assert _stored(warehouse, in_utc[:1]) == _recomputed(warehouse, in_utc[:1])
    zones = warehouse.execute(f"SELECT store_id, timezone FROM {_name(warehouse, ZONES)}")
    assert sorted(zones) == [(1, "UTC")]  # store 2 was not asked for


def test_a_store_outside_a_computation_is_brought_in_step_when_asked(
    warehouse: Warehouse,
) -> None:
    load_facts(warehouse, FACTS)
    make_engine(warehouse).compute(
        periods=[parse_period(OCT)], scopes=[Scope.store(1), Scope.store(2)], kpis=KPIS
    )
    # B4: 2026-10-25 11:00 CET, 30 EUR, for store 2; then a computation of store 1 only.
    b4 = {
        "orders": [_order(2, "B4", T(2026, 10, 25, 10), "shipped", "EUR")],
        "order_lines": [_line(2, "B4", "1", "E1", 1, 30.0, "EUR")],
    }
    load_facts(warehouse, b4, batch="store-2")
    assert _month(make_engine(warehouse), OCT, store=1) == pytest.approx((100, 3, 7))
    waiting = warehouse.execute(f"SELECT DISTINCT store_id FROM {_name(warehouse, DIRTY)}")
    assert waiting == [(2,)]
    # Store 2 in October: B1 100 EUR at 1.10, B2 50 and B4 30 EUR at 1.20.
    assert _month(make_engine(warehouse), OCT, store=2) == pytest.approx(
        (100 * 1.10 + 80 * 1.20, 3, 3)
    )
    assert _stored(warehouse, STORES) == _recomputed(warehouse, STORES)
    assert warehouse.execute(f"SELECT count(*) FROM {_name(warehouse, DIRTY)}") == [(0,)]


def test_rebuilding_the_order_cube_drops_the_daily_cube(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    _month(make_engine(warehouse), OCT)
    OrderCube(warehouse.ibis, warehouse.table).rebuild()
    cube = OrderCube(warehouse.ibis, warehouse.table)
    assert not any(cube.tables_exist(name) for name in (DAILY_TABLE, DIRTY, ZONES))
    assert _month(make_engine(warehouse), OCT) == pytest.approx((100, 3, 7))
    assert _stored(warehouse, STORE_1) == _recomputed(warehouse, STORE_1)


def _refund_rate(engine: KpiEngine, attribution: str) -> float | None:
    matrix = engine.compute(
        periods=[parse_period(OCT)],
        scopes=[Scope.store(1)],
        kpis=["refund_rate"],
        options={"refund_attribution": attribution},
    )
    return matrix.value("refund_rate", OCT, "store:1")


def _refund(refund_id: str, order_id: str, amount: float) -> dict[str, list[dict[str, Any]]]:
    row = {
        "store_id": 1,
        "refund_id": refund_id,
        "order_id": order_id,
        "sku": "S2",
        "refund_ts": T(2026, 11, 20, 12),
        "amount": amount,
        "currency": "USD",
    }
    return {"refunds": [row]}


def test_later_refunds_reach_back_to_their_order_day(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    # October orders of store 1 (gmv 100): A1 refunded 30 (R1, in November).
    assert _refund_rate(make_engine(warehouse), "order_date") == pytest.approx(30 / 100)
    load_facts(warehouse, _refund("R3", "A5", 20.0), batch="refund-late")
    assert _refund_rate(make_engine(warehouse), "order_date") == pytest.approx(50 / 100)
    # R3 corrected: it belonged to A2 (a September order in Los Angeles), 15 USD. The
    # replaced row's order is gone from the facts, so the whole store is recomputed.
    load_facts(warehouse, _refund("R3", "A2", 15.0), batch="refund-fixed")
    assert _refund_rate(make_engine(warehouse), "order_date") == pytest.approx(30 / 100)
    assert _stored(warehouse, STORE_1) == _recomputed(warehouse, STORE_1)
    # By refund date nothing of this is in October: R2 (60) is the only October refund.
    assert _refund_rate(make_engine(warehouse), "refund_date") == pytest.approx(60 / 100)
