"""Tenant isolation: for every endpoint, outsiders get 403/404 and learn nothing.

Outsiders of seller A's stores: seller B's owner, an agency without a grant on the store,
an agency whose grant expired, an agency whose grant was revoked. Every API route must be
listed in ``STORE_REQUESTS`` or ``LIST_REQUESTS`` below; a new route fails the coverage test
until someone decides how to check it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from web_helpers import PERIOD, World, add_alerts, add_contracts, add_launch, api_client, login

from lianxing.web.api import api_router
from lianxing.web.app import create_app

# (user, store attribute, why they are outside)
OUTSIDERS = [
    ("owner_b", "store_a1", "another seller"),
    ("owner_b", "store_a2", "another seller"),
    ("agency_ops", "store_a2", "agency without a grant on this store"),
    ("agency2_ops", "store_a1", "agency whose grant expired"),
    ("agency2_ops", "store_a2", "agency whose grant was revoked"),
]
SECRETS = ("A1 Home", "A2 Garden", "150.5")
# The stores' names and figures, and the account identifiers ``add_launch`` records.
STORE_SECRETS = {
    "store_a1": ("A1 Home", "150.5", "6222 0210 0009 1234"),
    "store_a2": ("A2 Garden", "garden.owner@seller-a.test"),
}

Call = Callable[[TestClient, int], Response]


def _upload(client: TestClient, store: int) -> Response:
    content = b"amazon-order-id\tpurchase-date\n1\t2026-09-01\n"
    return client.post(f"/api/v1/stores/{store}/imports", files={"file": ("x.txt", content)})


STORE_REQUESTS: dict[tuple[str, str], Call] = {
    ("GET", "/api/v1/stores/{store_id}"): lambda c, s: c.get(f"/api/v1/stores/{s}"),
    ("GET", "/api/v1/stores/{store_id}/kpis"): lambda c, s: c.get(
        f"/api/v1/stores/{s}/kpis?period={PERIOD}"
    ),
    ("GET", "/api/v1/stores/{store_id}/imports"): lambda c, s: c.get(f"/api/v1/stores/{s}/imports"),
    ("POST", "/api/v1/stores/{store_id}/imports"): _upload,
    ("GET", "/api/v1/stores/{store_id}/targets"): lambda c, s: c.get(f"/api/v1/stores/{s}/targets"),
    ("GET", "/api/v1/stores/{store_id}/launch"): lambda c, s: c.get(f"/api/v1/stores/{s}/launch"),
    ("POST", "/api/v1/targets"): lambda c, s: c.post(
        "/api/v1/targets", json={"kpi": "gmv", "store_id": s, "period": "month", "value": 1}
    ),
    ("POST", "/api/v1/grants"): lambda c, s: c.post(
        "/api/v1/grants", json={"agency_org_id": 3, "store_id": s, "scope": "manage"}
    ),
    ("POST", "/api/v1/stores/{store_id}/documents"): lambda c, s: c.post(
        f"/api/v1/stores/{s}/documents",
        data={"type": "business_licence", "title": "planted"},
        files={"file": ("planted.pdf", b"planted document")},
    ),
    ("POST", "/api/v1/stores/{store_id}/assets"): lambda c, s: c.post(
        f"/api/v1/stores/{s}/assets",
        json={"kind": "phone", "identifier": "planted", "holder": "agency", "verified": True},
    ),
    ("GET", "/api/v1/stores/{store_id}/connections"): lambda c, s: c.get(
        f"/api/v1/stores/{s}/connections"
    ),
    ("POST", "/api/v1/stores/{store_id}/connections"): lambda c, s: c.post(
        f"/api/v1/stores/{s}/connections", json={"app_key": "planted", "app_secret": "planted"}
    ),
    ("GET", "/api/v1/stores/{store_id}/connections/callback"): lambda c, s: c.get(
        f"/api/v1/stores/{s}/connections/callback?code=planted&state=planted"
    ),
    ("POST", "/api/v1/stores/{store_id}/connections/{connector_id}/sync"): lambda c, s: c.post(
        f"/api/v1/stores/{s}/connections/amazon_sp/sync"
    ),
    ("DELETE", "/api/v1/stores/{store_id}/connections/{connector_id}"): lambda c, s: c.delete(
        f"/api/v1/stores/{s}/connections/amazon_sp"
    ),
}


def _imports_of(world: World) -> Call:
    def call(client: TestClient, store: int) -> Response:
        with world.ws.session() as s:
            from sqlalchemy import select

            from lianxing.db.models import ImportBatch

            batch = s.scalar(select(ImportBatch.id).where(ImportBatch.store_id == store))
        return client.get(f"/api/v1/imports/{batch or 'none'}")

    return call


# Routes whose answer is a list: outsiders get 200 without the store in it (or 404 for ids).
LIST_REQUESTS: dict[tuple[str, str], Callable[[TestClient, World], Response]] = {
    ("GET", "/api/v1/stores"): lambda c, w: c.get("/api/v1/stores"),
    ("GET", "/api/v1/kpis"): lambda c, w: c.get(f"/api/v1/kpis?period={PERIOD}"),
    ("GET", "/api/v1/grants"): lambda c, w: c.get("/api/v1/grants"),
    ("GET", "/api/v1/users"): lambda c, w: c.get("/api/v1/users"),
    ("GET", "/api/v1/me"): lambda c, w: c.get("/api/v1/me"),
    ("GET", "/api/v1/tokens"): lambda c, w: c.get("/api/v1/tokens"),
    ("GET", "/api/v1/organisations"): lambda c, w: c.get("/api/v1/organisations"),
    ("GET", "/api/v1/platforms"): lambda c, w: c.get("/api/v1/platforms"),
    ("GET", "/api/v1/import-formats"): lambda c, w: c.get("/api/v1/import-formats"),
    ("GET", "/api/v1/kpi-definitions"): lambda c, w: c.get("/api/v1/kpi-definitions"),
    ("POST", "/api/v1/stores"): lambda c, w: c.post(
        "/api/v1/stores",
        json={"platform": "amazon", "site": "US", "name": "Planted", "org_id": w.seller_a_org},
    ),
    ("POST", "/api/v1/users"): lambda c, w: c.post(
        "/api/v1/users",
        json={
            "email": "intruder@x.test",
            "password": "long enough pw",
            "org_id": 1,
            "role": "owner",
        },
    ),
    ("POST", "/api/v1/grants/{grant_id}/revoke"): lambda c, w: c.post(
        f"/api/v1/grants/{w.grant_ids['valid']}/revoke", json={}
    ),
    ("DELETE", "/api/v1/targets/{target_id}"): lambda c, w: c.delete("/api/v1/targets/1"),
    ("POST", "/api/v1/tokens"): lambda c, w: c.post("/api/v1/tokens", json={"name": "mine"}),
    ("DELETE", "/api/v1/tokens/{token_id}"): lambda c, w: c.delete("/api/v1/tokens/1"),
    ("GET", "/api/v1/imports/{batch_id}"): lambda c, w: _imports_of(w)(c, w.store_a1),
    ("GET", "/api/v1/alerts"): lambda c, w: c.get("/api/v1/alerts?state=all"),
    ("GET", "/api/v1/launch"): lambda c, w: c.get("/api/v1/launch"),
    ("GET", "/api/v1/contracts"): lambda c, w: c.get("/api/v1/contracts"),
    ("GET", "/api/v1/freezes"): lambda c, w: c.get("/api/v1/freezes"),
    ("POST", "/api/v1/freezes"): lambda c, w: c.post(
        "/api/v1/freezes",
        json={"agency_org_id": w.agency_org, "reason": "planted", "seller_org_id": 1},
    ),
}


def _import_job_of(world: World, store: int) -> str:
    """A queued import job on ``store``, submitted by its owner."""
    from lianxing.jobs.runner import submit

    job = submit(
        world.ws,
        "ingest.import_file",
        {"path": "/nonexistent/a.txt", "store_id": store, "actor": "test"},
        max_attempts=1,
    )
    return job.id


# Routes about one record of a store (an alert, an import job, ...): ``ids`` maps the store
# attribute to that store's record id, made by ``world_records``. Outsiders get 403/404.
RecordCall = Callable[[TestClient, dict[str, Any]], Response]
RECORD_REQUESTS: dict[tuple[str, str], RecordCall] = {
    ("GET", "/api/v1/import-jobs/{job_id}"): lambda c, r: c.get(f"/api/v1/import-jobs/{r['job']}"),
    ("GET", "/api/v1/alerts/{alert_id}"): lambda c, r: c.get(f"/api/v1/alerts/{r['alert']}"),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): lambda c, r: c.post(
        f"/api/v1/alerts/{r['alert']}/ack", json={}
    ),
    ("POST", "/api/v1/alerts/{alert_id}/silence"): lambda c, r: c.post(
        f"/api/v1/alerts/{r['alert']}/silence", json={"until": "2099-01-01T00:00:00"}
    ),
    ("POST", "/api/v1/launch-items/{item_id}/done"): lambda c, r: c.post(
        f"/api/v1/launch-items/{r['item']}/done", json={"note": "x"}
    ),
    ("POST", "/api/v1/launch-items/{item_id}/waive"): lambda c, r: c.post(
        f"/api/v1/launch-items/{r['item']}/waive", json={"reason": "x"}
    ),
    ("GET", "/api/v1/documents/{document_id}"): lambda c, r: c.get(f"/api/v1/documents/{r['doc']}"),
    ("POST", "/api/v1/assets/{asset_id}/reveal"): lambda c, r: c.post(
        f"/api/v1/assets/{r['asset']}/reveal"
    ),
    ("PATCH", "/api/v1/launch-items/{item_id}"): lambda c, r: c.patch(
        f"/api/v1/launch-items/{r['item']}", json={"owner": "planted", "due_date": "2099-01-01"}
    ),
    ("GET", "/api/v1/contracts/{contract_id}"): lambda c, r: c.get(
        f"/api/v1/contracts/{r['contract']}"
    ),
    ("POST", "/api/v1/contracts/{contract_id}/tickets"): lambda c, r: c.post(
        f"/api/v1/contracts/{r['contract']}/tickets",
        json={"severity": "low", "title": "planted", "body": "x"},
    ),
    ("GET", "/api/v1/tickets/{ticket_id}"): lambda c, r: c.get(f"/api/v1/tickets/{r['ticket']}"),
    ("POST", "/api/v1/tickets/{ticket_id}/reply"): lambda c, r: c.post(
        f"/api/v1/tickets/{r['ticket']}/reply", json={"body": "planted"}
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/resolve"): lambda c, r: c.post(
        f"/api/v1/tickets/{r['ticket']}/resolve", json={"body": "planted"}
    ),
    ("POST", "/api/v1/freezes/{freeze_id}/lift"): lambda c, r: c.post(
        f"/api/v1/freezes/{r['freeze']}/lift", json={"reason": "planted"}
    ),
}


def world_records(world: World) -> dict[str, dict[str, Any]]:
    """Store attribute -> ids of that store's records, one of each kind."""
    from lianxing.agencies.freeze import freeze_agency

    alerts = add_alerts(world)
    launch = add_launch(world)
    contracts = add_contracts(world)
    with world.ws.session() as s:
        # Seller A froze Agency One (its grant on A1); outsiders must not lift it.
        freeze = freeze_agency(
            s, agency_org_id=world.agency_org, reason="audit", actor="test", seller_org_id=1
        ).id
    return {
        attr: {
            "job": _import_job_of(world, getattr(world, attr)),
            "alert": alerts[attr],
            "freeze": freeze,
            **launch[attr],
            **contracts[attr],
        }
        for attr in ("store_a1", "store_a2")
    }


def _api_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the API, as its OpenAPI schema publishes it."""
    app = FastAPI()
    app.include_router(api_router())
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_every_api_route_is_covered_by_the_isolation_suite() -> None:
    assert _api_routes() == set(STORE_REQUESTS) | set(LIST_REQUESTS) | set(RECORD_REQUESTS)


def test_outsiders_get_403_or_404_on_every_record_of_a_store(world: World) -> None:
    records = world_records(world)
    failures = []
    for user, store_attr, why in OUTSIDERS:
        client = api_client(world, user)
        for (method, path), call in RECORD_REQUESTS.items():
            response = call(client, records[store_attr])
            if response.status_code not in (403, 404) or _leaks(
                response, STORE_SECRETS[store_attr]
            ):
                failures.append(
                    f"{user} on {store_attr} ({why}): {method} {path}: "
                    f"{response.status_code} {response.text[:200]}"
                )
    assert failures == []
    # Nothing an outsider sent changed the alerts.
    owner = api_client(world, "owner_a")
    for store_attr in ("store_a1", "store_a2"):
        alert = owner.get(f"/api/v1/alerts/{records[store_attr]['alert']}").json()
        assert alert["acked_at"] is None and alert["silenced_until"] is None
        plan = owner.get(f"/api/v1/stores/{getattr(world, store_attr)}/launch").json()["launch"]
        assert all(i["status"] != "done" for i in plan["stages"][0]["items"])
        assert all(
            i["owner"] != "planted" and i["due_date"] != "2099-01-01"
            for stage in plan["stages"]
            for i in stage["items"]
        )
        ticket = owner.get(f"/api/v1/tickets/{records[store_attr]['ticket']}").json()
        assert [m["kind"] for m in ticket["messages"]] == ["open"]
    assert owner.get("/api/v1/freezes").json()["freezes"][0]["lifted_at"] is None
    assert _audited(world, "asset.reveal") == 0  # no outsider's reveal got as far as a read
    assert [c["number"] for c in owner.get("/api/v1/contracts").json()["contracts"]] == [
        "LX-WEB-001",
        "LX-WEB-002",
    ]


def _audited(world: World, action: str) -> int:
    from sqlalchemy import func, select

    from lianxing.db.models import AuditEntry

    with world.ws.session() as s:
        return s.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def _leaks(response: Response, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    return [s for s in secrets if s in response.text]


def test_outsiders_get_403_or_404_on_every_store_endpoint(world: World) -> None:
    failures = []
    for user, store_attr, why in OUTSIDERS:
        client = api_client(world, user)
        store = getattr(world, store_attr)
        for (method, path), call in STORE_REQUESTS.items():
            response = call(client, store)
            if response.status_code not in (403, 404) or _leaks(
                response, STORE_SECRETS[store_attr]
            ):
                failures.append(
                    f"{user} on {store_attr} ({why}): {method} {path}: "
                    f"{response.status_code} {response.text[:200]}"
                )
        # A store that does not exist answers exactly like one the caller may not see.
        missing = client.get("/api/v1/stores/999999")
        hidden = client.get(f"/api/v1/stores/{store}")
        assert missing.status_code == hidden.status_code == 404
        assert missing.json()["detail"].replace("999999", "N") == hidden.json()["detail"].replace(
            str(store), "N"
        )
    assert failures == []
    # No outsider's upload or asset was written, not even a vault file.
    from sqlalchemy import func, select

    from lianxing.db.models_launch import AccountAsset, VaultDocument

    with world.ws.session() as s:
        assert s.scalar(select(func.count()).select_from(VaultDocument)) == 0
        assert s.scalar(select(func.count()).select_from(AccountAsset)) == 0
    vault = world.ws.settings.vault_dir
    assert not vault.exists() or list(vault.iterdir()) == []


def test_lists_and_other_endpoints_never_show_seller_a(world: World) -> None:
    failures = []
    for user, (method, path), call in [
        (u, key, c) for u in ("owner_b", "agency2_ops") for key, c in LIST_REQUESTS.items()
    ]:
        client = api_client(world, user)
        response = call(client, world)
        if response.status_code >= 500 or _leaks(response):
            failures.append(f"{user} {method} {path}: {response.status_code} {response.text[:200]}")
        if method in ("POST", "DELETE") and path != "/api/v1/tokens" and response.status_code < 400:
            failures.append(f"{method} {path}: outsider's write succeeded ({response.status_code})")
    assert failures == []
    # The revoke above must not have touched seller A's grant.
    assert (
        api_client(world, "agency_ops").get(f"/api/v1/stores/{world.store_a1}").status_code == 200
    )


def test_the_agency_sees_its_granted_store_and_nothing_else(world: World) -> None:
    client = api_client(world, "agency_ops")
    assert client.get(f"/api/v1/stores/{world.store_a1}/kpis?period={PERIOD}").status_code == 200
    body: dict[str, Any] = client.get(f"/api/v1/kpis?period={PERIOD}").json()
    assert [r["store"] for r in body["stores"]] == [world.store_a1]
    grants = client.get("/api/v1/grants").json()["grants"]
    assert {g["agency_name"] for g in grants} == {"Agency One"}  # not Agency Two's grants


def test_outsiders_cannot_open_store_pages(world: World) -> None:
    app = create_app(workspace=world.ws)  # one app, a client (a cookie jar) per outsider
    for user, store_attr, why in OUTSIDERS:
        client = TestClient(app)
        csrf = login(client, world.emails[user])
        store = getattr(world, store_attr)
        secrets = STORE_SECRETS[store_attr]
        page = client.get(f"/stores/{store}")
        assert page.status_code == 404, why
        assert not _leaks(page, secrets), why
        overview = client.get(f"/?period={PERIOD}")
        assert overview.status_code == 200 and not _leaks(overview, secrets), why
        assert not _leaks(client.get(f"/imports?store={store}"), secrets), why
        upload = client.post(
            "/imports/upload",
            data={"store": str(store), "csrf_token": csrf},
            files={"file": ("x.txt", b"amazon-order-id\n1\n")},
        )
        assert "import-rejected" in upload.text, why
        assert not _leaks(upload, secrets), why
        assert not _leaks(client.get("/settings"), secrets), why
        for path in ("/alerts?state=all", "/launch", "/contracts"):
            assert not _leaks(client.get(path), secrets), (why, path)
        assert client.get(f"/launch/{store}").status_code == 404, why
