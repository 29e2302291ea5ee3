"""AliExpress (unverified layouts): order-list records, findorderbyid envelope, export."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from marketplace_helpers import FIXTURES, by, run_format

from lianxing.ingest.files.reading import read_head
from lianxing.ingest.files.registry import detect, get_format

ORDERS = FIXTURES / "aliexpress" / "order_list.json"


def test_order_list_records() -> None:
    assert detect(read_head(ORDERS)).id == "aliexpress.api"
    facts, ctx = run_format(get_format("aliexpress.api"), ORDERS)
    assert not ctx.problems, ctx.problems.lines()
    orders = by(facts["orders"], "order_id")
    shipped = orders["3031265788145237"]
    assert shipped["purchase_ts"] == datetime(2024, 2, 24, 7, 0, 51)  # China time − 8 h
    assert (shipped["status"], shipped["currency"]) == ("shipped", "USD")
    assert orders["3031265788999999"]["status"] == "cancelled"  # FINISH but never paid
    lines = by(facts["order_lines"], "line_id")
    assert lines["3031265788155237"]["item_price"] == Decimal("173.4000")
    second = lines["3031265788165237"]
    assert (second["sku"], second["quantity"], second["item_price"], second["shipping_price"]) == (
        "3383",
        2,
        Decimal("37.0000"),
        Decimal("1.2000"),
    )  # 18.50 × 2


def test_findorderbyid_envelope(tmp_path: Path) -> None:
    envelope = {
        "aliexpress_trade_new_redefining_findorderbyid_response": {
            "time_stamp": "2024-03-20 22:00:35",
            "request_id": "210126da17109432358187522",
            "target": {
                "id": 3031265788145237,
                "gmt_create": "2024-02-24 15:00:51",
                "order_status": "WAIT_SELLER_SEND_GOODS",
                "order_amount": {"amount": "170.54", "currency_code": "USD"},
                "receipt_address": {"zip": "V95 N407", "country": "IE"},
                "child_order_list": {
                    "aeop_tp_child_order_dto": [
                        {
                            "child_order_id": "3031265788155237",
                            "product_id": 1005003574624824,
                            "product_count": 1,
                            "sku_code": "3196+3010C",
                            "product_price": {"amount": "173.40", "currency_code": "USD"},
                        }
                    ]
                },
            },
        }
    }
    path = tmp_path / "find.json"
    path.write_text(json.dumps(envelope))
    assert detect(read_head(path)).id == "aliexpress.api"
    facts, ctx = run_format(get_format("aliexpress.api"), path)
    assert not ctx.problems, ctx.problems.lines()
    (order,) = facts["orders"]
    assert (order["status"], order["ship_country"], order["currency"]) == ("unshipped", "IE", "USD")
    (line,) = facts["order_lines"]
    assert (line["line_id"], line["item_price"]) == ("3031265788155237", Decimal("173.4000"))


def test_chinese_export(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["订单号", "订单状态", "下单时间", "商品编码", "数量", "单价", "币种", "收货国家"])
    sheet.append(
        ["3031265788145237", "等待买家收货", "2024-02-24 15:00:51", "3383", 2, 18.5, "usd", "IE"]
    )
    path = tmp_path / "订单导出.xlsx"
    book.save(path)
    assert detect(read_head(path)).id == "aliexpress.order_export"
    facts, ctx = run_format(get_format("aliexpress.order_export"), path)
    assert not ctx.problems, ctx.problems.lines()
    (order,) = facts["orders"]
    assert (order["purchase_ts"], order["status"], order["currency"]) == (
        datetime(2024, 2, 24, 7, 0, 51),
        "shipped",
        "USD",
    )
    (line,) = facts["order_lines"]
    assert (line["line_id"], line["item_price"]) == ("3383", Decimal("37.0000"))
