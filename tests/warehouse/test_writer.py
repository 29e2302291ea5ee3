"""Batch writes: idempotent upserts by natural key, all or nothing, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lianxing.warehouse import Warehouse


def _order(order_id: str, status: str = "shipped", **extra: Any) -> dict[str, Any]:
    row = {
        "store_id": 1,
        "order_id": order_id,
        "purchase_ts": datetime(2026, 10, 1, 7, 30),
        "status": status,
        "currency": "USD",
    }
    row.update(extra)
    return row


def _rows(wh: Warehouse, table: str) -> list[tuple[Any, ...]]:
    return wh.execute(
        f"SELECT order_id, status, batch_id FROM {wh.qualified(table)} ORDER BY order_id"
    )


def test_new_rows_are_inserted_with_source_and_batch(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A"), _order("B", "pending")])
    assert batch.stats["orders"].as_dict() == {"new": 2, "updated": 0, "unchanged": 0}
    assert warehouse.execute(
        f"SELECT DISTINCT source, batch_id FROM {warehouse.qualified('orders')}"
    ) == [("file:test", "b1")]


def test_rewriting_the_same_rows_changes_nothing(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A"), _order("B")])
    with warehouse.batch("b2", "file:test") as batch:
        batch.append("orders", [_order("A"), _order("B")])
    assert batch.stats["orders"].as_dict() == {"new": 0, "updated": 0, "unchanged": 2}
    # Unchanged rows keep the batch that wrote them.
    assert [r[2] for r in _rows(warehouse, "orders")] == ["b1", "b1"]


def test_a_changed_status_is_an_update_not_a_duplicate(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A", "pending"), _order("B")])
    with warehouse.batch("b2", "file:test") as batch:
        batch.append("orders", [_order("A", "shipped"), _order("C")])
    assert batch.stats["orders"].as_dict() == {"new": 1, "updated": 1, "unchanged": 0}
    assert _rows(warehouse, "orders") == [
        ("A", "shipped", "b2"),
        ("B", "shipped", "b1"),
        ("C", "shipped", "b2"),
    ]


def test_within_a_batch_the_last_row_for_a_key_wins(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A", "pending")])
        batch.append("orders", [_order("A", "unshipped"), _order("A", "shipped")])
    assert batch.stats["orders"].as_dict() == {"new": 1, "updated": 0, "unchanged": 0}
    assert _rows(warehouse, "orders") == [("A", "shipped", "b1")]


def test_a_failed_batch_writes_nothing_to_any_table(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A")])
    with pytest.raises(RuntimeError), warehouse.batch("b2", "file:test") as batch:
        batch.append("orders", [_order("A", "cancelled"), _order("Z")])
        batch.append(
            "order_lines",
            [{"store_id": 1, "order_id": "Z", "line_id": "1", "quantity": 1, "currency": "USD"}],
        )
        raise RuntimeError("the importer found a bad row")
    assert _rows(warehouse, "orders") == [("A", "shipped", "b1")]
    assert warehouse.execute(f"SELECT count(*) FROM {warehouse.qualified('order_lines')}") == [(0,)]


def test_a_constraint_violation_in_the_merge_rolls_back_every_table(warehouse: Warehouse) -> None:
    with pytest.raises(Exception), warehouse.batch("b1", "file:test") as batch:  # noqa: B017
        batch.append("orders", [_order("A")])
        # order_lines.quantity is NOT NULL: the merge of this table fails after orders merged.
        batch.append(
            "order_lines",
            pa.table(
                {
                    "store_id": [1],
                    "order_id": ["A"],
                    "line_id": ["1"],
                    "quantity": pa.array([None], pa.int64()),
                    "currency": ["USD"],
                }
            ),
        )
    assert _rows(warehouse, "orders") == []


def test_dry_run_reports_changes_and_writes_nothing(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A")])
    with warehouse.batch("b2", "file:test", dry_run=True) as batch:
        batch.append("orders", [_order("A", "delivered"), _order("B")])
    assert batch.stats["orders"].as_dict() == {"new": 1, "updated": 1, "unchanged": 0}
    assert _rows(warehouse, "orders") == [("A", "shipped", "b1")]


def test_money_is_exact_and_arrow_input_is_accepted(warehouse: Warehouse) -> None:
    lines = pa.table(
        {
            "store_id": [1, 1],
            "order_id": ["A", "A"],
            "line_id": ["1", "2"],
            "quantity": [1, 3],
            "item_price": pa.array([Decimal("0.1"), Decimal("0.2")], pa.decimal128(18, 4)),
            "currency": ["USD", "USD"],
        }
    )
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("order_lines", lines)
    total = warehouse.table("order_lines").item_price.sum().execute()
    assert Decimal(str(total)) == Decimal("0.3")


def test_unknown_columns_and_missing_required_columns_are_refused(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="unknown columns"), warehouse.batch("b", "t") as batch:
        batch.append("orders", [{**_order("A"), "colour": "red"}])
    with (
        pytest.raises(ValueError, match="required column 'status'"),
        warehouse.batch("b", "t") as batch,
    ):
        row = _order("A")
        del row["status"]
        batch.append("orders", [row])
    assert _rows(warehouse, "orders") == []


def test_fx_rates_have_no_store_and_are_keyed_by_date_and_currency(
    warehouse: Warehouse,
) -> None:
    from datetime import date

    with warehouse.batch("b1", "file:ecb") as batch:
        batch.append(
            "fx_rates", [{"date": date(2026, 10, 1), "currency": "EUR", "rate_to_usd": 1.08}]
        )
    with warehouse.batch("b2", "file:ecb") as batch:
        batch.append(
            "fx_rates", [{"date": date(2026, 10, 1), "currency": "EUR", "rate_to_usd": 1.09}]
        )
    assert batch.stats["fx_rates"].as_dict() == {"new": 0, "updated": 1, "unchanged": 0}
    assert warehouse.table("fx_rates").rate_to_usd.execute().tolist() == [1.09]


def test_the_last_row_wins_even_when_its_values_are_null(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A", ship_country="US", ship_postal_code="98101")])
        batch.append("orders", [_order("A", ship_country=None, ship_postal_code="10001")])
    assert warehouse.execute(
        f"SELECT ship_country, ship_postal_code FROM {warehouse.qualified('orders')}"
    ) == [(None, "10001")]


def test_rows_given_as_dicts_may_have_different_keys(warehouse: Warehouse) -> None:
    with warehouse.batch("b1", "file:test") as batch:
        batch.append("orders", [_order("A"), _order("B", ship_country="GB")])
    assert warehouse.execute(
        f"SELECT order_id, ship_country FROM {warehouse.qualified('orders')} ORDER BY order_id"
    ) == [("A", None), ("B", "GB")]


def test_awkward_strings_round_trip_and_empty_is_not_null(warehouse: Warehouse) -> None:
    names = ["", None, 'a,"b"\nc', "中文 · ünï", "\\N"]
    with warehouse.batch("b1", "file:test") as batch:
        batch.append(
            "orders",
            [_order(f"O{i}", ship_postal_code=name) for i, name in enumerate(names)],
        )
    stored = warehouse.execute(
        f"SELECT ship_postal_code FROM {warehouse.qualified('orders')} ORDER BY order_id"
    )
    assert [row[0] for row in stored] == names
