"""Facts the contract tests write: store 1 (Amazon US, launched 2026-01-01) and its orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from lianxing.stores import create_store
from lianxing.workspace import Workspace

JAN1 = dt.date(2026, 1, 1)


def order_rows(
    order_id: str, day: dt.date, amount: int, status: str = "shipped"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order (purchased at 20:00 UTC, noon in Los Angeles) and its line, in USD."""
    order = {
        "store_id": 1,
        "order_id": order_id,
        "purchase_ts": dt.datetime.combine(day, dt.time(20, 0)),
        "status": status,
        "currency": "USD",
    }
    line = {
        "store_id": 1,
        "order_id": order_id,
        "line_id": "1",
        "sku": "SKU-1",
        "quantity": 1,
        "item_price": amount,
        "currency": "USD",
    }
    return order, line


def store_with_orders(
    workspace: Workspace, orders: Sequence[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Store 1 and ``orders`` (from :func:`order_rows`) in import batch ``b-api``."""
    with workspace.session() as session:
        store = create_store(
            session, platform="amazon", site="US", name="Xinghe US", launch_date=JAN1
        )
    assert store.id == 1 and store.timezone == "America/Los_Angeles"
    with workspace.warehouse.batch("b-api", "api:amazon") as batch:
        batch.append("orders", [order for order, _ in orders])
        batch.append("order_lines", [line for _, line in orders])
