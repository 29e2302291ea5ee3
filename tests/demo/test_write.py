"""write_demo puts the generated facts into a real warehouse, idempotently."""

from __future__ import annotations

from collections import Counter
from datetime import date

from lianxing.demo import DemoSpec, default_demo_spec, generate, write_demo
from lianxing.warehouse import Warehouse


def _small_spec() -> DemoSpec:
    full = default_demo_spec(date(2026, 3, 1))
    # the last 5 weeks of the Amazon store: includes the pending last day
    amazon = full.stores[0]
    return DemoSpec((amazon,), date(2026, 1, 24), full.end, seed=3)


def test_write_demo_writes_every_row_once_and_is_idempotent(warehouse: Warehouse) -> None:
    spec = _small_spec()
    generated: Counter[str] = Counter()
    for name, chunk in generate(spec):
        generated[name] += chunk.num_rows
    progressed: Counter[str] = Counter()

    stats = write_demo(warehouse, spec, lambda name, rows: progressed.update({name: rows}))

    assert progressed == generated
    assert {name: s.new for name, s in stats.items()} == dict(generated)
    for name, rows in generated.items():
        assert warehouse.table(name).count().execute() == rows, name
    sources = warehouse.table("orders").source.value_counts().execute()
    assert sources.to_dict("records") == [{"source": "demo", "source_count": generated["orders"]}]
    pending_unpriced = warehouse.execute(
        f"SELECT count(*) FROM {warehouse.qualified('order_lines')} l "
        f"JOIN {warehouse.qualified('orders')} o USING (store_id, order_id) "
        "WHERE o.status = 'pending' AND l.item_price IS NULL"
    )[0][0]
    assert pending_unpriced > 0

    again = write_demo(warehouse, spec)
    assert all(s.new == 0 and s.updated == 0 for s in again.values())
    assert {name: s.unchanged for name, s in again.items()} == dict(generated)
