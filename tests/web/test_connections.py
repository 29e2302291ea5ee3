"""Store connections over HTTP, against the loopback fake platforms: authorise (start →
platform URL → callback with the fake's code), secrets encrypted at rest and never shown,
the state checked (only its starter may use it, once, within the hour), sync now through
the job runner, revoked and expired grants shown, disconnect, and who may do what."""

from __future__ import annotations

import datetime as dt
import html
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, text
from web_helpers import World, api_client, login, run_jobs

from lianxing.accounts.service import add_grant, add_user
from lianxing.db.models import AuditEntry
from lianxing.db.models_connectors import StoreConnection, SyncState
from lianxing.ingest.api.base import get_connector
from lianxing.ingest.sync import AUTHORISATION_TTL_SECONDS
from lianxing.stores import create_store
from lianxing.web.app import create_app
from lianxing.workspace import Workspace

sys.path.append(str(Path(__file__).resolve().parents[1] / "connectors"))
from fake_platforms.amazon_sp import FakeAmazonSP, published_limits
from fake_platforms.lazada import FakeLazada
from fake_platforms.lazada import make_orders as lazada_orders
from fake_platforms.shopee import FakeShopee
from fake_platforms.shopee import make_orders as shopee_orders

SELLER = "A1SELLERWEB"
SHOP = "880001"
LAZADA_SELLER = "MY5550001"
RECENT = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)  # inside a first sync's lookback
# The two flows run on SQLite and PostgreSQL; the rest on SQLite only, to stay quick.
SQLITE_ONLY = pytest.mark.parametrize("workspace_settings", ["sqlite"], indirect=True)


def _seller_a_store(world: World, platform: str, site: str) -> int:
    with world.ws.session() as s:
        return create_store(
            s, platform=platform, site=site, name=f"A {platform}", org_id=world.seller_a_org
        ).id


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _stored_text(ws: Workspace) -> str:
    """Every connection row and every audit entry, as the database holds them."""
    with ws.session() as s:
        rows = s.execute(text("SELECT * FROM store_connections")).all()
        audit = s.execute(text("SELECT * FROM audit_log")).all()
    return repr(rows) + repr(audit)


def _connection(ws: Workspace, store: int) -> StoreConnection | None:
    with ws.session() as s:
        return s.scalar(select(StoreConnection).where(StoreConnection.store_id == store))


def _connection_audit(ws: Workspace) -> list[tuple[str, str, str | None]]:
    """(actor, action, refusal reason) of every ``connection.*`` audit entry, in order."""
    with ws.session() as s:
        entries = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("connection.%"))
            .order_by(AuditEntry.seq)
        )
        return [(e.actor, e.action, e.data.get("reason")) for e in entries]


def _start_on_page(client: TestClient, csrf: str, store: int, fake: FakeAmazonSP) -> Response:
    """Post the connect form for SP-API against the running fake; the page that follows."""
    started = client.post(
        f"/stores/{store}/connections/start",
        data={
            "csrf_token": csrf,
            "connector": "amazon_sp",
            "app_key": fake.client_id,
            "app_secret": fake.client_secret,
            "account": "",
            "redirect_uri": "",
            "api_base": fake.url,
            "auth_base": fake.url,
        },
    )
    assert started.status_code == 200, started.text
    return started


def _section(page: str, connector: str) -> str:
    match = re.search(
        rf'<section class="card connection" id="connection-{connector}".*?</section>', page, re.S
    )
    assert match is not None, page
    return match.group(0)


def test_connect_through_the_page_then_revoked_grant_is_shown(world: World) -> None:
    store = world.store_a1
    client = TestClient(create_app(workspace=world.ws))
    csrf = login(client, world.emails["owner_a"])
    before = client.get(f"/stores/{store}/connections")
    assert before.status_code == 200
    assert 'data-status="not_connected"' in _section(before.text, "amazon_sp")
    assert 'data-status="not_connected"' in _section(before.text, "amazon_ads")
    fake = FakeAmazonSP(limits=published_limits(60.0))
    with fake.running():
        started = _start_on_page(client, csrf, store, fake)
        link = re.search(r'id="authorisation-link" href="([^"]+)"', started.text)
        assert link is not None
        url = html.unescape(link.group(1))
        assert url.startswith("https://sellercentral.amazon.com/apps/authorize/consent?")
        assert f'content="0; url={link.group(1)}"' in started.text  # the browser goes on
        query = _query(url)
        assert query["application_id"] == fake.client_id
        assert query["redirect_uri"] == "http://testserver/connect/callback"
        state = query["state"]
        assert len(state) >= 32
        assert fake.client_secret not in started.text
        pending = _connection(world.ws, store)
        assert pending is not None and pending.status == "pending"
        assert pending.oauth_state == state

        fake.codes["code-web"] = SELLER
        forged = client.get(
            f"/connect/callback?spapi_oauth_code=code-web&state=forged&selling_partner_id={SELLER}"
        )
        assert forged.status_code == 400 and "state" in forged.text
        missing = client.get("/connect/callback?spapi_oauth_code=code-web")
        assert missing.status_code == 400
        assert "code-web" in fake.codes  # nothing was exchanged
        done = client.get(
            f"/connect/callback?spapi_oauth_code=code-web&state={state}"
            f"&selling_partner_id={SELLER}",
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/stores/{store}/connections?message=connected"
        assert "code-web" not in fake.codes  # exchanged at the fake's LWA

        conn = _connection(world.ws, store)
        assert conn is not None and conn.status == "active" and conn.oauth_state is None
        assert conn.account["seller_id"] == SELLER
        [refresh] = fake.refresh_tokens
        stored = _stored_text(world.ws)
        assert fake.client_secret not in stored and refresh not in stored
        assert fake.last_access not in stored
        assert conn.refresh_token_enc is not None
        assert world.ws.cipher.decrypt(conn.refresh_token_enc.encode()).decode() == refresh
        assert world.ws.cipher.decrypt(conn.app_secret_enc.encode()).decode() == fake.client_secret

        shown = client.get(f"/stores/{store}/connections?message=connected")
        section = _section(shown.text, "amazon_sp")
        assert 'data-status="active"' in section and SELLER in section
        assert "已连接" in section and "sync-form" in section
        assert fake.client_secret not in shown.text and refresh not in shown.text
        assert 'data-status="not_connected"' in _section(shown.text, "amazon_ads")
        # A used state is spent: the same callback again is refused.
        assert client.get(f"/connect/callback?spapi_oauth_code=x&state={state}").status_code == 400

        # The seller withdraws the app; the next sync finds out and the page says so.
        fake.revoke()
        queued = client.post(
            f"/stores/{store}/connections/amazon_sp/sync",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert queued.headers["location"] == f"/stores/{store}/connections?message=sync_queued"
        assert run_jobs(world.ws) == 1
    revoked = _section(client.get(f"/stores/{store}/connections").text, "amazon_sp")
    assert 'data-status="revoked"' in revoked and "已撤销" in revoked
    assert "invalid_grant" in revoked  # the platform's reason
    assert "sync-form" not in revoked  # nothing to sync until authorised again
    assert "connect-form" in revoked


def test_api_flow_with_shopee_sync_now_and_disconnect(world: World) -> None:
    store = _seller_a_store(world, "shopee", "MY")
    start = int(RECENT.timestamp())
    fake = FakeShopee(limits={"*": (50.0, 10)}, orders={SHOP: shopee_orders(SHOP, 6, start)})
    owner = api_client(world, "owner_a")
    base = f"/api/v1/stores/{store}/connections"
    redirect = "https://seller.example/connect/callback"
    with fake.running():
        started = owner.post(
            base,
            json={
                "connector": "shopee",
                "app_key": fake.partner_id,
                "app_secret": fake.partner_key,
                "redirect_uri": redirect,
                "api_base": fake.url,
                "auth_base": fake.url,
            },
        )
        assert started.status_code == 201, started.text
        body = started.json()
        assert fake.partner_key not in started.text
        assert body["status"] == "pending" and body["redirect_uri"] == redirect
        url = body["authorisation_url"]
        assert url.startswith(f"{fake.url}/api/v2/shop/auth_partner?")
        query = _query(url)
        assert query["partner_id"] == fake.partner_id and query["sign"]
        # Shopee hands its `redirect` back untouched, with our state in it.
        assert query["redirect"].startswith(f"{redirect}?state=")
        state = _query(query["redirect"])["state"]

        fake.codes["shopee-code"] = SHOP
        wrong = owner.get(f"{base}/callback?code=shopee-code&shop_id={SHOP}&state=nope")
        assert wrong.status_code == 400 and "state" in wrong.json()["detail"]
        connected = owner.get(f"{base}/callback?code=shopee-code&shop_id={SHOP}&state={state}")
        assert connected.status_code == 200, connected.text
        assert connected.json()["status"] == "active"
        assert connected.json()["account"]["shop_id"] == SHOP

        sync = owner.post(f"{base}/shopee/sync", json={})
        assert sync.status_code == 202 and sync.json()["queued"] is True
        again = owner.post(f"{base}/shopee/sync", json={})  # the queued one, not a second
        assert again.status_code == 200 and again.json()["job"]["id"] == sync.json()["job"]["id"]
        assert run_jobs(world.ws) == 1
    status = owner.get(base)
    assert status.status_code == 200
    [shopee] = status.json()["connections"]
    assert shopee["status"] == "active" and shopee["sync_job"]["status"] == "done"
    streams = {s["stream"]: s for s in shopee["streams"]}
    assert set(streams) == {s.name for s in get_connector("shopee").streams}
    assert all(s["last_error"] is None and s["last_success_at"] for s in streams.values())
    assert all(0 <= s["lag_seconds"] < 900 for s in streams.values())
    assert streams["orders"]["rows_written"] > 0
    for secret in (fake.partner_key, *fake.refresh_tokens, *fake.access_tokens):
        assert secret not in status.text
    orders = world.ws.warehouse.table("orders")
    assert int(orders.filter(orders.store_id == store).count().execute()) == 6

    gone = owner.delete(f"{base}/shopee")
    assert gone.status_code == 200 and gone.json()["previous_status"] == "active"
    after = owner.get(base).json()["connections"]
    assert after[0]["status"] == "not_connected" and after[0]["streams"] == []
    with world.ws.session() as s:
        assert s.scalar(select(SyncState).where(SyncState.store_id == store)) is None
        actions = list(
            s.execute(text("SELECT actor, action FROM audit_log WHERE action LIKE 'connection.%'"))
        )
    assert ("user:owner@seller-a.test", "connection.authorise_start") in actions
    assert ("user:owner@seller-a.test", "connection.disconnect") in actions
    assert _connection(world.ws, store) is None
    # The facts already read stay.
    assert int(orders.filter(orders.store_id == store).count().execute()) == 6
    assert owner.delete(f"{base}/shopee").status_code == 404


@SQLITE_ONLY
def test_expired_authorisation_is_shown(world: World) -> None:
    store = _seller_a_store(world, "lazada", "MY")
    fake = FakeLazada(
        limits={"*": (50.0, 10)}, orders={LAZADA_SELLER: lazada_orders(LAZADA_SELLER, 3, RECENT)}
    )
    owner = api_client(world, "owner_a")
    base = f"/api/v1/stores/{store}/connections"
    with fake.running():
        started = owner.post(
            base,
            json={
                "app_key": fake.app_key,
                "app_secret": fake.app_secret,
                "api_base": fake.url,
                "auth_base": fake.url,
            },
        )
        assert started.status_code == 201, started.text
        query = _query(started.json()["authorisation_url"])
        assert started.json()["authorisation_url"].startswith(f"{fake.url}/oauth/authorize?")
        assert query["client_id"] == fake.app_key
        assert query["redirect_uri"] == "http://testserver/connect/callback"
        fake.codes["lazada-code"] = LAZADA_SELLER
        done = owner.get(f"{base}/callback?code=lazada-code&state={query['state']}")
        assert done.status_code == 200 and done.json()["status"] == "active", done.text
        # Thirty days on: the refresh token has run out and the platform refuses it.
        with world.ws.session() as s:
            conn = s.scalars(select(StoreConnection).where(StoreConnection.store_id == store)).one()
            conn.refresh_expires_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(
                hours=1
            )
        fake.revoke()
        assert owner.post(f"{base}/lazada/sync").status_code == 202
        assert run_jobs(world.ws) == 1
    [lazada] = owner.get(base).json()["connections"]
    assert lazada["status"] == "expired" and "IllegalRefreshToken" in lazada["status_reason"]
    client = TestClient(create_app(workspace=world.ws))
    login(client, world.emails["owner_a"])
    client.cookies.set("lx_lang", "en")
    page = _section(client.get(f"/stores/{store}/connections").text, "lazada")
    assert 'data-status="expired"' in page and ">expired<" in page
    assert "Authorise again" in page


def _start_body(fake_url: str) -> dict[str, Any]:
    return {"app_key": "k", "app_secret": "s3cret-value", "api_base": fake_url}


@SQLITE_ONLY
def test_only_manage_access_may_connect(world: World) -> None:
    store = world.store_a1
    base = f"/api/v1/stores/{store}/connections"
    body = _start_body("http://127.0.0.1:9")
    # A viewer of the seller and an agency with an operate grant see the status only.
    for user in ("viewer_a", "agency_ops"):
        client = api_client(world, user)
        assert client.get(base).status_code == 200
        refused = client.post(base, json=body)
        assert refused.status_code == 403, (user, refused.text)
        assert client.delete(f"{base}/amazon_sp").status_code == 403
        page = TestClient(create_app(workspace=world.ws))
        csrf = login(page, world.emails[user])
        shown = page.get(f"/stores/{store}/connections")
        assert shown.status_code == 200 and "connect-form" not in shown.text
        form = page.post(f"/stores/{store}/connections/start", data={"csrf_token": csrf, **body})
        assert form.status_code == 403
    assert api_client(world, "viewer_a").post(f"{base}/amazon_sp/sync").status_code == 403
    # Another seller does not even learn that the store exists.
    assert api_client(world, "owner_b").post(base, json=body).status_code == 404
    assert api_client(world, "owner_b").get(base).status_code == 404
    assert _connection(world.ws, store) is None  # no refused attempt stored anything

    # An agency admin reaches a store only once the seller grants it manage access.
    with world.ws.session() as s:
        add_user(
            s,
            email="admin@agency.test",
            password="correct horse battery",
            org_id=world.agency_org,
            role="admin",
            actor="test",
        )
    agency = TestClient(create_app(workspace=world.ws))
    agency_csrf = login(agency, "admin@agency.test")
    a2 = f"/api/v1/stores/{world.store_a2}/connections"
    headers = {"X-CSRF-Token": agency_csrf}
    assert agency.post(a2, json=body, headers=headers).status_code == 404
    with world.ws.session() as s:
        add_grant(
            s,
            agency_org_id=world.agency_org,
            store_id=world.store_a2,
            scope="manage",
            expires_at=None,
            actor="test",
        )
    assert agency.post(a2, json=body).status_code == 403  # a session write needs the CSRF header
    granted = agency.post(a2, json=body, headers=headers)
    assert granted.status_code == 201, granted.text
    assert "s3cret-value" not in granted.text


@SQLITE_ONLY
def test_hosts_of_a_connection_holding_tokens_cannot_be_switched(world: World) -> None:
    """Re-pointing a connected store at other hosts would send its tokens there."""
    store = world.store_a2
    fake = FakeAmazonSP(limits=published_limits(60.0))
    owner = api_client(world, "owner_a")
    base = f"/api/v1/stores/{store}/connections"
    with fake.running():
        body = {**_start_body(fake.url), "auth_base": fake.url}
        body.update(app_key=fake.client_id, app_secret=fake.client_secret)
        state = _query(owner.post(base, json=body).json()["authorisation_url"])["state"]
        fake.codes["c"] = SELLER
        assert owner.get(f"{base}/callback?spapi_oauth_code=c&state={state}").status_code == 200
    moved = owner.post(base, json={**body, "api_base": "http://127.0.0.1:9"})
    assert moved.status_code == 409
    conn = _connection(world.ws, store)
    assert conn is not None and conn.api_base_url == fake.url and conn.status == "active"
    bad = owner.post(base, json={**body, "redirect_uri": "javascript:alert(1)"})
    assert bad.status_code == 422


ADMIN_A = "admin@seller-a.test"


def _add_seller_a_admin(world: World) -> None:
    """A second user of seller A who may manage its stores too."""
    with world.ws.session() as s:
        add_user(
            s,
            email=ADMIN_A,
            password="correct horse battery",
            org_id=world.seller_a_org,
            role="admin",
            actor="test",
        )


def _browser(world: World, email: str) -> TestClient:
    client = TestClient(create_app(workspace=world.ws))
    login(client, email)
    return client


def test_only_the_session_that_started_an_authorisation_finishes_it_once(world: World) -> None:
    """OAuth CSRF: a callback URL carrying a live state, opened in another user's browser
    (same seller or another), in another login session of the same user, or relayed with
    an API token, connects nothing and is audited; the starting session finishes it, once."""
    store = world.store_a1
    _add_seller_a_admin(world)
    starter = TestClient(create_app(workspace=world.ws))
    csrf = login(starter, world.emails["owner_a"])
    fake = FakeAmazonSP(limits=published_limits(60.0))
    with fake.running():
        started = _start_on_page(starter, csrf, store, fake)
        link = re.search(r'id="authorisation-link" href="([^"]+)"', started.text)
        assert link is not None
        state = _query(html.unescape(link.group(1)))["state"]
        fake.codes["code-csrf"] = SELLER
        callback = (
            f"/connect/callback?spapi_oauth_code=code-csrf&state={state}"
            f"&selling_partner_id={SELLER}"
        )

        others = {
            "admin of the same seller": _browser(world, ADMIN_A),
            "the same user, another login": _browser(world, world.emails["owner_a"]),
            "owner of another seller": _browser(world, world.emails["owner_b"]),
        }
        for who, browser in others.items():
            refused = browser.get(callback, follow_redirects=False)
            assert refused.status_code == 403, (who, refused.text)
            assert "started by another user or in another session" in refused.text, who
            assert "该授权由其他用户或在其他会话中发起" in refused.text, who
        api = f"/api/v1/stores/{store}/connections/callback"
        query = f"spapi_oauth_code=code-csrf&state={state}"
        # The same user's API token did not start it either (a browser session did).
        relayed = api_client(world, "owner_a").get(f"{api}?{query}")
        assert relayed.status_code == 403 and "another session" in relayed.json()["detail"]
        # Another seller's token does not even learn that the store exists.
        assert api_client(world, "owner_b").get(f"{api}?{query}").status_code == 404

        assert "code-csrf" in fake.codes  # no code was exchanged
        pending = _connection(world.ws, store)
        assert pending is not None and pending.status == "pending"
        assert pending.access_token_enc is None and pending.refresh_token_enc is None
        assert pending.oauth_state == state  # still the starter's to finish
        refusals = [entry for entry in _connection_audit(world.ws) if entry[2] is not None]
        assert refusals == [
            ("user:admin@seller-a.test", "connection.authorise_refused", "other_starter"),
            ("user:owner@seller-a.test", "connection.authorise_refused", "other_starter"),
            ("user:owner@seller-b.test", "connection.authorise_refused", "other_starter"),
            ("user:owner@seller-a.test", "connection.authorise_refused", "other_starter"),
        ]

        done = starter.get(callback, follow_redirects=False)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/stores/{store}/connections?message=connected"
        assert "code-csrf" not in fake.codes
        conn = _connection(world.ws, store)
        assert conn is not None and conn.status == "active" and conn.account["seller_id"] == SELLER
        assert conn.oauth_state is None and conn.oauth_started_by is None
        # The successful flow audits what it always did: the start and the tokens.
        assert [e for e in _connection_audit(world.ws) if e[2] is None] == [
            ("user:owner@seller-a.test", "connection.authorise_start", None),
            ("user:owner@seller-a.test", "connection.tokens", None),
        ]

        # Spent: the starter replaying it, or anyone else, is refused and changes nothing.
        fake.codes["code-replay"] = SELLER
        replay = callback.replace("code-csrf", "code-replay")
        again = starter.get(replay, follow_redirects=False)
        assert again.status_code == 400 and "already used" in again.text
        assert others["admin of the same seller"].get(replay).status_code == 400
        assert "code-replay" in fake.codes
    assert _connection_audit(world.ws)[-2:] == [
        ("user:owner@seller-a.test", "connection.authorise_refused", "unknown"),
        ("user:admin@seller-a.test", "connection.authorise_refused", "unknown"),
    ]
    conn = _connection(world.ws, store)
    assert conn is not None and conn.status == "active"


@SQLITE_ONLY
def test_expired_state_is_refused_and_a_token_start_finishes_in_the_users_browser(
    world: World,
) -> None:
    store = _seller_a_store(world, "lazada", "MY")
    fake = FakeLazada(limits={"*": (50.0, 10)})
    owner = api_client(world, "owner_a")
    base = f"/api/v1/stores/{store}/connections"
    with fake.running():
        body = {
            "app_key": fake.app_key,
            "app_secret": fake.app_secret,
            "api_base": fake.url,
            "auth_base": fake.url,
        }
        state = _query(owner.post(base, json=body).json()["authorisation_url"])["state"]
        # The seller took more than the hour: the same authorisation, issued that long ago.
        issued, _, nonce = state.partition(".")
        aged = f"{int(issued) - AUTHORISATION_TTL_SECONDS - 60}.{nonce}"
        with world.ws.session() as s:
            row = s.scalars(select(StoreConnection).where(StoreConnection.store_id == store)).one()
            row.oauth_state = aged
        fake.codes["lazada-late"] = LAZADA_SELLER
        late = owner.get(f"{base}/callback?code=lazada-late&state={aged}")
        assert late.status_code == 400, late.text
        assert "more than 60 minutes ago" in late.json()["detail"]
        assert "授权发起已超过 60 分钟" in late.json()["detail"]
        browser = _browser(world, world.emails["owner_a"])
        assert browser.get(f"/connect/callback?code=lazada-late&state={aged}").status_code == 400
        assert "lazada-late" in fake.codes
        conn = _connection(world.ws, store)
        assert conn is not None and conn.status == "pending" and conn.access_token_enc is None
        assert [e[2] for e in _connection_audit(world.ws)[-2:]] == ["expired", "expired"]

        # Started again with the owner's API token, the owner's browser may finish it (a
        # script starts, the seller's login comes back to /connect/callback); a colleague's
        # browser may not.
        state = _query(owner.post(base, json=body).json()["authorisation_url"])["state"]
        fake.codes["lazada-code"] = LAZADA_SELLER
        callback = f"/connect/callback?code=lazada-code&state={state}"
        _add_seller_a_admin(world)
        assert _browser(world, ADMIN_A).get(callback).status_code == 403
        done = browser.get(callback, follow_redirects=False)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/stores/{store}/connections?message=connected"
    conn = _connection(world.ws, store)
    assert conn is not None and conn.status == "active"
