"""One Amazon store with two connections, SP-API and Ads: connecting Ads leaves the SP-API
connection alone, one sync fills orders and ads of the same store, ``sync status`` lists
both, and a revoked grant stops only its own connection."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from decimal import Decimal
from pathlib import Path

from fake_platforms.amazon_ads import FakeAmazonAds
from fake_platforms.amazon_sp import FakeAmazonSP, published_limits
from helpers import add_store, fact_counts, sp_api_orders
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.models_connectors import StoreConnection
from lianxing.ingest.sync import ConnectorOptions, sync_status, sync_store
from lianxing.workspace import Workspace

SELLER = "A1SELLERTEST"
OWNER = "ADV1"
SINCE = dt.date(2026, 9, 30)
SCALE = 60.0  # published limits x 60 on the fakes and the clients
OPTIONS = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01}, poll_interval=0.01)
STREAMS = ["orders", "sponsored_products", "sponsored_brands", "sponsored_display"]


def _fakes() -> tuple[FakeAmazonSP, FakeAmazonAds]:
    sp = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    profile = {
        "profileId": 3001,
        "countryCode": "US",
        "currencyCode": "USD",
        "timezone": "America/Los_Angeles",
        "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": "A1", "type": "seller"},
    }
    ads = FakeAmazonAds(
        limits={"createReport": (1.0 * SCALE, 5), "getReport": (5.0 * SCALE, 10)},
        profiles={OWNER: [profile]},
    )
    return sp, ads


def _sp_connection(workspace: Workspace, store: int) -> tuple[str, str | None, str]:
    """(status, decrypted refresh token, seller id) of the store's SP-API connection."""
    with workspace.session() as session:
        conn = session.query(StoreConnection).filter_by(store_id=store, connector="amazon_sp").one()
        assert conn.refresh_token_enc is not None
        token = workspace.cipher.decrypt(conn.refresh_token_enc.encode()).decode()
        return conn.status, token, conn.account["seller_id"]


def _connect_both(
    workspace: Workspace, sp: FakeAmazonSP, ads: FakeAmazonAds, store: int, tmp_path: Path
) -> None:
    runner = CliRunner()
    token_file = tmp_path / "sp-refresh.txt"
    sp_refresh = sp.grant(SELLER)
    token_file.write_text(sp_refresh + "\n")
    secret = {"LIANXING_APP_SECRET": sp.client_secret}
    hosts = ["--api-base", sp.url, "--auth-base", sp.url]
    connected = runner.invoke(
        app,
        [
            *["connect", "--store", str(store), "--app-key", sp.client_id, "--token-file"],
            *[str(token_file), "--account", f"seller_id={SELLER}", *hosts, "--json"],
        ],
        env=secret,
    )
    assert connected.exit_code == 0, connected.output
    assert json.loads(connected.stdout)["connector"] == "amazon_sp"  # the platform's default
    before = _sp_connection(workspace, store)
    assert before == ("active", sp_refresh, SELLER)

    # Ads: start (prints the consent URL), then finish with the callback alone; its state
    # picks the Ads connection among the store's two.
    hosts = ["--api-base", ads.url, "--auth-base", ads.url]
    started = runner.invoke(
        app,
        [
            *["connect", "--store", str(store), "--connector", "amazon_ads", "--app-key"],
            *[ads.client_id, *hosts],
        ],
        env={"LIANXING_APP_SECRET": ads.client_secret},
    )
    assert started.exit_code == 0, started.output
    consent = started.stdout.strip().splitlines()[-1]
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(consent).query))["state"]
    ads.codes["ads-code"] = OWNER
    callback = f"https://app.example/cb?code=ads-code&state={state}"
    finished = runner.invoke(app, ["connect", "--store", str(store), "--callback", callback])
    assert finished.exit_code == 0, finished.output
    assert "amazon_ads (active)" in finished.stdout
    # The SP-API connection is untouched: same status, refresh token and account.
    assert _sp_connection(workspace, store) == before


def test_one_store_syncs_sp_api_and_ads(workspace: Workspace, tmp_path: Path) -> None:
    store = add_store(workspace, "amazon", "US", "amazon us sp+ads")
    sp, ads = _fakes()
    with sp.running(), ads.running():
        _connect_both(workspace, sp, ads, store, tmp_path)
        results = sync_store(workspace, store, SINCE, streams=STREAMS, options=OPTIONS)
        # Revoking the SP-API grant stops that connection only.
        sp.revoke()
        after_revoke = sync_store(workspace, store, streams=STREAMS, options=OPTIONS)
    by_connector = {r.connector: r for r in results}
    assert list(by_connector) == ["amazon_ads", "amazon_sp"]  # connector order
    assert all(r.status == "succeeded" for r in results), [r.as_json() for r in results]
    assert [s.stream for s in by_connector["amazon_sp"].streams] == ["orders"]
    assert [s.stream for s in by_connector["amazon_ads"].streams] == STREAMS[1:]
    assert sp.violations == ads.violations == 0
    assert sp.bad_signatures == ads.bad_signatures == 0

    # Both into the same store: 4 orders with 5 lines (the SP-API fixture), and 20 active
    # days x (2 SP + 1 SB + 1 SD campaigns) of ads.
    assert fact_counts(workspace, "orders", store) == (4, 4)
    assert fact_counts(workspace, "order_lines", store) == (5, 5)
    assert fact_counts(workspace, "ad_daily", store) == (80, 80)
    ad = workspace.warehouse.table("ad_daily")
    cost = ad.filter(ad.store_id == store).cost.sum().execute()
    assert Decimal(cost) == Decimal("1050.00")  # 20 x (25 + 12.5 + 10 + 5)

    statuses = {r.connector: r.status for r in after_revoke}
    assert statuses == {"amazon_ads": "succeeded", "amazon_sp": "revoked"}
    rows = {row["connector"]: row for row in sync_status(workspace, store)}
    assert (rows["amazon_sp"]["status"], rows["amazon_ads"]["status"]) == ("revoked", "active")
    assert "invalid_grant" in rows["amazon_sp"]["status_reason"]

    runner = CliRunner()
    shown = runner.invoke(app, ["sync", "status", "--store", str(store), "--json"])
    assert shown.exit_code == 0, shown.output
    listed = {
        (c["store"], c["connector"], s["stream"])
        for c in json.loads(shown.stdout)["connections"]
        for s in c["streams"]
    }
    assert listed == {(store, "amazon_sp", "orders")} | {
        (store, "amazon_ads", name) for name in STREAMS[1:]
    }
    table = runner.invoke(app, ["sync", "status"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "amazon_sp (revoked)" in table.stdout and "amazon_ads (active)" in table.stdout
    assert table.stdout.count("amazon_ads (active)") == 3  # one row per stream

    # --connector picks one connection; the revoked one is reported without a request.
    only_sp = runner.invoke(
        app, ["sync", "--store", str(store), "--connector", "amazon_sp"], env={"COLUMNS": "200"}
    )
    assert only_sp.exit_code == 1 and "revoked" in only_sp.stdout
    unknown = runner.invoke(app, ["sync", "--store", str(store), "--connector", "ebay"])
    assert unknown.exit_code == 2 and "unknown connector 'ebay'" in unknown.output


def test_second_connector_needs_naming_when_ambiguous(workspace: Workspace, tmp_path: Path) -> None:
    """With two connections, an unnamed ``build``/``complete`` cannot guess: a callback
    without state is refused with the connectors named."""
    store = add_store(workspace, "amazon", "US", "amazon us two")
    sp, ads = _fakes()
    with sp.running(), ads.running():
        _connect_both(workspace, sp, ads, store, tmp_path)
    runner = CliRunner()
    stateless = runner.invoke(
        app, ["connect", "--store", str(store), "--callback", "https://x/cb?code=zzz"]
    )
    assert stateless.exit_code == 2
    assert "2 connections (amazon_ads, amazon_sp)" in stateless.output
