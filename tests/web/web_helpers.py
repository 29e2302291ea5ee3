"""A small multi-tenant world for the web tests: two sellers, an agency, grants of every kind.

Facts come in through the real importer, from Amazon All Orders files written here, so
the expected KPI values can be computed by hand from the rows below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from lianxing.accounts.service import add_grant, add_user, create_org
from lianxing.db.models import AccessGrant, User
from lianxing.domain.time import utcnow
from lianxing.ingest.service import import_file
from lianxing.jobs.runner import EmbeddedRunner
from lianxing.stores import create_store
from lianxing.web.app import create_app
from lianxing.web.auth import create_api_token
from lianxing.workspace import Workspace

HEADER = (
    "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsku\tasin\tquantity"
    "\tcurrency\titem-price\titem-tax\tshipping-price\tship-country"
)
PASSWORD = "correct horse battery"
PERIOD = "2026-09"


def all_orders_file(path: Path, orders: list[tuple[str, str, str, int, str]]) -> Path:
    """(order id, purchase ts, status, quantity, item price) -> an All Orders report."""
    lines = [HEADER]
    for order_id, ts, status, qty, price in orders:
        lines.append(
            f"{order_id}\t{ts}\t{status}\tAmazon\tSKU-{order_id[-1]}\tB0TEST\t{qty}\tUSD\t{price}"
            "\t0.00\t0.00\tUS"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# Seller A's first store, September 2026 (purchase times well inside LA's local month):
# shipped 100.00 + shipped 50.50 + pending (no price) + cancelled 30.00 (excluded)
# -> gmv 150.50, orders 3 (pending counts, cancelled does not)
STORE_A1_ORDERS = [
    ("111-0000001-0000001", "2026-09-03T18:00:00+00:00", "Shipped", 2, "100.00"),
    ("111-0000002-0000002", "2026-09-10T18:00:00+00:00", "Shipped", 1, "50.50"),
    ("111-0000003-0000003", "2026-09-12T18:00:00+00:00", "Pending", 1, ""),
    ("111-0000004-0000004", "2026-09-15T18:00:00+00:00", "Cancelled", 1, "30.00"),
]
STORE_A1_GMV = 150.50
STORE_A1_ORDERS_COUNT = 3
# A later upload adds one shipped order of 49.50 -> gmv 200.00, orders 4.
EXTRA_ORDER = [("111-0000005-0000005", "2026-09-20T18:00:00+00:00", "Shipped", 1, "49.50")]
# Seller B's store: a secret number nobody outside seller B may see.
STORE_B_ORDERS = [("222-0000001-0000001", "2026-09-05T18:00:00+00:00", "Shipped", 1, "7777.77")]


@dataclass
class World:
    ws: Workspace
    store_a1: int
    store_a2: int
    store_b: int
    seller_a_org: int
    seller_b_org: int
    agency_org: int
    agency2_org: int
    grant_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # user key -> API token
    emails: dict[str, str] = field(default_factory=dict)
    # The app over ws that api_client's clients share, built on first use: building
    # FastAPI's routes takes a quarter of a second, and the app keeps no state but the
    # workspace (sessions, tokens and login limits are in the database).
    app: FastAPI | None = None


USERS = {
    # key: (email, org attribute, role)
    "owner_a": ("owner@seller-a.test", "seller_a_org", "owner"),
    "viewer_a": ("viewer@seller-a.test", "seller_a_org", "viewer"),
    "owner_b": ("owner@seller-b.test", "seller_b_org", "owner"),
    "agency_ops": ("ops@agency.test", "agency_org", "ops"),  # valid grant on A1
    "agency2_ops": ("ops@agency2.test", "agency2_org", "ops"),  # expired + revoked on A1
}


def build_world(ws: Workspace, tmp: Path) -> World:
    with ws.session() as s:
        seller_a = 1  # created by `lianxing init`
        seller_b = create_org(s, name="Seller B", kind="seller", actor="test").id
        agency = create_org(s, name="Agency One", kind="agency", actor="test").id
        agency2 = create_org(s, name="Agency Two", kind="agency", actor="test").id
        a1 = create_store(
            s,
            platform="amazon",
            site="US",
            name="A1 Home",
            org_id=seller_a,
            launch_date=date(2026, 8, 1),
        ).id
        a2 = create_store(
            s,
            platform="amazon",
            site="US",
            name="A2 Garden",
            org_id=seller_a,
            launch_date=date(2026, 8, 1),
        ).id
        b = create_store(
            s,
            platform="amazon",
            site="US",
            name="B Secret Store",
            org_id=seller_b,
            launch_date=date(2026, 8, 1),
        ).id
    world = World(ws, a1, a2, b, seller_a, seller_b, agency, agency2)
    with ws.session() as s:
        for key, (email, org_attr, role) in USERS.items():
            add_user(
                s,
                email=email,
                password=PASSWORD,
                org_id=getattr(world, org_attr),
                role=role,
                actor="test",
            )
            world.emails[key] = email
        now = utcnow()
        world.grant_ids["valid"] = add_grant(
            s,
            agency_org_id=agency,
            store_id=a1,
            scope="operate",
            expires_at=now + timedelta(days=30),
            actor="test",
        ).id
        expired = add_grant(
            s,
            agency_org_id=agency2,
            store_id=a1,
            scope="manage",
            expires_at=now + timedelta(days=1),
            actor="test",
        )
        world.grant_ids["expired"] = expired.id
        world.grant_ids["revoked"] = add_grant(
            s, agency_org_id=agency2, store_id=a2, scope="manage", expires_at=None, actor="test"
        ).id
    with ws.session() as s:
        # Expiry in the past cannot be created through the service; age the grant instead.
        grant = s.get(AccessGrant, world.grant_ids["expired"])
        assert grant is not None
        grant.expires_at = utcnow() - timedelta(hours=1)
        revoked = s.get(AccessGrant, world.grant_ids["revoked"])
        assert revoked is not None
        revoked.revoked_at = utcnow() - timedelta(minutes=1)
    import_file(ws, all_orders_file(tmp / "a1.txt", STORE_A1_ORDERS), a1)
    import_file(ws, all_orders_file(tmp / "b.txt", STORE_B_ORDERS), b)
    with ws.session() as s:
        for key, (email, _, _) in USERS.items():
            user_id = s.scalar(select(User.id).where(User.email == email))
            assert user_id is not None
            _, secret = create_api_token(s, user_id, "test", expires_at=None, actor="test")
            world.tokens[key] = secret
    return world


def api_client(world: World, user: str) -> TestClient:
    if world.app is None:
        world.app = create_app(workspace=world.ws)
    client = TestClient(world.app)
    client.headers["Authorization"] = f"Bearer {world.tokens[user]}"
    return client


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/settings")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text)
    assert csrf is not None
    return csrf.group(1)


def run_jobs(ws: Workspace) -> int:
    """Run the queued jobs (an upload's import) as ``lianxing serve``'s runner would."""
    runner = EmbeddedRunner(ws.settings, schedule=None)
    try:
        return runner.run_pending()
    finally:
        runner.stop()


def add_alerts(world: World) -> dict[str, int]:
    """Alerts on A1, A2 and B: "GMV below 1000" fires for A1 (150.50) and A2 (one order of
    12.00, imported here); "GMV above 1" fires for every store (its info alerts). One
    webhook channel on a closed port, so the deliveries fail and are retried. Returns store
    attribute -> one alert id of that store."""
    from lianxing.alerts.service import add_channel, add_rule, evaluate, list_alerts

    a2_order = [("111-0000021-0000021", "2026-09-08T18:00:00+00:00", "Shipped", 1, "12.00")]
    folder = world.ws.settings.home_dir / "test-files"
    folder.mkdir(exist_ok=True)
    import_file(world.ws, all_orders_file(folder / "a2.txt", a2_order), world.store_a2)
    with world.ws.session() as s:
        channel = add_channel(
            s,
            world.ws.cipher,
            name="ops hook",
            kind="webhook",
            locale="zh",
            config={},
            secrets={"url": "http://127.0.0.1:9/hook"},
            actor="test",
        ).id
        for name, op, threshold in (("GMV 过低 / GMV low", "<", 1000), ("GMV seen", ">", 1)):
            add_rule(
                s,
                name=name,
                kind="kpi_threshold",
                scope_kind="all",
                scope_ref=None,
                severity="critical" if op == "<" else "info",
                params={"kpi": "gmv", "op": op, "threshold": threshold, "period": PERIOD},
                channel_ids=[channel],
                actor="test",
            )
    evaluate(world.ws, actor="test")
    ids: dict[str, int] = {}
    with world.ws.session() as s:
        for alert in list_alerts(s, states=("firing",)):
            if alert.severity.value != "critical" and alert.store_id != world.store_b:
                continue
            for attr in ("store_a1", "store_a2", "store_b"):
                if alert.store_id == getattr(world, attr):
                    ids.setdefault(attr, alert.id)
    return ids


def add_launch(world: World) -> dict[str, dict[str, int]]:
    """Launch plans for A1 and A2 (Amazon US template), a vault document of each store that
    expires in ten days, for A1 a payout account held by the agency (a high finding) and for
    A2 a login e-mail held by the seller. Returns store attribute -> {"plan", "item" (the
    first requirements item), "doc", "asset"}."""
    from lianxing.domain.assets import AssetKind, HolderKind
    from lianxing.domain.launch import DocumentType
    from lianxing.launch.assets import set_asset
    from lianxing.launch.plans import PlanParams, create_plan, plan_status
    from lianxing.launch.vault import add_document

    out: dict[str, dict[str, int]] = {}
    for attr in ("store_a1", "store_a2"):
        store = getattr(world, attr)
        with world.ws.session() as s:
            plan = create_plan(s, store_id=store, params=PlanParams(None, None, None))
            doc = add_document(
                s,
                world.ws.cipher,
                world.ws.settings.vault_dir,
                content=f"licence of {attr}".encode(),
                file_name=f"licence-{attr}.pdf",
                doc_type=DocumentType.BUSINESS_LICENCE,
                store_id=store,
                title=f"营业执照 {attr}",
                expires_on=utcnow().date() + timedelta(days=10),
                actor="test",
            )
            status = plan_status(s, store_id=store, warehouse=None, today=utcnow().date())
            first = status["stages"][0]["items"][0]
            out[attr] = {"plan": plan.id, "item": first["id"], "doc": doc.id}
    assets = {
        "store_a1": (AssetKind.PAYOUT_ACCOUNT, "CN 6222 0210 0009 1234", HolderKind.AGENCY),
        "store_a2": (AssetKind.LOGIN_EMAIL, "garden.owner@seller-a.test", HolderKind.SELLER),
    }
    with world.ws.session() as s:
        for attr, (kind, identifier, holder) in assets.items():
            out[attr]["asset"] = set_asset(
                s,
                world.ws.cipher,
                store_id=getattr(world, attr),
                kind=kind,
                identifier=identifier,
                holder_kind=holder,
                actor="test",
            ).id
    return out


CONTRACT_FIXTURE = (
    Path(__file__).resolve().parents[1] / "contracts" / "fixtures" / "roas_milestone.yaml"
)


def add_contracts(world: World) -> dict[str, dict[str, int]]:
    """A signed contract per store of seller A (the ROAS-milestone fixture, one store each)
    with a ticket opened by the seller. Returns store attribute -> {"contract", "ticket"}."""
    from lianxing.contracts.service import add_contract, workspace_catalog
    from lianxing.contracts.tickets import open_ticket

    text = CONTRACT_FIXTURE.read_text(encoding="utf-8")
    folder = world.ws.settings.home_dir / "test-files"
    folder.mkdir(exist_ok=True)
    out: dict[str, dict[str, int]] = {}
    for n, attr in enumerate(("store_a1", "store_a2"), start=1):
        store = getattr(world, attr)
        path = folder / f"contract-{attr}.yaml"
        path.write_text(
            text.replace("stores: [1]", f"stores: [{store}]").replace(
                "LX-TEST-001", f"LX-WEB-00{n}"
            ),
            encoding="utf-8",
        )
        with world.ws.session() as s:
            view, _ = add_contract(s, workspace_catalog(world.ws), path, actor="test")
            ticket = open_ticket(
                s,
                contract_id=view.id,
                severity="high",
                title=f"广告预算超支 {attr}",
                body="ad spend above the agreed budget",
                author="user:owner@seller-a.test",
                store_id=store,
            )
        out[attr] = {"contract": view.id, "ticket": ticket.id}
    return out
