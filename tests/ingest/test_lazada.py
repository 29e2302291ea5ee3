"""Lazada: GetOrders + GetMultipleOrderItems payloads, and the Seller Center export (GBK CSV)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from marketplace_helpers import FIXTURES, by, cli, new_store, run_format

from lianxing.config import Settings
from lianxing.ingest.files import reading
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.reading import Source, read_head
from lianxing.ingest.files.registry import detect, get_format

PAYLOADS = FIXTURES / "lazada" / "orders_and_items.json"


def test_orders_and_items_map_to_canonical_facts() -> None:
    assert detect(read_head(PAYLOADS)).id == "lazada.api"
    facts, ctx = run_format(get_format("lazada.api"), PAYLOADS, currency="SGD")
    assert not ctx.problems, ctx.problems.lines()
    orders = by(facts["orders"], "order_id")
    first = orders["16090"]
    assert first["purchase_ts"] == datetime(2024, 3, 1, 2, 15, 22)  # +0800 → UTC
    assert first["status"] == "delivered"  # one item cancelled, the rest delivered
    assert first["currency"] == "MYR"  # from its items, not the store default
    assert (first["ship_country"], first["ship_postal_code"]) == ("MY", "50450")
    assert first["fulfillment_channel"] == "seller"
    assert first["promised_ship_by_ts"] == datetime(2024, 3, 3, 2, 15, 22)
    assert first["buyer_ref"] is not None and len(first["buyer_ref"]) == 64
    second = orders["16091"]
    assert (second["status"], second["currency"]) == ("cancelled", "SGD")  # no items: store's
    lines = by(facts["order_lines"], "line_id")
    assert set(lines) == {"1001", "1002", "1003"}
    assert lines["1001"] == lines["1001"] | {
        "order_id": "16090",
        "sku": "TSHIRT-RED-M",
        "platform_item_id": "2001_MY-3001",
        "quantity": 1,
        "item_price": Decimal("20.0000"),
        "item_tax": Decimal("1.2000"),
        "shipping_price": Decimal("2.2500"),
        "promotion_discount": Decimal("2.0000"),
        "currency": "MYR",
    }
    assert lines["1002"]["promotion_discount"] is None
    assert lines["1003"]["item_price"] == Decimal("5.0000")


def test_unknown_status_and_api_error_are_reported(tmp_path: Path) -> None:
    payloads = json.loads(PAYLOADS.read_text())
    payloads[0]["data"]["orders"][1]["statuses"] = ["lost_in_space"]
    payloads.append(
        {
            "code": "IllegalAccessToken",
            "type": "ISP",
            "request_id": "x",
            "message": "The specified access token is invalid or expired",
        }
    )
    path = tmp_path / "lazada.json"
    path.write_text(json.dumps(payloads))
    facts, ctx = run_format(get_format("lazada.api"), path)
    assert facts == {}
    lines = ctx.problems.lines()
    assert lines[0].startswith(
        "lazada.json, order 2, column '[0].data.orders[1].statuses[0]', value 'lost_in_space': "
        "expected one of: unpaid, topack, pending"
    )
    assert lines[1] == (
        "lazada.json, column '[2].code', value 'IllegalAccessToken': expected a successful "
        "response (the API answered with an error: The specified access token is invalid or "
        "expired)"
    )


EXPORT_ROWS = [
    [
        "orderItemId",
        "orderNumber",
        "sellerSku",
        "lazadaSku",
        "createTime",
        "unitPrice",
        "sellerDiscountTotal",
        "shippingFee",
        "status",
        "shippingCountry",
    ],
    [
        "1001",
        "300034574",
        "TSHIRT-RED-M",
        "2001_MY-3001",
        "01 Mar 2024 10:15",
        "20.00",
        "2.00",
        "2.25",
        "delivered",
        "Malaysia",
    ],
    [
        "1003",
        "300034574",
        "CAP-01",
        "2002_MY-3002",
        "01 Mar 2024 10:15",
        "5.00",
        "0.00",
        "0.00",
        "已取消",
        "Malaysia",
    ],
]


def test_seller_center_export_in_gbk_csv(tmp_path: Path) -> None:
    path = tmp_path / "lazada_orders.csv"
    path.write_bytes("\n".join(",".join(r) for r in EXPORT_ROWS).encode("gbk"))
    assert detect(read_head(path)).id == "lazada.order_export"
    facts, ctx = run_format(
        get_format("lazada.order_export"), path, timezone="Asia/Kuala_Lumpur", currency="MYR"
    )
    assert not ctx.problems, ctx.problems.lines()
    (order,) = {r["order_id"]: r for r in facts["orders"]}.values()
    assert order["purchase_ts"] == datetime(2024, 3, 1, 2, 15)
    lines = by(facts["order_lines"], "line_id")
    assert (lines["1001"]["quantity"], lines["1001"]["item_price"]) == (1, Decimal("20.0000"))
    # One order, a delivered and a cancelled unit: delivered (cancelled units do not count).
    assert [r["status"] for r in facts["orders"]] == ["delivered", "delivered"]


def test_export_order_status_combines_its_lines_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ~2 rows per chunk, so an order's lines are spread over several chunks.
    monkeypatch.setattr(reading, "CHUNK_BYTES", 160)
    header = "orderItemId,orderNumber,sellerSku,createTime,unitPrice,status"
    lines = [
        ("1", "A", "shipped"),
        ("2", "B", "canceled"),
        ("3", "C", "pending"),
        ("4", "A", "delivered"),
        ("5", "B", "failed delivery"),
        ("6", "C", "delivered"),  # C: pending + delivered → the least advanced, unshipped
        ("7", "A", "canceled"),  # A: shipped + delivered, one unit cancelled → shipped
        ("8", "D", "delivered"),
    ]
    path = tmp_path / "lazada_orders.csv"
    path.write_text(
        "\n".join(
            [header]
            + [f"{i},{o},SKU-{i},01 Mar 2024 10:15,1.00,{status}" for i, o, status in lines]
        ),
        encoding="utf-8",
    )
    facts, ctx = run_format(get_format("lazada.order_export"), path, currency="MYR")
    assert not ctx.problems, ctx.problems.lines()
    last_row_wins = {r["order_id"]: r["status"] for r in facts["orders"]}  # as the writer does
    assert last_row_wins == {
        "A": "shipped",
        "B": "cancelled",  # every unit cancelled
        "C": "unshipped",
        "D": "delivered",
    }
    ctx = ImportContext(file=path.name, store_id=7, currency="MYR")
    chunks = [name for name, _ in get_format("lazada.order_export").parse(Source(path), ctx)]
    assert chunks.count("orders") >= 3  # the lines of A, B and C really were in several


def test_cli_rejects_export_with_bad_price(workspace_settings: Settings, tmp_path: Path) -> None:
    store = new_store("lazada", "MY")
    rows = [list(r) for r in EXPORT_ROWS]
    rows[2][5] = "5,OO"
    path = tmp_path / "lazada_orders.csv"
    path.write_bytes("\n".join(",".join(r) for r in rows).encode("gbk").replace(b"5,OO", b'"5,OO"'))
    code, _, err = cli("import", str(path), "--store", str(store))
    assert code == 2
    assert "lazada_orders.csv, line 3, column 'unitPrice', value '5,OO': expected an amount" in err
