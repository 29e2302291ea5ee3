"""The order cube follows the facts batch by batch, and refresh re-reads only changed days.

Store 1 in October (Los Angeles time) on the hand-made facts: gmv 100 (A1 50 + 30, A5 20),
3 orders, 7 units (see test_engine_cases.py).
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
import pytest
from kpi_facts import FACTS, STORES, T, _line, _order, load_facts, make_engine

from lianxing.domain.kpi import KpiMatrix, Scope
from lianxing.domain.periods import parse_period
from lianxing.metrics.engine import KpiEngine, KpiRequestError
from lianxing.metrics.loader import load_catalog
from lianxing.metrics.order_cube import OrderCube
from lianxing.warehouse import Warehouse

OCT = "2026-10"
S1 = "store:1"
KPIS = ["gmv", "orders", "units"]

# A9: 2026-10-20 11:00 PDT, one line of 25 USD.
A9 = {
    "orders": [_order(1, "A9", T(2026, 10, 20, 18), "shipped", "USD")],
    "order_lines": [_line(1, "A9", "1", "S1", 1, 25.0, "USD")],
}


def _october(engine: KpiEngine) -> KpiMatrix:
    return engine.compute(periods=[parse_period(OCT)], scopes=[Scope.store(1)], kpis=KPIS)


def _values(matrix: KpiMatrix) -> tuple[float | None, ...]:
    return tuple(matrix.value(k, OCT, S1) for k in KPIS)


def test_a_new_batch_updates_only_the_orders_it_touches(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    assert _values(_october(make_engine(warehouse))) == pytest.approx((100, 3, 7))
    # A new order, and A1's second line re-priced from 30 to 40 (a changed row).
    a1_line = _line(1, "A1", "2", "S2", 1, 40.0, "USD", tax=2.4)
    load_facts(
        warehouse,
        {"orders": A9["orders"], "order_lines": [*A9["order_lines"], a1_line]},
        batch="day-2",
    )
    result = OrderCube(warehouse.ibis, warehouse.table).sync()
    assert (result.action, result.orders) == ("incremental", 2)  # A9 and A1
    assert _values(_october(make_engine(warehouse))) == pytest.approx((100 + 25 + 10, 4, 8))
    assert OrderCube(warehouse.ibis, warehouse.table).sync().action == "unchanged"


def test_rows_removed_outside_the_writer_rebuild_the_cube(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    assert _values(_october(make_engine(warehouse))) == pytest.approx((100, 3, 7))
    warehouse.execute(f"DELETE FROM {warehouse.qualified('order_lines')} WHERE order_id = 'A5'")
    assert OrderCube(warehouse.ibis, warehouse.table).sync().action == "rebuilt"
    # A5 (10-31, 20 USD, 1 unit) still counts as an order, without lines.
    assert _values(_october(make_engine(warehouse))) == pytest.approx((80, 3, 6))


def test_refresh_after_a_day_of_orders_matches_a_full_recompute(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    engine = make_engine(warehouse)
    _october(engine)
    load_facts(warehouse, A9, batch="day-2")
    refreshed = engine.refresh(dt.datetime(2026, 10, 20))
    assert _values(refreshed) == pytest.approx((125, 4, 8))
    assert _values(refreshed) == _values(_october(make_engine(warehouse)))


def test_new_orders_with_their_lines_are_appended(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    OrderCube(warehouse.ibis, warehouse.table).sync()
    load_facts(warehouse, A9, batch="day-2")
    result = OrderCube(warehouse.ibis, warehouse.table).sync()
    assert (result.action, result.orders) == ("appended", 1)
    assert _values(_october(make_engine(warehouse))) == pytest.approx((125, 4, 8))


def test_lines_that_arrive_before_their_order_are_counted(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    load_facts(warehouse, {"order_lines": A9["order_lines"]}, batch="lines-first")
    assert _values(_october(make_engine(warehouse))) == pytest.approx((100, 3, 7))
    load_facts(warehouse, {"orders": A9["orders"]}, batch="order-later")
    assert OrderCube(warehouse.ibis, warehouse.table).sync().action == "incremental"
    assert _values(_october(make_engine(warehouse))) == pytest.approx((125, 4, 8))


def test_a_filtered_table_source_never_reads_the_stored_cube(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    load_facts(warehouse, A9, batch="day-2")
    assert _values(_october(make_engine(warehouse))) == pytest.approx((125, 4, 8))

    def without_day_2(name: str) -> ir.Table:
        facts = warehouse.table(name)
        return facts if name == "fx_rates" else facts.filter(facts.batch_id != "day-2")

    engine = KpiEngine(warehouse.ibis, without_day_2, load_catalog().require_valid(), STORES)
    assert not engine.order_cube.stored
    assert _values(_october(engine)) == pytest.approx((100, 3, 7))


def test_refresh_reaches_back_to_the_order_day_of_a_new_refund(warehouse: Warehouse) -> None:
    load_facts(warehouse, FACTS)
    engine = make_engine(warehouse)
    by_order = {"refund_attribution": "order_date"}
    before = engine.compute(
        periods=[parse_period(OCT)], scopes=[Scope.store(1)], kpis=["gmv_net"], options=by_order
    )
    assert before.value("gmv_net", OCT, S1) == pytest.approx(100 - 30)  # R1 belongs to A1
    # R9: 10 USD of A5 (an October order), refunded on 2026-11-06.
    refund = {
        "store_id": 1,
        "refund_id": "R9",
        "order_id": "A5",
        "sku": "S1",
        "refund_ts": T(2026, 11, 6, 12),
        "amount": 10.0,
        "currency": "USD",
    }
    load_facts(warehouse, {"refunds": [refund]}, batch="refunds-2")
    after = engine.refresh(dt.datetime(2026, 11, 6))
    assert after.value("gmv_net", OCT, S1) == pytest.approx(100 - 30 - 10)


def test_a_refresh_told_which_tables_changed_rereads_only_their_cubes(
    warehouse: Warehouse,
) -> None:
    load_facts(warehouse, FACTS)
    engine = make_engine(warehouse)
    assert _values(_october(engine)) == pytest.approx((100, 3, 7))
    load_facts(warehouse, A9, batch="day-2")
    # Told that only ad data changed, the refresh keeps the order cubes it has: A9 unseen.
    assert _values(engine.refresh(dt.datetime(2026, 10, 20), ["ad_daily"])) == pytest.approx(
        (100, 3, 7)
    )
    told = engine.refresh(dt.datetime(2026, 10, 20), ["orders", "order_lines"])
    assert _values(told) == pytest.approx((125, 4, 8))
    assert _values(told) == _values(_october(make_engine(warehouse)))
    with pytest.raises(KpiRequestError, match="unknown fact table order"):
        engine.refresh(dt.datetime(2026, 10, 20), ["order"])


def test_sums_of_money_are_read_without_float_noise(warehouse: Warehouse) -> None:
    # 0.10 + 0.20 is 0.30000000000000004 in floating point; a sum of money shows 0.3.
    cents = {
        "orders": [
            _order(1, "C1", T(2026, 10, 5, 18), "shipped", "USD"),
            _order(1, "C2", T(2026, 10, 6, 18), "shipped", "USD"),
        ],
        "order_lines": [
            _line(1, "C1", "1", "S1", 1, 0.10, "USD"),
            _line(1, "C2", "1", "S1", 1, 0.20, "USD"),
        ],
    }
    load_facts(warehouse, cents)
    matrix = make_engine(warehouse).compute(
        periods=[parse_period(OCT)], scopes=[Scope.store(1)], kpis=["gmv", "aov"]
    )
    assert matrix.value("gmv", OCT, S1) == 0.3
    assert matrix.value("aov", OCT, S1) == pytest.approx(0.15, rel=1e-12)
