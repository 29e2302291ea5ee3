"""Lazada connector end to end against a loopback fake: authorise (code → tokens, seller
of the store's venture), exact signatures, offset paging past the offset cap, 429 +
Retry-After, token expiry mid-sync, and a crash (SIGKILL) mid-sync resumed."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import urllib.parse
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fake_platforms.lazada import FakeLazada, make_orders
from helpers import DATA, add_store, fact_counts
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.ingest.api.base import Credentials, Window
from lianxing.ingest.api.http import ApiError
from lianxing.ingest.api.lazada import Lazada, lazada_sign
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.sync import (
    ConnectorOptions,
    StreamResult,
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


# -- finances, returns, listings -------------------------------------------------------------
# The fake serves the documented payloads in data/lazada_*.json; the expected facts below
# are worked out by hand from those files. MY is UTC+8: a transaction dated "05 Oct 2026"
# is posted at local midnight, 2026-10-04 16:00 UTC.

MY = ZoneInfo("Asia/Kuala_Lumpur")
NEW_STREAMS = ("finances", "returns", "listings")
# Small pages, so that every stream pages: 13 transactions, 6 reverse orders, 6 products.
PAGE_LIMITS = {"finances": 5, "returns": 2, "listings": 2}


def _data(name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((DATA / f"lazada_{name}.json").read_text())
    return loaded


def _full_fake(orders: int = 0) -> FakeLazada:
    fake = _fake(orders)
    fake.transactions[SELLER] = _data("transactions")
    fake.reverse_orders[SELLER] = _data("reverse_orders")
    fake.products[SELLER] = _data("products")
    return fake


def _rows(workspace: Workspace, table: str, store: int, key: str) -> dict[str, dict[str, Any]]:
    t = workspace.warehouse.table(table)
    rows = t.filter(t.store_id == store).to_pyarrow().to_pylist()
    return {r[key]: r for r in rows}


def _ms(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1)


def _day(moment: dt.datetime) -> dt.date:
    """The MY calendar day of a naive-UTC window end (exclusive: the instant before)."""
    return (moment - dt.timedelta(microseconds=1)).replace(tzinfo=dt.UTC).astimezone(MY).date()


# fee_id → (posted_ts UTC, order_id, sku, fee_type, amount): Lazada's sign flipped.
EXPECTED_FEES = {
    "MYX1AB-0000002": (dt.datetime(2026, 10, 4, 16), "7010000", "SKU-A", "commission", "1.80"),
    "MYX1AB-0000003": (dt.datetime(2026, 10, 4, 16), "7010000", "SKU-A", "payment_fee", "0.73"),
    # The buyer's shipping credit and the carrier's charge: a 0.60 shipping difference.
    "MYX1AB-0000004": (dt.datetime(2026, 10, 4, 16), "7010000", "SKU-A", "shipping", "-4.90"),
    "MYX1AB-0000005": (dt.datetime(2026, 10, 4, 16), "7010000", "SKU-A", "shipping", "5.50"),
    "MYX1AB-0000008": (dt.datetime(2026, 10, 5, 16), "7010001", "SKU-A", "commission", "1.80"),
    "MYX1AB-0000009": (dt.datetime(2026, 10, 11, 16), "7010001", "SKU-A", "commission", "-1.80"),
    # No fee_type id: classified by its fee_name.
    "MYX1AB-0000011": (dt.datetime(2026, 10, 6, 16), "7010002", "SKU-A", "payment_fee", "0.36"),
    # An id outside the documented list: its name, in snake case.
    "MYX1AB-0000012": (dt.datetime(2026, 10, 30, 16), None, None, "fbl_storage_fee", "3.20"),
}
# Not fees: 0000001 item price (a sale), 0000006 seller voucher (the orders' discount),
# 0000007 sponsored products (ad spend), 0000013 an unknown id in "Orders-Sales";
# 0000010 "Reversal Item Price" is a refund.

# return_id → (order_id, sku, return_ts UTC, quantity, reason, disposition). Not returns:
# 6002 (withdrawn), 6003 (refund only), 6005 (a cancellation), 6006 (return cancelled).
EXPECTED_RETURNS = {
    "6001": ("7010001", "SKU-A", dt.datetime(2026, 10, 8, 3), 1, "Damaged item",
             "return_to_merchant"),
    "6004": ("7010004", "SKU-A", dt.datetime(2026, 10, 14, 5), 1, "Wrong size",
             "return_pickup_pending"),
    "6007": ("7010000", "SKU-B", dt.datetime(2026, 10, 20, 6), 1, "Not as described",
             "return_to_merchant"),
}  # fmt: skip

# refund_id (order:item) → (order_id, sku, refund_ts UTC, amount, reason). From reverse
# orders in REFUND_SUCCESS: refund_amount in cents (3000 = MYR 30.00), dated by the line's
# last change. 7010001:70100010 is also the finance posting "Reversal Item Price" (dated
# 12 Oct, MY): one refund, the reverse order's (that stream runs after finances).
EXPECTED_REFUNDS = {
    "7010001:70100010": ("7010001", "SKU-A", dt.datetime(2026, 10, 11, 9), "30.0000",
                         "Damaged item"),
    "7010002:70100022": ("7010002", "SKU-B", dt.datetime(2026, 10, 10, 6), "12.5000",
                         "Missing item"),
    "7010000:70100002": ("7010000", "SKU-B", dt.datetime(2026, 10, 22, 7, 30), "12.5000",
                         "Not as described"),
}  # fmt: skip

# sku → (platform_item_id, title, status, price). SKU-B3 (a deleted SKU) and SKU-F (a
# deleted product) are no listings.
EXPECTED_LISTINGS = {
    "SKU-A": ("SKU-A-MY", "Widget A", "active", "30.0000"),
    "SKU-B": ("SKU-B-MY", "Widget B", "inactive", "12.5000"),  # active, none available
    "SKU-B2": ("SKU-B2-MY", "Widget B", "inactive", "13.0000"),
    "SKU-C": ("SKU-C-MY", "Widget C", "suppressed", "9.9000"),  # product suspended
    "SKU-D1": ("SKU-D1-MY", "Widget D", "active", "45.0000"),
    "SKU-D2": ("SKU-D2-MY", "Widget D", "suppressed", "46.0000"),  # in suspendedSkus
    "SKU-E": ("SKU-E-MY", "Widget E", "inactive", "19.9000"),  # product pending QC
}


def _span(result: StreamResult) -> tuple[dt.datetime, dt.datetime]:
    assert result.window_start is not None and result.window_end is not None
    return result.window_start, result.window_end


def _kpi(store: int, period: str, kpis: str) -> dict[str, Any]:
    args = ["--store", str(store), "--period", period, "--kpi", kpis, "--json"]
    outcome = CliRunner().invoke(app, ["kpi", *args])
    assert outcome.exit_code == 0, outcome.output
    body: dict[str, Any] = json.loads(outcome.stdout)["kpis"]
    return body


def test_finances_returns_listings_end_to_end(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = add_store(workspace, "lazada", "MY", "lazada my")
    fake = _full_fake(orders=8)
    monkeypatch.setattr(Lazada, "page_limits", PAGE_LIMITS)
    with fake.running():
        _authorise(workspace, fake, store)
        [orders] = sync_store(workspace, store, SINCE, streams=["orders"], options=OPTIONS)
        first = {}
        for stream in NEW_STREAMS:
            # Each stream's first call is throttled (429, Retry-After) and its next one
            # meets an expired token.
            fake.throttle_next(1, retry_after=0.05)
            fake.expire_tokens_after(1)
            [result] = sync_store(workspace, store, SINCE, streams=[stream], options=OPTIONS)
            assert result.status == "succeeded", result.as_json()
            assert result.throttled == 1 and result.token_refreshes == 1
            [first[stream]] = result.streams
        # Incremental: each stream re-reads its overlap. Then everything again.
        [overlap] = sync_store(workspace, store, streams=NEW_STREAMS, options=OPTIONS)
        [again] = sync_store(workspace, store, SINCE, streams=NEW_STREAMS, options=OPTIONS)
    assert orders.status == overlap.status == again.status == "succeeded", overlap.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert fake.throttled_on_purpose == 3 and fake.token_expiries == 3 and fake.refreshes == 3
    window = {s.stream: _span(s) for s in overlap.streams}
    assert {s.stream: s.records for s in again.streams} == {
        "finances": 13,
        "returns": 6,
        "listings": 6,
    }

    # finances: 13 transactions, 5 a page: offsets 0, 5, 10 (a short page ends it), over
    # the window's days in MY time. The throttled call and the one that met the expired
    # token were repeated and are not in the log of answered queries.
    assert first["finances"].records == 13
    start, end = _span(first["finances"])
    days = ("2026-09-30", str(_day(end)))
    assert fake.transaction_queries[:3] == [(*days, 0), (*days, 5), (*days, 10)]
    start, end = window["finances"]
    assert start == _span(first["finances"])[1] - dt.timedelta(days=3)
    days = (str(_day(start + dt.timedelta(microseconds=1))), str(_day(end)))
    assert fake.transaction_queries[3] == (*days, 0)
    assert fact_counts(workspace, "fees", store) == (8, 8)
    fees = _rows(workspace, "fees", store, "fee_id")
    assert {
        k: (r["posted_ts"], r["order_id"], r["sku"], r["fee_type"], str(r["amount"]))
        for k, r in fees.items()
    } == {k: (*v[:4], f"{Decimal(v[4]):.4f}") for k, v in EXPECTED_FEES.items()}
    assert {r["currency"] for r in fees.values()} == {"MYR"}
    assert sum(Decimal(r["amount"]) for r in fees.values()) == Decimal("6.69")

    # returns: 6 reverse orders modified in the window (ms, both bounds included), 2 a
    # page, against result.total.
    assert first["returns"].records == 6
    start, end = _span(first["returns"])
    bounds = (_ms(start), _ms(end) - 1)
    assert fake.reverse_queries[:3] == [(*bounds, 1), (*bounds, 2), (*bounds, 3)]
    assert window["returns"][0] == end - dt.timedelta(hours=6)
    assert fact_counts(workspace, "returns", store) == (3, 3)
    assert {
        k: (r["order_id"], r["sku"], r["return_ts"], r["quantity"], r["reason"], r["disposition"])
        for k, r in _rows(workspace, "returns", store, "return_id").items()
    } == EXPECTED_RETURNS
    assert fact_counts(workspace, "refunds", store) == (3, 3)
    refunds = _rows(workspace, "refunds", store, "refund_id")
    assert {
        k: (r["order_id"], r["sku"], r["refund_ts"], str(r["amount"]), r["reason"])
        for k, r in refunds.items()
    } == EXPECTED_REFUNDS
    assert {r["currency"] for r in refunds.values()} == {"MYR"}

    # listings: the whole catalogue each run (6 products, 2 a page), never update_after,
    # dated the window's last day in MY time; a run on the same day merges with it.
    assert fake.product_offsets == [0, 2, 4] * 3
    products = [r.query for r in fake.requests if r.path == "/products/get"]
    assert products and all(q["filter"] == "all" and "update_after" not in q for q in products)
    runs = [first["listings"], *overlap.streams, *again.streams]
    snapshots = {_day(_span(r)[1]) for r in runs if r.stream == "listings"}
    # (A run just past local midnight starts a second day's snapshot.)
    assert fact_counts(workspace, "listings", store) == (7 * len(snapshots),) * 2
    listings = workspace.warehouse.table("listings")
    rows = listings.filter(listings.store_id == store).to_pyarrow().to_pylist()
    assert {r["snapshot_date"] for r in rows} == snapshots
    latest = {r["sku"]: r for r in rows if r["snapshot_date"] == max(snapshots)}
    assert {
        sku: (r["platform_item_id"], r["title"], r["status"], str(r["price"]))
        for sku, r in latest.items()
    } == EXPECTED_LISTINGS
    assert latest["SKU-A"]["created_ts"] == dt.datetime(2026, 9, 1, 4)
    assert {r["currency"] for r in rows} == {"MYR"}

    # KPIs (reported in USD: MYR at 0.25 USD every day from October on). October, MY
    # time: 8 orders of 2 x 30.00 + 12.50, #3 and #7 cancelled: GMV 6 x 72.50 = 435.00
    # on 18 units; refunds 30.00 + 12.50 + 12.50; 3 returned units.
    days_with_rates = [dt.date(2026, 10, 1) + dt.timedelta(days=n) for n in range(120)]
    with workspace.warehouse.batch("fx", "manual") as writer:
        writer.append(
            "fx_rates",
            [{"date": d, "currency": "MYR", "rate_to_usd": 0.25} for d in days_with_rates],
        )
    october = _kpi(store, "2026-10", "gmv,refund_rate,return_rate")
    assert october["gmv"]["value"] == pytest.approx(435.00 * 0.25)
    assert october["refund_rate"]["value"] == pytest.approx(55.00 / 435.00)
    assert october["return_rate"]["value"] == pytest.approx(3 / 18)
    # Live SKUs on the latest snapshot (SKU-A, SKU-D1), in the snapshot's month.
    month = max(snapshots).strftime("%Y-%m")
    assert _kpi(store, month, "live_skus")["live_skus"]["value"] == 2


def test_catalogue_beyond_the_offset_cap_fails_before_writing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _full_fake()
    monkeypatch.setattr(Lazada, "page_limits", PAGE_LIMITS)
    monkeypatch.setattr(Lazada, "max_product_offset", 2)  # pages at 0 and 2 only: 4 < 6
    ctx = ImportContext(file="api", store_id=1, timezone="Asia/Kuala_Lumpur", currency="MYR")
    with fake.running():
        credentials = Credentials(fake.app_key, fake.app_secret, refresh_token=fake.grant(SELLER))
        connector = Lazada(credentials, api_base=fake.url, auth_base=fake.url)
        window = Window(dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 2))
        pages = connector.read_stream("listings", window, None, ctx)
        with pytest.raises(ApiError, match="6 products"):
            next(pages)  # before the first page: no partial snapshot
        connector.close()
    assert fake.product_offsets == [0]
