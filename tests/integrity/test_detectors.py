"""Detectors and provenance on small hand-made facts, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lianxing.domain.integrity import RuleId
from lianxing.integrity.detectors import (
    Facts,
    StoreScope,
    order_concentration,
    price_below_usual,
    quick_full_refunds,
    run_detectors,
    source_mismatch,
)
from lianxing.integrity.provenance import kpi_provenance
from lianxing.warehouse import Warehouse

TZ = "Asia/Kuala_Lumpur"  # UTC+8
SCOPE = StoreScope(7, TZ, "MYR", None, dt.date(2026, 10, 1), dt.date(2026, 11, 1))
BASE = dt.datetime(2026, 10, 10, 2, 0)  # 10:00 local


def _order(order_id: str, at: dt.datetime, buyer: str, **extra: Any) -> dict[str, Any]:
    row = {
        "store_id": 7,
        "order_id": order_id,
        "purchase_ts": at,
        "status": "delivered" if extra.get("delivered_ts") else "shipped",
        "currency": "MYR",
        "buyer_ref": buyer,
        "ship_postal_code": extra.pop("postal", f"P{order_id}"),
    }
    row.update(extra)
    return row


def _line(order_id: str, sku: str, price: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "store_id": 7,
        "order_id": order_id,
        "line_id": "1",
        "sku": sku,
        "quantity": quantity,
        "item_price": Decimal(price),
        "currency": "MYR",
    }


def _write(wh: Warehouse, batch: str, source: str, **tables: list[dict[str, Any]]) -> None:
    with wh.batch(batch, source=source) as writer:
        for name, data in tables.items():
            writer.append(name, data)


def _normal_orders(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """n orders of SKU N at 20.00, one a day per buyer, delivered two days later."""
    orders, lines = [], []
    for i in range(n):
        at = BASE + dt.timedelta(hours=3 * i)
        orders.append(_order(f"N{i}", at, f"buyer{i}", delivered_ts=at + dt.timedelta(days=2)))
        lines.append(_line(f"N{i}", "N", "20.00"))
    return orders, lines


def test_order_concentration_finds_a_buyer_burst(warehouse: Warehouse) -> None:
    orders, lines = _normal_orders(40)
    for i in range(6):  # one buyer, six orders, 30 minutes, one postal code
        orders.append(_order(f"B{i}", BASE + dt.timedelta(minutes=6 * i), "brusher", postal="999"))
        lines.append(_line(f"B{i}", "N", "20.00"))
    _write(warehouse, "b1", "api:shopee", orders=orders, order_lines=lines)
    (finding,) = order_concentration(Facts(warehouse, SCOPE))
    assert finding.rule == RuleId.ORDER_CONCENTRATION
    assert finding.subject == "buyer:brusher"
    assert finding.score == 0.6  # 6 orders against the threshold of 5
    # the same hour breaks Shopee's shop rule too: the burst plus the normal 10:00 order
    # of another buyer, 7 orders from 2 buyers (3.5 per buyer); both signals are merged
    assert "Shopee" in finding.explanation_en and "orders / buyers = 3.50" in (
        finding.explanation_en
    )
    assert finding.order_ids == (*(f"B{i}" for i in range(6)), "N0")


def test_quick_full_refunds_and_low_prices(warehouse: Warehouse) -> None:
    orders, lines = _normal_orders(200)
    refunds = []
    for i in range(4):  # SKU R: delivered, refunded in full ten hours later
        at = BASE + dt.timedelta(days=i)
        delivered = at + dt.timedelta(days=2)
        orders.append(_order(f"R{i}", at, f"r{i}", delivered_ts=delivered))
        lines.append(_line(f"R{i}", "R", "30.00"))
        refunds.append(
            {
                "store_id": 7,
                "refund_id": f"R{i}-1",
                "order_id": f"R{i}",
                "sku": "R",
                "refund_ts": delivered + dt.timedelta(hours=10),
                "amount": Decimal("30.00"),
                "currency": "MYR",
            }
        )
    orders.append(_order("CHEAP", BASE + dt.timedelta(days=5), "c"))
    lines.append(_line("CHEAP", "N", "10.00", quantity=2))  # 5.00 a unit, usual 20.00
    _write(warehouse, "b1", "api:shopee", orders=orders, order_lines=lines, refunds=refunds)
    facts = Facts(warehouse, SCOPE)

    (refund,) = quick_full_refunds(facts)
    assert refund.subject == "sku:R"
    assert refund.order_ids == ("R0", "R1", "R2", "R3")
    # no other SKU has quick refunds: the 0.2 % floor gives 4 x 0.002 = 0.008 expected
    assert refund.evidence["delivered_lines"] == 4
    assert refund.evidence["expected"] == 0.008

    (cheap,) = price_below_usual(facts)
    assert cheap.subject == "sku:N" and cheap.order_ids == ("CHEAP",)
    assert cheap.evidence["ratio"] == 0.25 and cheap.score == 0.75


def test_source_mismatch_and_provenance(warehouse: Warehouse) -> None:
    orders, lines = _normal_orders(3)
    _write(warehouse, "api-1", "api:shopee", orders=orders, order_lines=lines)
    copy = dict(orders[0], order_id="DUP-N0")
    _write(
        warehouse,
        "file-1",
        "file:shopee.orders",
        orders=[copy],
        order_lines=[_line("DUP-N0", "N", "20.00")],
    )
    _write(warehouse, "man-1", "manual", order_lines=[_line("N2", "N", "40.00")])
    fees = [
        {
            "store_id": 7,
            "fee_id": f"{order_id}-C",
            "posted_ts": BASE + dt.timedelta(days=1),
            "order_id": order_id,
            "fee_type": "commission_fee",
            "amount": Decimal(amount),
            "currency": "MYR",
        }
        for order_id, amount in (("N0", "2.00"), ("N1", "2.00"), ("GHOST", "1.50"))
    ]
    _write(warehouse, "settle-1", "file:shopee.income", fees=fees)

    findings = source_mismatch(Facts(warehouse, SCOPE))
    subjects = {f.subject: f for f in findings}
    assert subjects["fees_without_orders"].order_ids == ("GHOST",)
    duplicate = next(f for f in findings if f.subject.startswith("duplicate:"))
    assert duplicate.order_ids == ("DUP-N0", "N0")
    # N2's commission is missing, N0/N1 are charged 10 % of 20.00: no commission finding
    assert not [f for f in findings if f.subject.startswith("order:")]

    report = kpi_provenance(warehouse, SCOPE, "gmv", row_limit=2)
    (gmv,) = report.components
    # lines: N0, N1 from the API (40), DUP-N0 from a file (20), N2 edited by hand (40)
    assert gmv.total == 100.0 and gmv.row_count == 4
    shares = {(s.source, s.batch_id): (s.share, s.rows, s.manual) for s in gmv.shares}
    assert shares == {
        ("api:shopee", "api-1"): (0.4, 2, False),
        ("manual", "man-1"): (0.4, 1, True),
        ("file:shopee.orders", "file-1"): (0.2, 1, False),
    }
    assert gmv.manual_rows == 1
    assert gmv.rows[0]["order_id"] == "N2" and gmv.rows[0]["manual"] is True
    assert len(gmv.rows) == 2
    as_json = report.as_dict()["components"][0]
    assert as_json["by_kind"] == {"manual": 0.4, "platform_api": 0.4, "platform_file": 0.2}

    roas = kpi_provenance(warehouse, SCOPE, "roas").components
    assert [c.name for c in roas] == ["ad attributed sales", "ad cost"]
    assert all(c.total == 0.0 and c.shares == [] for c in roas)


def test_clean_small_store_has_no_findings(warehouse: Warehouse) -> None:
    orders, lines = _normal_orders(60)
    # eight orders a local day on 100 sessions a day: an ordinary 8 % conversion
    traffic = [
        {"store_id": 7, "date": dt.date(2026, 10, d), "sku": "N", "sessions": 100}
        for d in range(1, 32)
    ]
    _write(warehouse, "b1", "api:shopee", orders=orders, order_lines=lines)
    assert run_detectors(warehouse, SCOPE) == []  # no traffic facts: conversion not judged
    _write(warehouse, "t1", "api:shopee", traffic_daily=traffic)
    assert run_detectors(warehouse, SCOPE) == []
