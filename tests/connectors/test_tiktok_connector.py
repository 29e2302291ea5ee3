"""TikTok Shop connector end to end against a loopback fake: authorise (code → tokens →
the shop's cipher), exact signatures, page_token paging, 429 + Retry-After, token expiry
mid-sync, and a crash (SIGKILL) mid-sync resumed with no gap or duplicate."""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import subprocess
import sys
import urllib.parse
from decimal import Decimal

import pytest
from fake_platforms.tiktok import FakeTikTok, make_orders
from helpers import add_store, fact_counts

from lianxing.ingest.api.http import ApiError
from lianxing.ingest.api.tiktok import tiktok_sign
from lianxing.ingest.sync import (
    ConnectorOptions,
    complete_authorisation,
    connect_with_refresh_token,
    start_authorisation,
    sync_status,
    sync_store,
)
from lianxing.workspace import Workspace

SHOP = {"id": "7494", "name": "tt us", "region": "US", "cipher": "GCP_XYZ"}
OTHER = {"id": "7495", "name": "tt uk", "region": "GB", "cipher": "GCP_OTHER"}
START = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
SINCE = dt.date(2026, 9, 30)
SCALE = 5.0
OPTIONS = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01})


def _fake() -> FakeTikTok:
    return FakeTikTok(
        limits={"*": (10.0 * SCALE, 10)},
        page_size=10,
        shops=[SHOP, OTHER],
        orders={SHOP["id"]: make_orders(25, START)},
    )


def test_signature_matches_an_independent_computation() -> None:
    # Computed with `openssl dgst -sha256 -hmac tiktok-app-secret` over
    # secret + path + sorted pairs (no sign, no access_token) + body + secret.
    params = {
        "app_key": "6abcdefg",
        "timestamp": "1790000000",
        "shop_cipher": "GCP_XYZ",
        "page_size": "10",
        "access_token": "never signed",
        "sign": "never signed",
    }
    body = b'{"update_time_ge":1790000000,"update_time_lt":1790086400}'
    assert tiktok_sign("tiktok-app-secret", "/order/202309/orders/search", params, body) == (
        "4fb4fd48761edac979af3385eba16f6334bac37922f27bcc66bb81877c234962"
    )


def _authorise(workspace: Workspace, fake: FakeTikTok, store: int, shop_id: str | None) -> None:
    url = start_authorisation(
        workspace,
        store,
        app_key=fake.app_key,
        app_secret=fake.app_secret,
        account={"shop_id": shop_id} if shop_id else None,
        api_base=fake.url,
        auth_base=fake.url,
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert url.startswith("https://services.tiktokshop.com/open/authorize?")
    assert query["service_id"] == fake.app_key
    fake.codes["tt-code"] = "open-1"
    complete_authorisation(workspace, store, {"code": "tt-code", "state": query["state"]})


def test_sync_end_to_end(workspace: Workspace) -> None:
    store = add_store(workspace, "tiktok", "US", "tiktok us")
    fake = _fake()
    with fake.running():
        # The grant covers two shops: without a shop id the connector cannot choose.
        with pytest.raises(ApiError, match="7494 \\(tt us\\), 7495 \\(tt uk\\)"):
            _authorise(workspace, fake, store, None)
        _authorise(workspace, fake, store, "7494")
        [status] = sync_status(workspace, store)
        assert status["account"]["shop_cipher"] == "GCP_XYZ"
        assert status["account"]["seller_name"] == "Test Seller"
        fake.throttle_next(2, retry_after=1)
        fake.expire_tokens_after(3)
        [result] = sync_store(workspace, store, SINCE, options=OPTIONS)
        [again] = sync_store(workspace, store, options=OPTIONS)
    assert result.status == "succeeded", result.as_json()
    assert again.status == "succeeded", again.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert fake.throttled_on_purpose == 2 and result.throttled == 2
    assert fake.token_expiries == 1 and fake.refreshes == 1 and result.token_refreshes == 1
    # 25 orders, 10 a page: 3 searches + 3 detail calls; the 2 throttled searches were
    # repeated, and so was the 2nd detail call (expired token). Second run: one search.
    assert fake.count("SearchOrders") == 3 + 2 + 1
    assert fake.count("GetOrderDetail") == 3 + 1
    assert fact_counts(workspace, "orders", store) == (25, 25)
    assert fact_counts(workspace, "order_lines", store) == (50, 50)
    lines = workspace.warehouse.table("order_lines")
    orders = workspace.warehouse.table("orders")
    live = orders.filter((orders.store_id == store) & (orders.status != "cancelled"))
    assert int(live.count().execute()) == 20
    mine = lines.semi_join(live, "order_id")
    assert Decimal(mine.item_price.sum().execute()) == Decimal("710.00")  # 20 x 35.50
    assert Decimal(mine.promotion_discount.sum().execute()) == Decimal("40.00")  # 20 x 2.00
    assert Decimal(mine.shipping_price.sum().execute()) == Decimal("60.00")  # 20 x 3.00


def test_refresh_token_connection_learns_the_cipher(workspace: Workspace) -> None:
    store = add_store(workspace, "tiktok", "US", "tiktok us")
    fake = _fake()
    fake.shops = [SHOP]
    with fake.running():
        view = connect_with_refresh_token(
            workspace,
            store,
            app_key=fake.app_key,
            app_secret=fake.app_secret,
            refresh_token=fake.grant(),
            api_base=fake.url,
            auth_base=fake.url,
        )
        [result] = sync_store(workspace, store, SINCE, options=OPTIONS)
    assert view["account"]["shop_cipher"] == "GCP_XYZ" and view["account"]["shop_id"] == "7494"
    assert result.status == "succeeded" and fact_counts(workspace, "orders", store) == (25, 25)


CHILD = """
import datetime as dt, sys
from lianxing.ingest.sync import ConnectorOptions, sync_store
from lianxing.workspace import open_workspace
sync_store(open_workspace(), int(sys.argv[1]), dt.date(2026, 9, 30),
           options=ConnectorOptions(limit_scale=5.0, http={"backoff_base": 0.01}))
"""


def test_crash_mid_sync_resumes_without_gap_or_duplicate(workspace: Workspace) -> None:
    store = add_store(workspace, "tiktok", "US", "tiktok us")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store, "7494")
        fake.hang_after(2 * 2)  # search + detail per page: the 3rd search hangs
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(store)], env=os.environ.copy())
        try:
            assert fake.hanging.wait(60), "the child never reached the hang"
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(30)
        assert child.returncode == -signal.SIGKILL
        fake.hang_after(10_000)
        fake.release.set()
        assert fact_counts(workspace, "orders", store) == (20, 20)
        fake.page_tokens_seen.clear()
        [result] = sync_store(workspace, store, options=OPTIONS)
    assert result.status == "succeeded" and result.streams[0].resumed
    assert fake.page_tokens_seen == [base64.b64encode(b"20").decode()]  # the 3rd page only
    assert fact_counts(workspace, "orders", store) == (25, 25)
    assert fact_counts(workspace, "order_lines", store) == (50, 50)
