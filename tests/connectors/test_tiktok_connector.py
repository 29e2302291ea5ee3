"""TikTok Shop connector end to end against a loopback fake: authorise (code → tokens →
the shop's cipher), exact signatures, page_token paging, 429 + Retry-After, token expiry
mid-sync, and a crash (SIGKILL) mid-sync resumed with no gap or duplicate; returns,
finance statements and products mapped to exactly the facts worked out from the fake's
payloads, re-read without duplicates, and the KPIs computed from them."""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest
from fake_platforms.tiktok import (
    FakeTikTok,
    make_orders,
    make_products,
    make_returns,
    make_statements,
)
from helpers import add_store, fact_counts
from kpis import store_kpis

from lianxing.ingest.api.base import Page, Window
from lianxing.ingest.api.http import ApiError
from lianxing.ingest.api.tiktok import tiktok_sign
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.sync import (
    ConnectorOptions,
    build_connector,
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


# -- returns, finances, listings --------------------------------------------------------------

ORDER = "5760000000000000"  # + two digits: the id of make_orders' order number n
REASON = "ecom_order_delivered_refund_and_return_reason_wrong_item"
UTC = dt.datetime
# Mapping and paging do not depend on the backend (the end-to-end tests cover both).
SQLITE_ONLY = pytest.mark.parametrize("workspace_settings", ["sqlite"], indirect=True)


def _shop_fake(page_size: int, **page_sizes: int) -> FakeTikTok:
    orders = make_orders(25, START)
    shop = SHOP["id"]
    return FakeTikTok(
        limits={"*": (10.0 * SCALE, 10)},
        page_size=page_size,
        page_sizes=page_sizes,
        shops=[SHOP],
        orders={shop: orders},
        returns={shop: make_returns(orders)},
        statements={shop: make_statements(orders)},
        products={shop: make_products(int(dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp()))},
    )


def _rows(workspace: Workspace, table: str, store: int, *columns: str) -> set[tuple[Any, ...]]:
    t = workspace.warehouse.table(table)
    found = t.filter(t.store_id == store).select(*columns).to_pyarrow().to_pylist()
    return {tuple(row[c] for c in columns) for row in found}


def test_returns_become_refunds_and_returned_units(workspace: Workspace) -> None:
    store = add_store(workspace, "tiktok", "US", "tiktok us")
    fake = _shop_fake(page_size=10, return_orders=2)
    with fake.running():
        _authorise(workspace, fake, store, "7494")
        [orders] = sync_store(workspace, store, SINCE, streams=["orders"], options=OPTIONS)
        fake.throttle_next(1, retry_after=0.2)
        fake.expire_tokens_after(1)
        [result] = sync_store(workspace, store, SINCE, streams=["returns"], options=OPTIONS)
        assert orders.status == "succeeded" and result.status == "succeeded", result.as_json()
        # 5 returns, 2 a page: 3 searches, plus the throttled one and the one that met the
        # expired token (both repeated).
        assert fake.count("SearchReturns") == 3 + 1 + 1
        assert result.throttled == 1 and result.token_refreshes == 1
        assert fake.bad_signatures == 0 and fake.violations == 0
        refund_columns = ("refund_id", "order_id", "sku", "refund_ts", "amount", "currency")
        # Refunded: order 1 (both items, 18.00 + 15.50; shipping refunded but not counted)
        # and order 6 (a refund without return of TT-A); refunded a day after opening.
        assert _rows(workspace, "refunds", store, *refund_columns, "reason") == {
            (
                "4035000001",
                ORDER + "01",
                None,
                UTC(2026, 10, 5, 9),
                Decimal("33.50"),
                "USD",
                REASON,
            ),
            (
                "4035000006",
                ORDER + "06",
                "TT-A",
                UTC(2026, 10, 5, 14),
                Decimal("18.00"),
                "USD",
                REASON,
            ),
        }
        return_columns = ("return_id", "order_id", "sku", "return_ts", "quantity", "disposition")
        # Goods going back: order 1 (both), order 11 (awaiting shipment); order 16's was
        # cancelled (0 units). Order 21's request was rejected before any goods moved.
        assert _rows(workspace, "returns", store, *return_columns) == {
            (
                "4035000001:1729001",
                ORDER + "01",
                "TT-A",
                UTC(2026, 10, 4, 9),
                1,
                "return_or_refund_request_complete",
            ),
            (
                "4035000001:1730001",
                ORDER + "01",
                "TT-B",
                UTC(2026, 10, 4, 9),
                1,
                "return_or_refund_request_complete",
            ),
            (
                "4035000011:1730001",
                ORDER + "11",
                "TT-B",
                UTC(2026, 10, 4, 19),
                1,
                "awaiting_buyer_ship",
            ),
            (
                "4035000016:1729001",
                ORDER + "16",
                "TT-A",
                UTC(2026, 10, 5, 0),
                0,
                "return_or_refund_request_cancel",
            ),
        }
        # GMV: 20 live orders x 35.50 = 710.00; units 20 x 2 = 40.
        kpis = store_kpis(workspace, store, "2026-10", "refund_rate", "return_rate")
        assert kpis["refund_rate"] == pytest.approx((33.50 + 18.00) / 710.00, rel=1e-12)
        assert kpis["return_rate"] == pytest.approx(3 / 40, rel=1e-12)

        # The buyer of order 11 never ships: the return is cancelled an hour ago, inside the
        # next run's overlap window, and its unit is withdrawn.
        late = fake.returns[SHOP["id"]][2]
        late.update(
            return_status="RETURN_OR_REFUND_REQUEST_CANCEL", update_time=int(time.time()) - 3600
        )
        [again] = sync_store(workspace, store, streams=["returns"], options=OPTIONS)
        # And a full re-read of the window merges by key.
        [full] = sync_store(workspace, store, SINCE, streams=["returns"], options=OPTIONS)
    assert again.status == "succeeded" and full.status == "succeeded"
    assert again.streams[0].records == 1
    assert fact_counts(workspace, "returns", store) == (4, 4)
    assert fact_counts(workspace, "refunds", store) == (2, 2)
    assert store_kpis(workspace, store, "2026-10", "return_rate") == {
        "return_rate": pytest.approx(2 / 40, rel=1e-12)
    }


def _fee_ids(chunks: list[tuple[str, Any]]) -> list[str]:
    return [fee for table, data in chunks if table == "fees" for fee in data["fee_id"].to_pylist()]


@SQLITE_ONLY
def test_statements_become_fees_and_resume_from_every_checkpoint(workspace: Workspace) -> None:
    store = add_store(workspace, "tiktok", "US", "tiktok us")
    fake = _shop_fake(page_size=5)
    with fake.running():
        _authorise(workspace, fake, store, "7494")
        fake.throttle_next(1, retry_after=0.2)
        fake.expire_tokens_after(2)
        [result] = sync_store(workspace, store, SINCE, streams=["finances"], options=OPTIONS)
        [full] = sync_store(workspace, store, SINCE, streams=["finances"], options=OPTIONS)
        calls = fake.count("GetStatements"), fake.count("GetStatementTransactions")
        pages = _finance_pages_resumed(workspace, store)
    assert result.status == "succeeded" and full.status == "succeeded", result.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert result.throttled == 1 and result.token_refreshes == 1
    # 2 statements on one page (1 call + the throttled one); transactions 5 a page: the
    # first statement's 16 (13 orders + 3 adjustments) in 4 pages, the second's 7 in 2, and
    # the 2nd page repeated after the expired token. The full re-read: 1 + 6 again.
    assert calls == (1 + 1 + 1, 6 + 1 + 6)
    assert result.streams[0].records == 16 + 7
    # 20 settled orders: referral, transaction fee and shipping each, affiliate commission
    # on the 10 even-numbered ones; one platform penalty. Platform commission is 0 (US);
    # ads paid from GMV and a reimbursement are not fees.
    assert fact_counts(workspace, "fees", store) == (71, 71)
    fees = workspace.warehouse.table("fees")
    mine = fees.filter(fees.store_id == store)
    totals = mine.group_by("fee_type").aggregate(total=mine.amount.sum(), n=mine.count()).execute()
    assert {r.fee_type: (Decimal(r.total), r.n) for r in totals.itertuples()} == {
        "referral": (Decimal("56.80"), 20),
        "transaction": (Decimal("21.20"), 20),
        "shipping": (Decimal("84.00"), 20),
        "affiliate_commission": (Decimal("35.50"), 10),
        "platform_penalty": (Decimal("5.00"), 1),
    }
    columns = ("fee_id", "posted_ts", "order_id", "fee_type", "amount", "currency")
    picked = {
        "T0000:referral",
        "T0016:shipping",
        "T0001:affiliate_commission",
        "A0001:platform_penalty",
    }
    assert {r for r in _rows(workspace, "fees", store, *columns) if r[0] in picked} == {
        ("T0000:referral", UTC(2026, 10, 9), ORDER + "00", "referral", Decimal("2.84"), "USD"),
        ("T0016:shipping", UTC(2026, 10, 10), ORDER + "16", "shipping", Decimal("4.20"), "USD"),
        (
            "A0001:platform_penalty",
            UTC(2026, 10, 9),
            ORDER + "02",
            "platform_penalty",
            Decimal("5.00"),
            "USD",
        ),
    }
    assert len(pages) == 4 + 2 and pages[-1].position is None
    assert len({fee for page in pages for fee in _fee_ids(page.chunks)}) == 71


def _finance_pages_resumed(workspace: Workspace, store: int) -> list[Page]:
    """The finances of October page by page, after checking that the position every page
    leaves behind resumes with exactly the pages after it."""
    window = Window(UTC(2026, 10, 1), UTC(2026, 11, 1))
    ctx = ImportContext(file="api", store_id=store, currency="USD")
    connector = build_connector(workspace, store, options=OPTIONS)
    try:
        pages = list(connector.read_stream("finances", window, None, ctx))
        for n, page in enumerate(pages[:-1]):
            assert page.position is not None
            rest = list(connector.read_stream("finances", window, page.position, ctx))
            assert [_fee_ids(p.chunks) for p in rest] == [
                _fee_ids(p.chunks) for p in pages[n + 1 :]
            ]
    finally:
        connector.close()
    return pages


@SQLITE_ONLY
def test_products_become_a_listings_snapshot(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = add_store(workspace, "tiktok", "US", "tiktok us")
    fake = _shop_fake(page_size=4)
    with fake.running():
        _authorise(workspace, fake, store, "7494")
        # 03:00 and 04:00 UTC on 10-20 are 20:00 and 21:00 PDT on 10-19.
        monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: dt.datetime(2026, 10, 20, 3))
        [result] = sync_store(workspace, store, streams=["listings"], options=OPTIONS)
        monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: dt.datetime(2026, 10, 20, 4))
        [again] = sync_store(workspace, store, streams=["listings"], options=OPTIONS)
    assert result.status == "succeeded" and again.status == "succeeded", result.as_json()
    assert fake.count("SearchProducts") == 2 + 2  # 6 products, 4 a page, each run
    assert fake.bad_signatures == 0
    # Both snapshots are the store's day 10-19 (not the UTC day 10-20): the second replaces
    # the first.
    day = dt.date(2026, 10, 19)
    created = UTC(2026, 9, 1)
    columns = ("sku", "snapshot_date", "platform_item_id", "title", "status", "created_ts", "price")
    # TT-B is out of stock: inactive like Amazon's out-of-stock offers; the draft (TT-E)
    # is no listing; the SKU without seller SKU is named by its id.
    assert _rows(workspace, "listings", store, *columns, "currency") == {
        ("TT-A", day, "1729001", "product A", "active", created, Decimal("20.00"), "USD"),
        (
            "TT-B",
            day,
            "1730001",
            "product B",
            "inactive",
            created + dt.timedelta(days=1),
            Decimal("15.50"),
            "USD",
        ),
        (
            "TT-B2",
            day,
            "1730002",
            "product B",
            "active",
            created + dt.timedelta(days=1),
            Decimal("16.50"),
            "USD",
        ),
        (
            "TT-C",
            day,
            "1731001",
            "product C",
            "inactive",
            created + dt.timedelta(days=2),
            Decimal("9.99"),
            "USD",
        ),
        (
            "1732001",
            day,
            "1732001",
            "product D",
            "suppressed",
            created + dt.timedelta(days=3),
            Decimal("5.00"),
            "USD",
        ),
        (
            "TT-F",
            day,
            "1734001",
            "product F",
            "suppressed",
            created + dt.timedelta(days=5),
            Decimal("12.00"),
            "USD",
        ),
    }
    assert fact_counts(workspace, "listings", store) == (6, 6)
    assert store_kpis(workspace, store, f"{day:%Y-%m}", "live_skus") == {"live_skus": 2}
