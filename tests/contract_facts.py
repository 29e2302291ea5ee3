"""Facts the contract tests write: store 1 (Amazon US, launched 2026-01-01) and its orders,
and the contracts signed on them (used by the contract, web and report tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lianxing.contracts.service import add_contract, workspace_catalog
from lianxing.stores import create_store
from lianxing.workspace import Workspace

JAN1 = dt.date(2026, 1, 1)
FIXTURES = Path(__file__).parent / "contracts" / "fixtures"
# USD per CNY in fx_rates (see two_currency_facts).
CNY_TO_USD = {
    dt.date(2026, 1, 1): 0.125,
    dt.date(2026, 1, 5): 0.14,
    dt.date(2026, 2, 1): 0.16,
    dt.date(2026, 2, 5): 0.125,
    dt.date(2026, 2, 20): 0.16,
}
F1_ORDERED_AT = dt.datetime(2026, 1, 25, 20, 0)  # the order a brusher placed (naive UTC)


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


def two_currency_facts(workspace: Workspace) -> None:
    """Store 1 with orders A1 Jan 15 1000, A2 Jan 20 1000, F1 Jan 25 500 and B1 Feb 10 1500
    USD, and the CNY rates of ``CNY_TO_USD``."""
    store_with_orders(
        workspace,
        [
            order_rows("A1", dt.date(2026, 1, 15), 1000),
            order_rows("A2", dt.date(2026, 1, 20), 1000),
            order_rows("F1", F1_ORDERED_AT.date(), 500),
            order_rows("B1", dt.date(2026, 2, 10), 1500),
        ],
    )
    with workspace.warehouse.batch("b-fx", "file:fx") as batch:
        batch.append(
            "fx_rates",
            [
                {"date": day, "currency": "CNY", "rate_to_usd": rate}
                for day, rate in CNY_TO_USD.items()
            ],
        )


def sign_contract(workspace: Workspace, path: Path) -> int:
    with workspace.session() as session:
        view, _ = add_contract(session, workspace_catalog(workspace), path)
    return view.id


def write_exit_contract(path: Path) -> Path:
    """``two_currencies.yaml`` with a GMV target of 2500 a month, an exit clause (two misses
    in a row, refund 40 % of the monthly fee) and a 30-day remediation, written to ``path``."""
    text = (FIXTURES / "two_currencies.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    period: month\n", '    period: month\n    target: {comparator: ">=", value: 2500}\n'
    )
    text += (
        "exit:\n"
        "  - {id: gmv_missed, kpi: gmv_month, consecutive_misses: 2,\n"
        "     refund: {percent: 40, of_fees: [monthly_service]}}\n"
        "remediation:\n"
        "  cure_days: 30\n"
        "  actions: [{action: 重做广告结构 / rebuild ad structure, owner: agency}]\n"
    )
    path.write_text(text, encoding="utf-8")
    return path
