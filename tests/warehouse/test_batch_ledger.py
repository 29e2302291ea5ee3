"""The batch ledger: rows per (fact table, batch), kept by the writer in the merge's
transaction, always equal to counting the table's rows per ``batch_id``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianxing.warehouse import Warehouse, connect
from lianxing.warehouse.writer import BATCH_ROWS_TABLE, LEDGER_COMPLETE


def _order(order_id: str, status: str = "shipped") -> dict[str, Any]:
    return {
        "store_id": 1,
        "order_id": order_id,
        "purchase_ts": dt.datetime(2026, 10, 1, 12),
        "status": status,
        "currency": "USD",
    }


def _write(wh: Warehouse, batch: str, rows: list[dict[str, Any]], dry_run: bool = False) -> None:
    with wh.batch(batch, source="test", dry_run=dry_run) as writer:
        writer.append("orders", rows)


def _ledger(wh: Warehouse, fact: str = "orders") -> dict[str, int]:
    rows = wh.execute(
        f"SELECT batch_id, row_count FROM {wh.qualified(BATCH_ROWS_TABLE)} WHERE fact = ?",
        (fact,),
    )
    return {str(b): int(n) for b, n in rows if b != LEDGER_COMPLETE}


def _counted(wh: Warehouse, fact: str = "orders") -> dict[str, int]:
    rows = wh.execute(f"SELECT batch_id, count(*) FROM {wh.qualified(fact)} GROUP BY batch_id")
    return {str(b): int(n) for b, n in rows}


def test_the_ledger_follows_new_replaced_unchanged_and_dry_run_batches(
    warehouse: Warehouse,
) -> None:
    _write(warehouse, "a", [_order("A1"), _order("A2"), _order("A3")])
    assert _ledger(warehouse) == {"a": 3}
    # b replaces A2 (now cancelled), repeats A3 unchanged and adds B1.
    _write(warehouse, "b", [_order("A2", "cancelled"), _order("A3"), _order("B1")])
    assert _ledger(warehouse) == {"a": 2, "b": 2} == _counted(warehouse)
    # c replaces every row b wrote: b leaves the ledger.
    _write(warehouse, "c", [_order("A2", "shipped"), _order("B1", "cancelled")])
    assert _ledger(warehouse) == {"a": 2, "c": 2} == _counted(warehouse)
    _write(warehouse, "d", [_order("A1"), _order("C9")], dry_run=True)
    assert _ledger(warehouse) == {"a": 2, "c": 2} == _counted(warehouse)


def test_a_warehouse_from_before_the_ledger_is_counted_at_its_next_write(
    warehouse: Warehouse,
) -> None:
    _write(warehouse, "a", [_order("A1"), _order("A2")])
    warehouse.execute(f"DROP TABLE {warehouse.qualified(BATCH_ROWS_TABLE)}")
    _write(warehouse, "b", [_order("A2", "cancelled"), _order("B1")])
    assert _ledger(warehouse) == {"a": 1, "b": 2} == _counted(warehouse)


batch_st = st.lists(
    st.tuples(st.integers(0, 9), st.sampled_from(["shipped", "cancelled", "pending"])),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(batch_st, st.booleans()), min_size=1, max_size=6))
def test_the_ledger_always_equals_counting_the_rows(
    batches: list[tuple[list[tuple[int, str]], bool]],
) -> None:
    wh = connect("duckdb://")
    try:
        wh.ensure_schema()
        for n, (rows, dry_run) in enumerate(batches):
            _write(wh, f"b{n}", [_order(f"O{i}", status) for i, status in rows], dry_run)
            assert _ledger(wh) == _counted(wh)
    finally:
        wh.close()
