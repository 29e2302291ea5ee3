"""Lazada connector end to end against a loopback fake: authorise (code → tokens, seller
of the store's venture), exact signatures, offset paging past the offset cap, 429 +
Retry-After, token expiry mid-sync, and a crash (SIGKILL) mid-sync resumed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import urllib.parse
from decimal import Decimal

import pytest
from fake_platforms.lazada import FakeLazada, make_orders
from helpers import add_store, fact_counts

from lianxing.ingest.api.lazada import Lazada, lazada_sign
from lianxing.ingest.sync import (
    ConnectorOptions,
    complete_authorisation,
    start_authorisation,
    sync_status,
    sync_store,
)
from lianxing.workspace import Workspace

SELLER = "MY1234001"
START = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
SINCE = dt.date(2026, 9, 30)
SCALE = 5.0
OPTIONS = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01})


def _fake(count: int = 45) -> FakeLazada:
    return FakeLazada(
        limits={"*": (10.0 * SCALE, 10)},
        page_size=10,
        orders={SELLER: make_orders(SELLER, count, START)},
    )


def test_signature_matches_an_independent_computation() -> None:
    # Computed with `openssl dgst -sha256 -hmac lazada-app-secret` over
    # "/orders/get" + the sorted name/value pairs, upper-cased.
    params = {
        "app_key": "123456",
        "timestamp": "1790000000000",
        "sign_method": "sha256",
        "access_token": "tok",
        "update_after": "2026-10-01T00:00:00+00:00",
        "offset": "0",
        "limit": "10",
    }
    assert lazada_sign("lazada-app-secret", "/orders/get", params) == (
        "8DFC148171C616E9C48A459E03CC9652E4D676D1E75C150CBB92FEB877083F00"
    )


def _authorise(workspace: Workspace, fake: FakeLazada, store: int) -> None:
    url = start_authorisation(
        workspace,
        store,
        app_key=fake.app_key,
        app_secret=fake.app_secret,
        api_base=fake.url,
        auth_base=fake.url,
        redirect_uri="https://app.example/lazada",
    )
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert parts.path == "/oauth/authorize"
    assert query["client_id"] == fake.app_key
    assert query["redirect_uri"] == "https://app.example/lazada"
    fake.codes["lazada-code"] = SELLER
    view = complete_authorisation(
        workspace,
        store,
        {"code": "lazada-code", "state": query["state"]},
        redirect_uri="https://app.example/lazada",
    )
    # The grant covers SG and MY; the MY store keeps the MY seller.
    assert view["account"]["seller_id"] == SELLER
    assert view["status"] == "active"


def test_sync_end_to_end(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    store = add_store(workspace, "lazada", "MY", "lazada my")
    fake = _fake()
    fake.max_offset = 20
    monkeypatch.setattr(Lazada, "max_offset", 20)
    with fake.running():
        _authorise(workspace, fake, store)
        fake.throttle_next(2, retry_after=1)
        fake.expire_tokens_after(3)
        [result] = sync_store(workspace, store, SINCE, options=OPTIONS)
        [again] = sync_store(workspace, store, options=OPTIONS)
    assert result.status == "succeeded", result.as_json()
    assert again.status == "succeeded", again.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert fake.throttled_on_purpose == 2 and result.throttled == 2
    assert fake.token_expiries == 1 and fake.refreshes == 1 and result.token_refreshes == 1
    # 45 orders, 10 a page: offsets 0, 10, 20; offset 30 is past the cap (20), so the
    # query restarts a second before order #29's updated_at: orders 29-44 at 0, 10.
    # The 2 throttled GetOrders were repeated, and so was the 2nd items call, which met
    # the expired token. The second run reads its (empty) overlap once.
    assert fake.offsets == [0, 10, 20, 0, 10, 0]
    assert fake.count("GetOrders") == 5 + 2 + 1
    assert fake.count("GetMultipleOrderItems") == 5 + 1
    assert result.streams[0].records == 45 + 1  # order 29 read twice, merged by key
    assert fact_counts(workspace, "orders", store) == (45, 45)
    assert fact_counts(workspace, "order_lines", store) == (135, 135)
    lines = workspace.warehouse.table("order_lines")
    orders = workspace.warehouse.table("orders")
    mine = orders.filter(orders.store_id == store)
    live = mine.filter(mine.status != "cancelled")
    assert int(live.count().execute()) == 34  # every 4th of 45 cancelled: 11
    gmv = lines.semi_join(live, "order_id").item_price.sum().execute()
    assert Decimal(gmv) == Decimal("2465.00")  # 34 x (30.00 + 30.00 + 12.50)
    discount = lines.semi_join(live, "order_id").promotion_discount.sum().execute()
    assert Decimal(discount) == Decimal("34.00")  # seller voucher 1.00 on SKU-B
    first = mine.filter(mine.order_id == "7010000").to_pyarrow().to_pylist()[0]
    assert first["purchase_ts"] == dt.datetime(2026, 10, 1, 8)  # 16:00 +0800 → UTC
    assert first["currency"] == "MYR" and first["ship_country"] == "MY"
    [status] = sync_status(workspace, store)
    assert status["streams"][0]["last_error"] is None


def test_revoked_grant_marks_the_connection(workspace: Workspace) -> None:
    store = add_store(workspace, "lazada", "MY", "lazada my")
    fake = _fake(5)
    with fake.running():
        _authorise(workspace, fake, store)
        fake.revoke()
        [result] = sync_store(workspace, store, SINCE, options=OPTIONS)
    assert result.status == "revoked"
    [status] = sync_status(workspace, store)
    assert status["status"] == "revoked" and "IllegalRefreshToken" in status["status_reason"]


CHILD = """
import datetime as dt, sys
from lianxing.ingest.sync import ConnectorOptions, sync_store
from lianxing.workspace import open_workspace
sync_store(open_workspace(), int(sys.argv[1]), dt.date(2026, 9, 30),
           options=ConnectorOptions(limit_scale=5.0, http={"backoff_base": 0.01}))
"""


def test_crash_mid_sync_resumes_without_gap_or_duplicate(workspace: Workspace) -> None:
    store = add_store(workspace, "lazada", "MY", "lazada my")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store)
        # GetOrders + GetMultipleOrderItems per page of 10: the 3rd page's GetOrders hangs.
        fake.hang_after(2 * 2)
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
        [status] = sync_status(workspace, store)
        assert status["streams"][0]["in_progress"] is True
        fake.offsets.clear()
        [result] = sync_store(workspace, store, options=OPTIONS)
    assert result.status == "succeeded" and result.streams[0].resumed
    assert fake.offsets == [20, 30, 40]  # resumed at the 3rd page
    assert fact_counts(workspace, "orders", store) == (45, 45)
    assert fact_counts(workspace, "order_lines", store) == (135, 135)
