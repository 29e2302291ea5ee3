"""A small hand-made set of facts whose KPIs are computed by hand in test_engine_cases.py.

Store 1: Amazon US (America/Los_Angeles, USD), launched 2026-10-01.
Store 2: Amazon DE (Europe/Berlin, EUR), launched 2026-09-01.
Every timestamp is naive UTC, as the warehouse stores it; comments give the local time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.loader import load_catalog
from lianxing.warehouse import Warehouse

T = dt.datetime
D = dt.date

STORES = [
    StoreInfo(1, "America/Los_Angeles", "USD", D(2026, 10, 1), "Amazon US"),
    StoreInfo(2, "Europe/Berlin", "EUR", D(2026, 9, 1), "Amazon DE"),
]


def _order(
    store: int,
    order_id: str,
    ts: T,
    status: str,
    currency: str,
    *,
    promised: T | None = None,
    shipped: T | None = None,
) -> dict[str, Any]:
    return {
        "store_id": store,
        "order_id": order_id,
        "purchase_ts": ts,
        "status": status,
        "currency": currency,
        "promised_ship_by_ts": promised,
        "shipped_ts": shipped,
    }


def _line(
    store: int,
    order_id: str,
    line: str,
    sku: str,
    qty: int,
    price: float | None,
    currency: str,
    tax: float | None = None,
    shipping: float | None = None,
) -> dict[str, Any]:
    return {
        "store_id": store,
        "order_id": order_id,
        "line_id": line,
        "sku": sku,
        "quantity": qty,
        "item_price": price,
        "item_tax": tax,
        "shipping_price": shipping,
        "currency": currency,
    }


ORDERS = [
    # A1: 2026-10-05 11:00 PDT. Promised 10-06 17:00 PDT, shipped 10-06 05:00 PDT: on time.
    _order(
        1,
        "A1",
        T(2026, 10, 5, 18),
        "shipped",
        "USD",
        promised=T(2026, 10, 7),
        shipped=T(2026, 10, 6, 12),
    ),
    # A2: 2026-10-01 03:00 UTC is 2026-09-30 20:00 PDT: a September order in marketplace time.
    # Promised 10-01 17:00 PDT, shipped 10-01 23:00 PDT: due and shipped in October, late.
    _order(
        1,
        "A2",
        T(2026, 10, 1, 3),
        "shipped",
        "USD",
        promised=T(2026, 10, 2),
        shipped=T(2026, 10, 2, 6),
    ),
    # A3: cancelled in October.
    _order(1, "A3", T(2026, 10, 10, 12), "cancelled", "USD", promised=T(2026, 10, 12)),
    # A4: pending, no price yet; due 10-22 17:00 PDT and not shipped.
    _order(1, "A4", T(2026, 10, 20, 12), "pending", "USD", promised=T(2026, 10, 23)),
    # A5: 2026-11-01 06:00 UTC is 2026-10-31 23:00 PDT: October in marketplace time.
    # Promised 11-01 17:00 PST (November), shipped 11-02 16:00 PST: late, in November.
    _order(
        1,
        "A5",
        T(2026, 11, 1, 6),
        "shipped",
        "USD",
        promised=T(2026, 11, 2),
        shipped=T(2026, 11, 3),
    ),
    # A6: September order, refunded and partly returned in October.
    _order(
        1,
        "A6",
        T(2026, 9, 15, 12),
        "delivered",
        "USD",
        promised=T(2026, 9, 16),
        shipped=T(2026, 9, 16, 1),
    ),
    # Store 2 (Berlin; CEST = UTC+2 until 2026-10-25 01:00 UTC, then CET = UTC+1).
    _order(2, "B1", T(2026, 10, 10, 10), "shipped", "EUR"),
    _order(2, "B2", T(2026, 10, 25, 22, 30), "shipped", "EUR"),  # 23:30 CET, still 10-25
    _order(2, "B3", T(2026, 10, 31, 23, 30), "shipped", "EUR"),  # 00:30 CET on 11-01: November
]

LINES = [
    _line(1, "A1", "1", "S1", 2, 50.0, "USD", tax=4.0, shipping=5.0),
    _line(1, "A1", "2", "S2", 1, 30.0, "USD", tax=2.4),
    _line(1, "A2", "1", "S1", 1, 100.0, "USD"),
    _line(1, "A3", "1", "S3", 1, 40.0, "USD"),
    _line(1, "A4", "1", "S1", 3, None, "USD"),
    _line(1, "A5", "1", "S2", 1, 20.0, "USD"),
    _line(1, "A6", "1", "S1", 2, 60.0, "USD"),
    _line(2, "B1", "1", "E1", 1, 100.0, "EUR", tax=15.97),
    _line(2, "B2", "1", "E1", 1, 50.0, "EUR"),
    _line(2, "B3", "1", "E2", 1, 70.0, "EUR"),
]

REFUNDS = [
    {
        "store_id": 1,
        "refund_id": "R1",
        "order_id": "A1",
        "sku": "S2",
        "refund_ts": T(2026, 11, 5, 12),
        "amount": 30.0,
        "currency": "USD",
    },
    {
        "store_id": 1,
        "refund_id": "R2",
        "order_id": "A6",
        "sku": "S1",
        "refund_ts": T(2026, 10, 3, 12),
        "amount": 60.0,
        "currency": "USD",
    },
]

RETURNS = [
    {
        "store_id": 1,
        "return_id": "RT1",
        "order_id": "A6",
        "sku": "S1",
        "return_ts": T(2026, 10, 4, 12),
        "quantity": 1,
    },
    {
        "store_id": 1,
        "return_id": "RT2",
        "order_id": "A1",
        "sku": "S1",
        "return_ts": T(2026, 11, 10, 12),
        "quantity": 2,
    },
]

ADS = [
    {
        "store_id": 1,
        "date": D(2026, 10, 1),
        "campaign_id": "C1",
        "ad_type": "sponsored_products",
        "cost": 10.0,
        "attributed_sales": 40.0,
        "currency": "USD",
    },
    {
        "store_id": 1,
        "date": D(2026, 10, 31),
        "campaign_id": "C1",
        "ad_type": "sponsored_products",
        "cost": 15.0,
        "attributed_sales": 35.0,
        "currency": "USD",
    },
    {
        "store_id": 1,
        "date": D(2026, 11, 1),
        "campaign_id": "C1",
        "ad_type": "sponsored_products",
        "cost": 100.0,
        "attributed_sales": 0.0,
        "currency": "USD",
    },
]

TRAFFIC = [
    {"store_id": 1, "date": D(2026, 10, 1), "sku": "S1", "sessions": 100, "page_views": 150},
    {"store_id": 1, "date": D(2026, 10, 15), "sku": "S2", "sessions": 40, "page_views": 50},
]

FEES = [
    {
        "store_id": 1,
        "fee_id": "F1",
        "posted_ts": T(2026, 10, 6, 12),
        "order_id": "A1",
        "fee_type": "referral",
        "amount": 12.0,
        "currency": "USD",
    },
    {
        "store_id": 1,
        "fee_id": "F2",
        "posted_ts": T(2026, 10, 31, 20),
        "fee_type": "storage",
        "amount": 3.0,
        "currency": "USD",
    },
]

COGS = [
    {"store_id": 1, "sku": "S1", "valid_from": D(2026, 1, 1), "unit_cost": 10.0, "currency": "USD"},
    {
        "store_id": 1,
        "sku": "S1",
        "valid_from": D(2026, 10, 15),
        "unit_cost": 12.0,
        "currency": "USD",
    },
    {"store_id": 1, "sku": "S2", "valid_from": D(2026, 1, 1), "unit_cost": 8.0, "currency": "USD"},
]

LISTINGS = [
    {"store_id": 1, "sku": sku, "snapshot_date": day, "status": status}
    for day, states in (
        (D(2026, 10, 10), {"S1": "active", "S2": "active", "S3": "inactive"}),
        (D(2026, 10, 30), {"S1": "active", "S2": "inactive", "S3": "active"}),
    )
    for sku, status in states.items()
]

HEALTH = [
    {"store_id": 1, "snapshot_date": D(2026, 10, 5), "ahr_score": 250.0},
    {
        "store_id": 1,
        "snapshot_date": D(2026, 10, 28),
        "ahr_score": 230.0,
        "order_defect_rate": 0.004,
        "late_shipment_rate": 0.02,
        "pre_fulfillment_cancel_rate": 0.01,
        "valid_tracking_rate": 0.97,
    },
    {"store_id": 1, "snapshot_date": D(2026, 11, 2), "ahr_score": 100.0},
]

TICKETS = [
    {
        "store_id": 1,
        "ticket_id": "K1",
        "opened_ts": T(2026, 10, 2, 10),
        "first_response_ts": T(2026, 10, 2, 12),
    },
    {
        "store_id": 1,
        "ticket_id": "K2",
        "opened_ts": T(2026, 10, 3, 10),
        "first_response_ts": T(2026, 10, 3, 15),
    },
    {
        "store_id": 1,
        "ticket_id": "K3",
        "opened_ts": T(2026, 10, 4, 10),
        "first_response_ts": T(2026, 10, 4, 11),
    },
    {"store_id": 1, "ticket_id": "K4", "opened_ts": T(2026, 10, 5, 10), "first_response_ts": None},
    # 2026-11-01 05:00 UTC is 10-31 22:00 PDT: October.
    {
        "store_id": 1,
        "ticket_id": "K5",
        "opened_ts": T(2026, 11, 1, 5),
        "first_response_ts": T(2026, 11, 1, 15),
    },
]

FX = [
    {"date": day, "currency": "EUR", "rate_to_usd": rate}
    for day, rate in ((D(2026, 10, 10), 1.10), (D(2026, 10, 25), 1.20), (D(2026, 11, 1), 1.15))
]

FACTS: dict[str, list[dict[str, Any]]] = {
    "orders": ORDERS,
    "order_lines": LINES,
    "refunds": REFUNDS,
    "returns": RETURNS,
    "ad_daily": ADS,
    "traffic_daily": TRAFFIC,
    "fees": FEES,
    "cogs": COGS,
    "listings": LISTINGS,
    "account_health": HEALTH,
    "cs_tickets": TICKETS,
    "fx_rates": FX,
}


def load_facts(wh: Warehouse, facts: dict[str, list[dict[str, Any]]], batch: str = "test") -> None:
    with wh.batch(batch, "manual") as writer:
        for table, rows in facts.items():
            if rows:
                # Every row with every key: the writer takes its columns from the first row.
                keys = sorted({key for row in rows for key in row})
                writer.append(table, [{key: row.get(key) for key in keys} for row in rows])


def make_engine(wh: Warehouse, stores: list[StoreInfo] = STORES) -> KpiEngine:
    return KpiEngine(wh.ibis, wh.table, load_catalog().require_valid(), stores)
