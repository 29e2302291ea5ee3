"""Shopee connector end to end against a loopback fake: authorise, sign, page, 429,
token expiry mid-sync, and a crash (SIGKILL) mid-sync resumed with no gap or duplicate;
items and models mapped to exactly the listings worked out from the fake's payloads."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import urllib.parse
from decimal import Decimal

import pytest
from fake_platforms.shopee import FakeShopee, make_ads, make_items, make_orders, shopee_sign
from helpers import add_store, fact_counts
from kpis import store_kpis

from lianxing.ingest.sync import (
    ConnectorOptions,
    complete_authorisation,
    start_authorisation,
    sync_status,
    sync_store,
)
from lianxing.workspace import Workspace

SHOP = "123456"
START = int(dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp())
SINCE = dt.date(2026, 9, 20)  # 70 days before "now": five 15-day slices
DAY = dt.timedelta(days=1)
SCALE = 5.0  # the fake and the client both run Shopee's bucket (10/s per shop) x 5
OPTIONS = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01})


def _fake() -> FakeShopee:
    return FakeShopee(
        limits={"*": (10.0 * SCALE, 10)}, page_size=10, orders={SHOP: make_orders(SHOP, 60, START)}
    )


def _authorise(workspace: Workspace, fake: FakeShopee, store: int) -> None:
    url = start_authorisation(
        workspace,
        store,
        app_key=fake.partner_id,
        app_secret=fake.partner_key,
        api_base=fake.url,
        auth_base=fake.url,
        redirect_uri="https://app.example/shopee",
    )
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert parts.path == "/api/v2/shop/auth_partner"
    assert query["sign"] == shopee_sign(
        fake.partner_key, fake.partner_id, parts.path, query["timestamp"]
    )
    # Shopee sends the seller back to the redirect with code and shop_id appended.
    callback = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(query["redirect"]).query))
    fake.codes["auth-code"] = SHOP
    complete_authorisation(
        workspace,
        store,
        {"code": "auth-code", "shop_id": SHOP, "state": callback["state"]},
        redirect_uri="https://app.example/shopee",
    )


def _count(workspace: Workspace, table: str, store: int) -> tuple[int, int]:
    t = workspace.warehouse.table(table)
    mine = t.filter(t.store_id == store)
    key = [c for c in ("order_id", "line_id", "fee_id", "refund_id") if c in mine.columns][:2]
    if table == "fees":
        key = ["fee_id"]
    if table == "refunds":
        key = ["refund_id"]
    return int(mine.count().execute()), int(mine.select(*key).distinct().count().execute())


def test_sync_end_to_end(workspace: Workspace) -> None:
    store = add_store(workspace, "shopee", "MY", "shopee my")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store)
        fake.throttle_next(2, retry_after=1)
        fake.expire_tokens_after(5)
        [result] = sync_store(workspace, store, SINCE, options=OPTIONS)
        # A second run re-reads only the overlap window: nothing new, nothing duplicated.
        [again] = sync_store(workspace, store, options=OPTIONS)
    assert result.status == "succeeded", result.as_json()
    assert again.status == "succeeded", again.as_json()
    assert result.streams[0].window_end is not None
    assert again.streams[0].window_start == result.streams[0].window_end - dt.timedelta(hours=2)
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert fake.throttled_on_purpose == 2 and result.throttled == 2
    assert fake.token_expiries == 1 and fake.refreshes == 1 and result.token_refreshes == 1
    # 60 orders, 10 a page: 6 list pages + 6 detail calls where the orders are, 1 list
    # call for each of the 4 empty slices; the 2 throttled list calls were repeated, and
    # so was the detail call that met the expired token. The second run: one empty call.
    assert fake.count("order/get_order_list") == 6 + 4 + 2 + 1
    assert fake.count("order/get_order_detail") == 6 + 1
    assert _count(workspace, "orders", store) == (60, 60)
    assert _count(workspace, "order_lines", store) == (120, 120)
    # 48 completed orders: commission, service, transaction and shipping fees each.
    assert _count(workspace, "fees", store) == (192, 192)
    assert _count(workspace, "refunds", store) == (12, 12)
    lines = workspace.warehouse.table("order_lines")
    orders = workspace.warehouse.table("orders")
    live = orders.filter((orders.store_id == store) & (orders.status != "cancelled"))
    gmv = lines.semi_join(live, "order_id").item_price.sum().execute()
    assert Decimal(gmv) == Decimal("2184.00")  # 48 x (25.50 + 2 x 10.00)
    [status] = sync_status(workspace, store)
    assert status["status"] == "active"
    assert {s["stream"] for s in status["streams"]} == {
        "orders",
        "finances",
        "returns",
        "listings",
        "ads",
    }
    assert all(s["last_error"] is None and not s["in_progress"] for s in status["streams"])


CHILD = """
import datetime as dt, sys
from lianxing.ingest.sync import ConnectorOptions, sync_store
from lianxing.workspace import open_workspace
sync_store(open_workspace(), int(sys.argv[1]), dt.date(2026, 9, 20), streams=["orders"],
           options=ConnectorOptions(limit_scale=5.0, http={"backoff_base": 0.01}))
"""


def test_crash_mid_sync_resumes_without_gap_or_duplicate(workspace: Workspace) -> None:
    store = add_store(workspace, "shopee", "MY", "shopee my")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store)
        # The orders are in the first 15-day slice: list + detail per page of 10; the
        # 5th page's list call hangs (4 pages written), and the child is killed there.
        fake.hang_after(2 * 4)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(store)], env=os.environ.copy())
        try:
            assert fake.hanging.wait(60), "the child never reached the hang"
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(30)
        assert child.returncode == -signal.SIGKILL
        fake.hang_after(10_000)
        fake.release.set()
        assert _count(workspace, "orders", store) == (40, 40)  # 4 pages written
        [status] = sync_status(workspace, store)
        assert status["streams"][0]["in_progress"] is True
        before = fake.count("order/get_order_list")
        [result] = sync_store(workspace, store, streams=["orders"], options=OPTIONS)
    assert result.status == "succeeded" and result.streams[0].resumed
    # Resumed at page 5 of the first slice: pages 5-6, then the 4 empty slices.
    assert fake.count("order/get_order_list") - before == 2 + 4
    assert _count(workspace, "orders", store) == (60, 60)
    assert _count(workspace, "order_lines", store) == (120, 120)


# Mapping and paging do not depend on the backend (the end-to-end tests cover both).
@pytest.mark.parametrize("workspace_settings", ["sqlite"], indirect=True)
def test_items_become_a_listings_snapshot(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = add_store(workspace, "shopee", "MY", "shopee my")
    fake = FakeShopee(
        limits={"*": (10.0 * SCALE, 10)}, page_size=60, items={SHOP: make_items(START, 60)}
    )
    with fake.running():
        _authorise(workspace, fake, store)
        fake.throttle_next(1, retry_after=0.2)
        fake.expire_tokens_after(2)
        # 17:00 and 18:00 UTC on 10-20 are 01:00 and 02:00 on 10-21 in Kuala Lumpur.
        monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: dt.datetime(2026, 10, 20, 17))
        [result] = sync_store(workspace, store, streams=["listings"], options=OPTIONS)
        monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: dt.datetime(2026, 10, 20, 18))
        [again] = sync_store(workspace, store, streams=["listings"], options=OPTIONS)
    assert result.status == "succeeded" and again.status == "succeeded", result.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert result.throttled == 1 and result.token_refreshes == 1
    # 64 listed items (SKU-5 is deleted), 60 a page: 2 list calls (+ the throttled one);
    # base info 50 + 10 ids, then 4 (+ the call that met the expired token); one model
    # list (SKU-2). The second run makes the same 2 + 3 + 1 calls.
    assert fake.count("product/get_item_list") == 2 + 1 + 2
    assert fake.count("product/get_item_base_info") == 3 + 1 + 3
    assert fake.count("product/get_model_list") == 1 + 1
    assert result.streams[0].records == 64
    # Both snapshots are the shop's day 10-21 (not the UTC day 10-20): the second replaces
    # the first.
    day = dt.date(2026, 10, 21)
    t = workspace.warehouse.table("listings")
    rows = {
        r["sku"]: r
        for r in t.filter(t.store_id == store).to_pyarrow().to_pylist()
        if not r["sku"].startswith("FILL-")
    }
    created = dt.datetime(2026, 10, 1)
    columns = ("platform_item_id", "title", "status", "created_ts", "price", "currency")
    assert {sku: tuple(r[c] for c in columns) for sku, r in rows.items()} == {
        "SKU-1": ("100", "item SKU-1", "active", created, Decimal("25.50"), "MYR"),
        "SKU-2-L": ("200", "item SKU-2", "active", created + DAY, Decimal("10.00"), "MYR"),
        "SKU-2-M": ("200", "item SKU-2", "inactive", created + DAY, Decimal("12.00"), "MYR"),
        "SKU-2-S": ("200", "item SKU-2", "inactive", created + DAY, Decimal("12.00"), "MYR"),
        "SKU-3": ("300", "item SKU-3", "inactive", created + 2 * DAY, Decimal("30.00"), "MYR"),
        "SKU-4": ("400", "item SKU-4", "suppressed", created + 3 * DAY, Decimal("40.00"), "MYR"),
    }
    assert {r["snapshot_date"] for r in rows.values()} == {day}
    # 60 fillers at 5.00: FILL-nn has nn % 3 in stock, so 20 are sold out (inactive).
    fillers = t.filter((t.store_id == store) & t.sku.startswith("FILL-"))
    summary = fillers.group_by("status").aggregate(n=fillers.count(), total=fillers.price.sum())
    assert {
        r["status"]: (r["n"], Decimal(r["total"])) for r in summary.to_pyarrow().to_pylist()
    } == {"active": (40, Decimal("200.00")), "inactive": (20, Decimal("100.00"))}
    assert fact_counts(workspace, "listings", store) == (66, 66)
    assert store_kpis(workspace, store, f"{day:%Y-%m}", "live_skus") == {"live_skus": 2 + 40}


ADS_COLUMNS = (
    "campaign_id", "ad_type", "campaign_name", "impressions", "clicks", "cost",
    "attributed_sales", "attributed_orders", "attributed_units", "currency", "attribution_days",
)  # fmt: skip


def _ads(workspace: Workspace, store: int) -> dict[dt.date, tuple[object, ...]]:
    t = workspace.warehouse.table("ad_daily")
    rows = t.filter(t.store_id == store).to_pyarrow().to_pylist()
    return {r["date"]: tuple(r[c] for c in ADS_COLUMNS) for r in rows}


def _ad_row(
    impressions: int, clicks: int, cost: str, sales: str, orders: int
) -> tuple[object, ...]:
    """An ``ad_daily`` row of the fake's shop totals (4 units a day, 7-day attribution)."""
    totals = ("all_cpc_ads", "shopee_cpc", "All CPC ads (shop total)")
    return (*totals, impressions, clicks, Decimal(cost), Decimal(sales), orders, 4, "MYR", 7)


def test_ads_become_ad_daily_in_shop_local_days(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = add_store(workspace, "shopee", "MY", "shopee my")
    # Ads every day from 09-15 (day n = 0) to 10-21 (n = 36); see make_ads for the figures.
    fake = FakeShopee(
        limits={"*": (10.0 * SCALE, 10)}, ads={SHOP: make_ads(dt.date(2026, 9, 15), 37)}
    )
    with fake.running():
        _authorise(workspace, fake, store)
        # 17:00 UTC on 10-20 is 01:00 on 10-21 in Kuala Lumpur: the shop's today is 10-21.
        monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: dt.datetime(2026, 10, 20, 17))
        fake.today = dt.date(2026, 10, 21)
        fake.throttle_next(1, retry_after=0.2)
        fake.expire_tokens_after(1)
        [result] = sync_store(
            workspace, store, dt.date(2026, 9, 23), streams=["ads"], options=OPTIONS
        )
        first = _ads(workspace, store)
        # Attribution moves for 7 days: 10-18's broad GMV grows from 69.50 to 80.00.
        fake.ads[SHOP][dt.date(2026, 10, 18)]["broad_gmv"] = 80.0
        monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: dt.datetime(2026, 10, 22, 3))
        fake.today = dt.date(2026, 10, 22)
        [again] = sync_store(workspace, store, streams=["ads"], options=OPTIONS)
    assert result.status == "succeeded" and again.status == "succeeded", result.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert result.throttled == 1 and result.token_refreshes == 1
    asked = [
        (r.query["start_date"], r.query["end_date"])
        for r in fake.requests
        if r.path == "/api/v2/ads/get_all_cpc_ads_daily_performance"
    ]
    # Shop-local days 09-23 .. 10-21 (the window is 09-23 00:00 .. 10-20 16:58 UTC): 28
    # days, then 10-21 alone, asked from the day before (equal dates are refused); the
    # throttled call and the one that met the expired token were repeated. The second run
    # re-reads 7 days before the cursor: 10-14 00:58 .. 10-22 10:58 local.
    assert asked == [
        ("23-09-2026", "20-10-2026"),
        ("23-09-2026", "20-10-2026"),
        ("20-10-2026", "21-10-2026"),
        ("20-10-2026", "21-10-2026"),
        ("14-10-2026", "22-10-2026"),
    ]
    # 29 days (n = 8 .. 36); the days before the window (09-15 .. 09-22) are not read.
    assert sorted(first) == [dt.date(2026, 9, 23) + n * DAY for n in range(29)]
    assert first[dt.date(2026, 9, 23)] == _ad_row(1080, 28, "7.00", "32.00", 2)  # n = 8
    assert first[dt.date(2026, 10, 18)] == _ad_row(1330, 53, "13.25", "69.50", 3)  # n = 33
    assert first[dt.date(2026, 10, 21)] == _ad_row(1360, 56, "14.00", "74.00", 2)  # n = 36
    final = _ads(workspace, store)
    assert final[dt.date(2026, 10, 18)] == _ad_row(1330, 53, "13.25", "80.00", 3)
    assert {d: r for d, r in final.items() if d != dt.date(2026, 10, 18)} == {
        d: r for d, r in first.items() if d != dt.date(2026, 10, 18)
    }
    assert fact_counts(workspace, "ad_daily", store) == (29, 29)
    # Over n = 8 .. 36 (sum of n = 638): cost 29 x 5 + 0.25 x 638; broad GMV 29 x 20 +
    # 1.5 x 638 + 10.50 (direct GMV would be 29 x 10 + 638 = 928.00); orders 2 a day + 1
    # on the 14 odd days.
    t = workspace.warehouse.table("ad_daily")
    mine = t.filter(t.store_id == store)
    totals = (
        mine.aggregate(
            cost=mine.cost.sum(),
            sales=mine.attributed_sales.sum(),
            clicks=mine.clicks.sum(),
            impressions=mine.impressions.sum(),
            orders=mine.attributed_orders.sum(),
            units=mine.attributed_units.sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    assert (Decimal(totals["cost"]), Decimal(totals["sales"])) == (
        Decimal("304.50"),
        Decimal("1547.50"),
    )
    assert (totals["clicks"], totals["impressions"], totals["orders"], totals["units"]) == (
        1218,
        35380,
        72,
        116,
    )
    # KPIs are reported in USD: MYR at 0.25 USD every day. October (10-01 .. 10-21, n = 16
    # .. 36, sum of n = 546): spend 21 x 5 + 0.25 x 546 = 241.50 MYR; broad GMV 21 x 20 +
    # 1.5 x 546 + 10.50 = 1249.50 MYR.
    with workspace.warehouse.batch("fx", "manual") as writer:
        rates = [
            {"date": dt.date(2026, 9, 1) + n * DAY, "currency": "MYR", "rate_to_usd": 0.25}
            for n in range(61)
        ]
        writer.append("fx_rates", rates)
    kpis = store_kpis(workspace, store, "2026-10", "ad_spend", "ad_sales", "roas")
    assert kpis["ad_spend"] == pytest.approx(241.50 * 0.25)
    assert kpis["ad_sales"] == pytest.approx(1249.50 * 0.25)
    assert kpis["roas"] == pytest.approx(1249.50 / 241.50)
