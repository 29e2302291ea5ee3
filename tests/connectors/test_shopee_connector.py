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
from fake_platforms.shopee import FakeShopee, make_items, make_orders, shopee_sign
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
    assert {s["stream"] for s in status["streams"]} == {"orders", "finances", "returns", "listings"}
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
def test_items_become_a_listings_snapshot(workspace: Workspace) -> None:
    store = add_store(workspace, "shopee", "MY", "shopee my")
    fake = FakeShopee(
        limits={"*": (10.0 * SCALE, 10)}, page_size=60, items={SHOP: make_items(START, 60)}
    )
    with fake.running():
        _authorise(workspace, fake, store)
        fake.throttle_next(1, retry_after=0.2)
        fake.expire_tokens_after(2)
        [result] = sync_store(workspace, store, streams=["listings"], options=OPTIONS)
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
    end, end_again = result.streams[0].window_end, again.streams[0].window_end
    assert end is not None and end_again is not None
    day = end.date()
    assert end_again.date() == day  # (a run across midnight would differ)
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
