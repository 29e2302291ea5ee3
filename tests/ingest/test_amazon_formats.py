"""Each Amazon / generic format, from a hand-written fixture in the real layout, value by value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from amazon_helpers import FIXTURES, parse_file

from lianxing.ingest.files import reading
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.reading import Source
from lianxing.ingest.files.registry import get_format

D = Decimal


def test_all_orders_maps_orders_and_lines_value_by_value() -> None:
    fmt, facts, ctx = parse_file(
        FIXTURES / "amazon_all_orders.txt", timezone="America/Los_Angeles", currency="USD"
    )
    assert fmt == "amazon.all_orders"
    assert not ctx.problems
    assert ctx.rows_read == 4  # the trailing blank line is not a row
    orders = {o["order_id"]: o for o in facts["orders"]}
    assert len(facts["orders"]) == 3  # two lines of order 1 staged once
    shipped = orders["111-0000001-0000001"]
    assert shipped["purchase_ts"] == dt.datetime(2026, 9, 1, 10, 15)
    assert shipped["status"] == "shipped"
    assert shipped["fulfillment_channel"] == "AFN"
    assert shipped["currency"] == "USD"
    assert shipped["is_business"] is False
    assert shipped["ship_country"] == "US"
    assert shipped["ship_postal_code"] == "98101-1234"
    assert shipped["store_id"] == 7
    pending = orders["111-0000002-0000002"]
    assert pending["status"] == "pending"
    assert pending["purchase_ts"] == dt.datetime(2026, 9, 3, 6, 59, 59)  # -07:00 → UTC
    assert pending["fulfillment_channel"] == "MFN"
    assert pending["currency"] == "USD"  # empty on pending rows: the store's currency
    assert pending["is_business"] is True
    assert orders["111-0000003-0000003"]["status"] == "cancelled"

    lines = {(x["order_id"], x["line_id"]): x for x in facts["order_lines"]}
    board = lines[("111-0000001-0000001", "BOARD-XL")]
    assert board["quantity"] == 2
    assert board["item_price"] == D("59.98")
    assert board["item_tax"] == D("4.80")
    assert board["promotion_discount"] == D("5.00")  # "-5.00" stored positive
    assert board["platform_item_id"] == "B0TESTA001"
    knife = lines[("111-0000001-0000001", "KNIFE-3")]
    assert knife["shipping_price"] == D("3.99")
    assert knife["promotion_discount"] == D("3.99")
    unpriced = lines[("111-0000002-0000002", "KNIFE-3")]
    assert unpriced["item_price"] is None and unpriced["item_tax"] is None
    assert lines[("111-0000003-0000003", "BOARD-XL")]["quantity"] == 0


def test_fba_returns() -> None:
    fmt, facts, _ = parse_file(FIXTURES / "amazon_fba_returns.txt")
    assert fmt == "amazon.fba_returns"
    first, second = facts["returns"]
    assert first["order_id"] == "111-0000001-0000001"
    assert first["return_ts"] == dt.datetime(2026, 9, 10, 7, 12, 44)
    assert (first["quantity"], first["reason"], first["disposition"]) == (
        1,
        "NOT_AS_DESCRIBED",
        "CUSTOMER_DAMAGED",
    )
    assert second["return_ts"] == dt.datetime(2026, 9, 11, 22, 0)
    assert second["quantity"] == 2
    assert first["return_id"] != second["return_id"]


def test_settlement_v2_refunds_and_fees_skip_summary_and_advertising() -> None:
    fmt, facts, _ = parse_file(FIXTURES / "amazon_settlement_v2.txt", currency="EUR")
    assert fmt == "amazon.settlement_v2"
    (refund,) = facts["refunds"]
    assert refund["amount"] == D("29.99")  # principal only, positive
    assert refund["refund_ts"] == dt.datetime(2026, 9, 12, 10, 30)
    assert refund["currency"] == "USD"  # from the summary row, not the store
    fees = {f["fee_type"]: f for f in facts["fees"]}
    assert set(fees) == {
        "Commission",
        "FBAPerUnitFulfillmentFee",
        "RefundCommission",
        "Subscription Fee",
    }
    assert fees["Commission"]["amount"] == D("9.00")
    assert fees["FBAPerUnitFulfillmentFee"]["amount"] == D("6.44")
    assert fees["Subscription Fee"]["amount"] == D("39.99")
    assert fees["Subscription Fee"]["order_id"] is None


def test_date_range_uk_with_note_lines() -> None:
    fmt, facts, _ = parse_file(
        FIXTURES / "amazon_date_range_uk.csv", timezone="Europe/London", currency="GBP"
    )
    assert fmt == "amazon.date_range"
    (refund,) = facts["refunds"]
    assert refund["amount"] == D("512.25")
    assert refund["refund_ts"] == dt.datetime(2026, 9, 5, 9, 0)  # 10:00 BST
    fees = sorted((f["fee_type"], f["amount"], f["posted_ts"]) for f in facts["fees"])
    assert fees == [
        ("fba fees", D("6.10"), dt.datetime(2026, 9, 4, 0, 5, 7)),
        ("selling fees", D("-61.47"), dt.datetime(2026, 9, 5, 9, 0)),  # fee given back
        ("selling fees", D("153.68"), dt.datetime(2026, 9, 4, 0, 5, 7)),
    ]


def test_business_report_needs_period_and_drops_total_row() -> None:
    fmt, facts, _ = parse_file(
        FIXTURES / "amazon_business_report.csv",
        period_from=dt.date(2026, 9, 1),
        period_to=dt.date(2026, 9, 30),
    )
    assert fmt == "amazon.business_report"
    assert [
        (t["sku"], t["date"], t["sessions"], t["page_views"]) for t in facts["traffic_daily"]
    ] == [
        ("BOARD-XL", dt.date(2026, 9, 1), 1200, 2345),
        ("KNIFE-3", dt.date(2026, 9, 1), 800, 1911),
    ]


def test_ads_api_json_gz_console_csv_and_sponsored_brands() -> None:
    fmt, facts, _ = parse_file(FIXTURES / "amazon_ads_sp.json.gz")
    assert fmt == "amazon.ads_sp"
    day1 = facts["ad_daily"][0]
    assert (day1["date"], day1["campaign_id"], day1["ad_type"]) == (
        dt.date(2026, 9, 1),
        "111222333",
        "sponsored_products",
    )
    assert (day1["impressions"], day1["clicks"], day1["cost"], day1["attributed_sales"]) == (
        12034,
        211,
        D("105.37"),
        D("431.60"),
    )
    assert (day1["attributed_orders"], day1["attributed_units"], day1["attribution_days"]) == (
        9,
        11,
        7,
    )

    fmt, facts, _ = parse_file(FIXTURES / "amazon_ads_sp_console.csv", day_first=False)
    assert fmt == "amazon.ads_sp_download"
    (row,) = facts["ad_daily"]
    assert (
        row["date"],
        row["campaign_id"],
        row["impressions"],
        row["cost"],
        row["attributed_sales"],
        row["attributed_orders"],
    ) == (dt.date(2026, 9, 1), "SP - Knives - Manual", 1020, D("17.05"), D("96.00"), 3)

    fmt, facts, _ = parse_file(FIXTURES / "amazon_ads_sb.json")
    assert fmt == "amazon.ads_sb"
    (sb,) = facts["ad_daily"]
    assert (sb["ad_type"], sb["attributed_sales"], sb["attribution_days"]) == (
        "sponsored_brands",
        D("120.00"),
        14,
    )


def test_listings_and_account_health() -> None:
    fmt, facts, _ = parse_file(
        FIXTURES / "amazon_listings.txt",
        timezone="America/Los_Angeles",
        period_to=dt.date(2026, 9, 30),
    )
    assert fmt == "amazon.listings"
    board, knife = facts["listings"]
    assert (board["sku"], board["status"], board["price"], board["snapshot_date"]) == (
        "BOARD-XL",
        "active",
        D("29.99"),
        dt.date(2026, 9, 30),
    )
    assert board["created_ts"] == dt.datetime(2025, 3, 1, 18, 0)  # 10:00 PST
    assert knife["status"] == "suppressed"

    fmt, facts, _ = parse_file(
        FIXTURES / "amazon_account_health.json", marketplace_id="ATVPDKIKX0DER"
    )
    assert fmt == "amazon.account_health"
    (health,) = facts["account_health"]
    assert health["order_defect_rate"] == 5 / 1000  # (3 + 2) / (900 + 100)
    assert (
        health["late_shipment_rate"],
        health["pre_fulfillment_cancel_rate"],
        health["valid_tracking_rate"],
        health["ahr_score"],
        health["status"],
    ) == (0.03, 0.01, 0.97, 820.0, "GREAT")
    assert health["snapshot_date"] == dt.date(2026, 9, 1)


def test_fx_ecb_and_cogs_in_gb18030() -> None:
    fmt, facts, _ = parse_file(FIXTURES / "ecb_rates.csv")
    assert fmt == "generic.fx_ecb"
    rates = {(r["date"], r["currency"]): r["rate_to_usd"] for r in facts["fx_rates"]}
    assert rates[(dt.date(2026, 9, 4), "EUR")] == 1.10
    assert abs(rates[(dt.date(2026, 9, 4), "GBP")] - 1.10 / 0.85) < 1e-12
    assert abs(rates[(dt.date(2026, 9, 4), "JPY")] - 1.10 / 160) < 1e-12
    assert (dt.date(2026, 9, 3), "JPY") not in rates  # N/A: no fixing
    assert rates[(dt.date(2026, 9, 3), "USD")] == 1.0

    fmt, facts, _ = parse_file(FIXTURES / "cogs.csv", currency="USD")
    assert fmt == "generic.cogs"
    assert facts["cogs"] == [
        {
            "store_id": 7,
            "sku": "BOARD-XL",
            "valid_from": dt.date(2026, 1, 1),
            "unit_cost": D("1234.50"),
            "currency": "CNY",
        },
        {
            "store_id": 7,
            "sku": "KNIFE-3",
            "valid_from": dt.date(2026, 6, 1),
            "unit_cost": D("8.25"),
            "currency": "USD",
        },
    ]


def test_all_orders_stages_each_order_once_when_its_lines_straddle_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, first, second, *_ = (FIXTURES / "amazon_all_orders.txt").read_text().splitlines()
    lines = [header]
    for order in range(1, 8):  # 7 orders of 3 lines each; the last line says "Pending"
        for line, template in enumerate((first, second, first)):
            cells = template.split("\t")
            cells[0] = f"111-{order:07d}-0000000"
            cells[11] = f"SKU-{line}"
            cells[4] = "Pending" if line == 2 else "Shipped"
            lines.append("\t".join(cells))
    path = tmp_path / "orders.txt"
    path.write_text("\n".join(lines) + "\n")
    _, whole, _ = parse_file(path, currency="USD")
    monkeypatch.setattr(reading, "CHUNK_BYTES", 500)  # 2 lines a chunk, 3 lines an order
    source = Source(path)
    ctx = ImportContext(file=path.name, store_id=7, currency="USD")
    chunks = list(get_format("amazon.all_orders").parse(source, ctx))
    assert not ctx.problems
    assert [name for name, _ in chunks].count("order_lines") >= 7  # orders were split
    staged = [row for name, t in chunks if name == "orders" for row in t.to_pylist()]
    assert [r["order_id"] for r in staged] == [f"111-{n:07d}-0000000" for n in range(1, 8)]
    assert staged == whole["orders"]  # the last line of each order, as with one chunk
    assert {r["status"] for r in staged} == {"pending"}
