"""Shopee: v2 API payloads (order detail + escrow + returns) and the Seller Centre export."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from marketplace_helpers import FIXTURES, by, cli, count_rows, new_store, run_format

from lianxing.config import Settings
from lianxing.ingest.files.reading import read_head
from lianxing.ingest.files.registry import detect, get_format

BUNDLE = FIXTURES / "shopee" / "api_bundle.json"


def test_api_bundle_maps_orders_lines_fees_refunds_returns_value_by_value() -> None:
    assert detect(read_head(BUNDLE)).id == "shopee.api"
    facts, ctx = run_format(get_format("shopee.api"), BUNDLE, timezone="Asia/Kuala_Lumpur")
    assert not ctx.problems, ctx.problems.lines()

    orders = by(facts["orders"], "order_id")
    assert set(orders) == {"240409ABC001", "240410XYZ002"}
    first = orders["240409ABC001"]
    assert first["store_id"] == 7
    assert first["purchase_ts"] == datetime(2024, 4, 8, 18, 39, 51)  # unix s → naive UTC
    assert first["status"] == "delivered"  # COMPLETED
    assert first["fulfillment_channel"] == "seller"
    assert first["currency"] == "MYR"
    assert first["ship_country"] == "MY"
    assert first["ship_postal_code"] == "40009"
    assert first["promised_ship_by_ts"] == datetime(2024, 4, 10, 18, 39, 51)
    assert first["shipped_ts"] == datetime(2024, 4, 10, 5, 22, 57)
    assert first["buyer_ref"] is not None and "1170319091" not in first["buyer_ref"]
    assert len(first["buyer_ref"]) == 64
    second = orders["240410XYZ002"]
    assert second["status"] == "cancelled"
    assert second["shipped_ts"] is None  # pickup_done_time 0 = not yet

    lines = by(facts["order_lines"], "line_id")
    small = lines["23620853561:158686332931"]
    assert (small["sku"], small["quantity"], small["item_price"]) == (
        "DWSZ01-RG-S",
        2,
        Decimal("39.8000"),
    )
    assert small["promotion_discount"] == Decimal("2.0000")  # seller voucher share, from escrow
    assert small["platform_item_id"] == "23620853561"
    # Bundle deal: order detail says 0; the escrow line total is used instead.
    assert lines["23620853561:158686332932"]["item_price"] == Decimal("17.0000")
    mug = lines["999"]
    assert (mug["order_id"], mug["sku"], mug["item_price"]) == (
        "240410XYZ002",
        "MUG",
        Decimal("12.5000"),
    )

    fees = {f["fee_type"]: f for f in facts["fees"]}
    assert {k: f["amount"] for k, f in fees.items()} == {
        "commission": Decimal("3.1200"),
        "service": Decimal("1.5000"),
        "transaction": Decimal("1.2300"),
        "shipping": Decimal("4.9000"),
    }
    assert {f["posted_ts"] for f in fees.values()} == {datetime(2024, 4, 16)}  # escrow release
    assert fees["commission"]["fee_id"] == "240409ABC001:commission"

    (refund,) = facts["refunds"]
    assert refund == refund | {
        "refund_id": "2404150RET01",
        "order_id": "240409ABC001",
        "sku": "DWSZ01-RG-S",
        "refund_ts": datetime(2024, 4, 17),
        "amount": Decimal("19.9000"),
        "currency": "MYR",
        "reason": "DAMAGED_ITEM",
    }
    (returned,) = facts["returns"]
    assert returned["return_id"] == "2404150RET01:23620853561:158686332931"
    assert (returned["quantity"], returned["return_ts"]) == (1, datetime(2024, 4, 15, 0, 12, 28))


def test_escrow_without_a_date_source_is_rejected(tmp_path: Path) -> None:
    payloads = json.loads(BUNDLE.read_text())
    only_escrow = tmp_path / "escrow.json"
    only_escrow.write_text(json.dumps(payloads[1]))
    facts, ctx = run_format(get_format("shopee.api"), only_escrow)
    assert facts == {}
    (line,) = ctx.problems.lines()
    assert line.startswith("escrow.json, order 1, column 'response.order_sn', value '240409ABC001'")
    assert "get_order_detail or get_escrow_list" in line


def test_bad_values_are_listed_with_order_path_value_and_expectation() -> None:
    facts, ctx = run_format(get_format("shopee.api"), FIXTURES / "shopee" / "api_bad.json")
    assert facts == {}
    assert ctx.problems.lines() == [
        "api_bad.json, order 1, column 'response.order_list[0].order_status', value "
        "'SHIPPING_NOW': expected one of: UNPAID, PENDING, INVOICE_PENDING, READY_TO_SHIP, "
        "PROCESSED, RETRY_SHIP, IN_CANCEL, SHIPPED, TO_CONFIRM_RECEIVE, COMPLETED, TO_RETURN, "
        "CANCELLED",
        "api_bad.json, order 2, column 'response.order_list[1].create_time', value 'yesterday': "
        "expected a date and time such as 2024-02-10 16:00:00 +0800 / 日期时间",
    ]


def _export(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


ZH_HEADER = [
    "订单编号",
    "订单状态",
    "订单成立日期",
    "买家用户名",
    "商品名称",
    "商品选项货号",
    "商品活动价格",
    "数量",
    "卖家优惠券",
    "预计寄送日期",
    "国家",
]


def test_seller_centre_export_with_chinese_headers(tmp_path: Path) -> None:
    path = _export(
        tmp_path / "Order.all.20240401_20240430.xlsx",
        ZH_HEADER,
        [
            [
                "240409ABC001",
                "已完成",
                "2024-04-09 02:39",
                "buyer_a",
                "手镯",
                "DWSZ01-RG-S",
                19.9,
                2,
                2,
                "2024-04-11 02:39",
                "MY",
            ],
            [
                "240409ABC001",
                "已完成",
                "2024-04-09 02:39",
                "buyer_a",
                "手镯",
                "DWSZ01-RG-S",
                "19.90",
                1,
                0,
                "2024-04-11 02:39",
                "MY",
            ],
            [
                "240410XYZ002",
                "不成立",
                "2024-04-10 06:00",
                "buyer_b",
                "杯子",
                "MUG",
                "12.50",
                1,
                None,
                None,
                "MY",
            ],
        ],
    )
    assert detect(read_head(path)).id == "shopee.order_export"
    facts, ctx = run_format(
        get_format("shopee.order_export"), path, timezone="Asia/Kuala_Lumpur", currency="MYR"
    )
    assert not ctx.problems, ctx.problems.lines()
    orders = by(facts["orders"], "order_id")
    assert orders["240409ABC001"]["purchase_ts"] == datetime(2024, 4, 8, 18, 39)  # MYT − 8 h
    assert orders["240409ABC001"]["status"] == "delivered"
    assert orders["240409ABC001"]["promised_ship_by_ts"] == datetime(2024, 4, 10, 18, 39)
    assert orders["240410XYZ002"]["status"] == "cancelled"
    assert orders["240410XYZ002"]["currency"] == "MYR"  # the store's
    lines = [
        (r["order_id"], r["line_id"], r["quantity"], r["item_price"], r["promotion_discount"])
        for r in facts["order_lines"]
    ]
    assert lines == [
        ("240409ABC001", "DWSZ01-RG-S", 2, Decimal("39.8000"), Decimal("2.0000")),  # 19.9 × 2
        ("240409ABC001", "DWSZ01-RG-S#2", 1, Decimal("19.9000"), Decimal("0.0000")),
        ("240410XYZ002", "MUG", 1, Decimal("12.5000"), None),
    ]


def test_export_status_outside_the_value_map_is_rejected(tmp_path: Path) -> None:
    path = _export(
        tmp_path / "orders.xlsx",
        ZH_HEADER,
        [
            ["1", "待评价", "2024-04-09 02:39", "b", "x", "S", "1.00", 1, None, None, "MY"],
        ],
    )
    _, ctx = run_format(get_format("shopee.order_export"), path)
    (line,) = ctx.problems.lines()
    assert line.startswith(
        "orders.xlsx, row 2, column '订单状态', value '待评价': expected one of "
    )
    assert "shopee_order_export.yaml" in line


def test_cli_imports_the_api_bundle_and_rejects_a_bad_file(workspace_settings: Settings) -> None:
    store = new_store("shopee", "MY")
    code, out, err = cli("import", str(BUNDLE), "--store", str(store), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["format"] == "shopee.api"
    assert result["tables"]["orders"]["new"] == 2
    assert result["tables"]["order_lines"]["new"] == 3
    assert result["tables"]["fees"]["new"] == 4
    assert count_rows(workspace_settings, "refunds") == 1

    code, out, err = cli("import", str(FIXTURES / "shopee" / "api_bad.json"), "--store", str(store))
    assert code == 2
    assert "api_bad.json, order 1, column 'response.order_list[0].order_status'" in err
    assert "value 'yesterday'" in err
    assert count_rows(workspace_settings, "orders") == 2  # nothing written by the bad file
