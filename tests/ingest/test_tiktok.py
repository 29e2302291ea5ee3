"""TikTok Shop: 202309 Get Order Detail payload and the Seller Center export (CSV)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from marketplace_helpers import FIXTURES, by, run_format

from lianxing.ingest.files.reading import read_head
from lianxing.ingest.files.registry import detect, get_format

DETAIL = FIXTURES / "tiktok" / "order_detail.json"


def test_order_detail_maps_orders_and_lines() -> None:
    assert detect(read_head(DETAIL)).id == "tiktok.api"
    facts, ctx = run_format(get_format("tiktok.api"), DETAIL)
    assert not ctx.problems, ctx.problems.lines()
    orders = by(facts["orders"], "order_id")
    live = orders["576461413038785752"]
    assert live == live | {
        "purchase_ts": datetime(2024, 4, 1),
        "status": "shipped",
        "currency": "GBP",
        "fulfillment_channel": "seller",
        "ship_country": "GB",
        "ship_postal_code": "SW1A 1AA",
        "promised_ship_by_ts": datetime(2024, 4, 3),
        "shipped_ts": datetime(2024, 4, 2),
        "delivered_ts": None,
    }
    assert orders["576461413038785753"]["status"] == "cancelled"
    assert orders["576461413038785753"]["fulfillment_channel"] == "FBT"
    lines = by(facts["order_lines"], "line_id")
    first = lines["577086512123755123"]
    assert first == first | {
        "sku": "MUG-BLUE",
        "platform_item_id": "1729587769570530",
        "quantity": 1,
        "item_price": Decimal("15.9900"),
        "promotion_discount": Decimal("1.0000"),
        "item_tax": Decimal("2.3300"),
        "shipping_price": Decimal("2.9900"),
        "currency": "GBP",
    }
    assert lines["577086512123755124"]["shipping_price"] is None  # shipping on the first line
    assert lines["577086512123755200"]["promotion_discount"] is None  # "0" seller discount


def test_camel_case_sdk_payload_reads_the_same(tmp_path: Path) -> None:
    camel = json.loads(
        DETAIL.read_text()
        .replace('"create_time"', '"createTime"')
        .replace('"line_items"', '"lineItems"')
        .replace('"seller_sku"', '"sellerSku"')
    )
    path = tmp_path / "camel.json"
    path.write_text(json.dumps(camel))
    facts, ctx = run_format(get_format("tiktok.api"), path)
    assert not ctx.problems
    assert by(facts["order_lines"], "line_id")["577086512123755123"]["sku"] == "MUG-BLUE"


def test_missing_price_is_reported(tmp_path: Path) -> None:
    data = json.loads(DETAIL.read_text())
    data["data"]["orders"][0]["line_items"][1]["original_price"] = "abc"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    facts, ctx = run_format(get_format("tiktok.api"), path)
    assert facts == {}
    assert ctx.problems.lines() == [
        "bad.json, order 1, column 'data.orders[0].line_items[1].original_price', value 'abc': "
        "expected an amount such as 12.50 / 金额"
    ]


def test_seller_center_export_us_dates(tmp_path: Path) -> None:
    path = tmp_path / "To ship order-2024-04-02.csv"
    path.write_text(
        "Order ID,Order Status,Seller SKU,SKU ID,Quantity,SKU Subtotal Before Discount,"
        "SKU Seller Discount,Created Time\n"
        "576461413038785752\t,Shipped,MUG-BLUE,1729587769570530,2,31.98,2.00,"
        "04/01/2024 01:00:00 AM\t\n",
        encoding="utf-8-sig",
    )
    assert detect(read_head(path)).id == "tiktok.order_export"
    facts, ctx = run_format(
        get_format("tiktok.order_export"), path, timezone="America/Los_Angeles", day_first=False
    )
    assert not ctx.problems, ctx.problems.lines()
    (order,) = facts["orders"]
    assert (order["order_id"], order["status"]) == ("576461413038785752", "shipped")
    assert order["purchase_ts"] == datetime(2024, 4, 1, 8, 0)  # PDT (UTC−7)
    (line,) = facts["order_lines"]
    assert (line["quantity"], line["item_price"], line["promotion_discount"]) == (
        2,
        Decimal("31.9800"),
        Decimal("2.0000"),
    )
