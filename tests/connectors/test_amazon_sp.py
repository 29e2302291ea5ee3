"""Amazon SP-API connector against a loopback fake: LWA, paging, and the same facts as files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fake_platforms.amazon_sp import FakeAmazonSP, published_limits
from helpers import DATA, add_store, sp_api_orders

from lianxing.ingest.service import import_file
from lianxing.ingest.sync import (
    ConnectorOptions,
    complete_authorisation,
    connect_with_refresh_token,
    start_authorisation,
    sync_status,
    sync_store,
)
from lianxing.workspace import Workspace

SELLER = "A1SELLERTEST"
SINCE = dt.date(2026, 9, 30)
SCALE = 60.0  # published limits x 60 on both sides, so a test runs in seconds
FAST = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01}, poll_interval=0.01)


def _rows(workspace: Workspace, table: str, store_id: int) -> list[dict[str, Any]]:
    t = workspace.warehouse.table(table)
    df = t.filter(t.store_id == store_id).drop("store_id", "source", "batch_id").to_pyarrow()
    key = ["order_id", "line_id"] if table == "order_lines" else ["order_id"]
    return sorted(df.to_pylist(), key=lambda r: [r[k] for k in key])


def _connect(workspace: Workspace, fake: FakeAmazonSP, store_id: int) -> None:
    connect_with_refresh_token(
        workspace,
        store_id,
        app_key=fake.client_id,
        app_secret=fake.client_secret,
        refresh_token=fake.grant(SELLER),
        account={"seller_id": SELLER},
        api_base=fake.url,
        auth_base=fake.url,
    )


def test_orders_by_api_are_the_all_orders_facts(workspace: Workspace) -> None:
    file_store = add_store(workspace, "amazon", "US", "file")
    api_store = add_store(workspace, "amazon", "US", "api")
    import_file(workspace, DATA / "amazon_all_orders.txt", file_store)
    fake = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    with fake.running():
        _connect(workspace, fake, api_store)
        [result] = sync_store(workspace, api_store, SINCE, streams=["orders"], options=FAST)
        # The same orders synced into the store that imported the file change nothing.
        _connect(workspace, fake, file_store)
        [again] = sync_store(workspace, file_store, SINCE, streams=["orders"], options=FAST)
    assert result.status == "succeeded", result.as_json()
    assert result.streams[0].records == 4
    assert fake.count("getOrders") * 2 == 4 * 2 // 2 * 2  # 2 pages of 2 orders, per sync
    assert fake.violations == 0
    assert _rows(workspace, "orders", api_store) == _rows(workspace, "orders", file_store)
    assert _rows(workspace, "order_lines", api_store) == _rows(workspace, "order_lines", file_store)
    lines = {r["line_id"]: r for r in _rows(workspace, "order_lines", api_store)}
    assert lines["10000000000001"]["promotion_discount"] == Decimal("5.0000")
    assert lines["10000000000002"]["promotion_discount"] == Decimal("4.9900")
    assert lines["10000000000004"]["item_price"] is None  # pending: not priced yet
    stats = again.streams[0].tables
    assert stats["orders"].unchanged == 4 and stats["orders"].new == 0
    assert stats["order_lines"].unchanged == 5 and stats["order_lines"].updated == 0


def test_token_expiry_mid_sync_and_throttling(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    fake = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    with fake.running():
        _connect(workspace, fake, store)
        fake.expire_tokens_after(3)  # the 4th data call finds its token expired
        fake.throttle_next(1, retry_after=1)
        started = dt.datetime.now()
        [result] = sync_store(workspace, store, SINCE, streams=["orders"], options=FAST)
        elapsed = (dt.datetime.now() - started).total_seconds()
    assert result.status == "succeeded", result.as_json()
    assert fake.token_expiries == 1 and result.token_refreshes == 1
    assert result.throttled == 1 and elapsed >= 1.0  # waited out Retry-After: 1
    assert len(_rows(workspace, "order_lines", store)) == 5
    [status] = sync_status(workspace, store)
    assert status["status"] == "active"
    [orders] = status["streams"]
    assert orders["last_error"] is None and orders["lag_seconds"] < 600


def test_revoked_grant_is_shown_and_stops_sync(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    fake = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    with fake.running():
        _connect(workspace, fake, store)
        fake.revoke()
        [result] = sync_store(workspace, store, SINCE, streams=["orders"], options=FAST)
        [again] = sync_store(workspace, store, SINCE, streams=["orders"], options=FAST)
    assert result.status == "revoked"
    assert again.status == "revoked" and again.streams == []
    [status] = sync_status(workspace, store)
    assert status["status"] == "revoked" and "invalid_grant" in status["status_reason"]


def test_authorisation_code_flow(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    fake = FakeAmazonSP(limits=published_limits(SCALE))
    with fake.running():
        url = start_authorisation(
            workspace,
            store,
            app_key=fake.client_id,
            app_secret=fake.client_secret,
            api_base=fake.url,
            auth_base=fake.url,
            redirect_uri="https://app.example/cb",
        )
        assert url.startswith("https://sellercentral.amazon.com/apps/authorize/consent?")
        state = url.split("state=")[1].split("&")[0]
        fake.codes["code-123"] = SELLER
        with pytest.raises(ValueError, match="state"):
            complete_authorisation(
                workspace, store, {"spapi_oauth_code": "code-123", "state": "forged"}
            )
        view = complete_authorisation(
            workspace,
            store,
            {"spapi_oauth_code": "code-123", "state": state, "selling_partner_id": SELLER},
            redirect_uri="https://app.example/cb",
        )
    assert view["status"] == "active" and view["account"]["seller_id"] == SELLER
    with workspace.session() as session:
        from lianxing.db.models_connectors import StoreConnection

        conn = session.query(StoreConnection).one()
        # Encrypted at rest: neither secret nor token appears in the row.
        assert "lwa-secret" not in conn.app_secret_enc
        assert conn.refresh_token_enc is not None and "rt-" not in conn.refresh_token_enc
        assert workspace.cipher.decrypt(conn.refresh_token_enc.encode()).decode().startswith("rt-")
