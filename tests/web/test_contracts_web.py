"""Contracts over the API and the pages: visibility, statement, tickets, agency freeze."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_helpers import PERIOD, World, add_contracts, api_client, login

from lianxing.web.app import create_app


def test_contracts_are_visible_to_the_parties_of_their_stores(world: World) -> None:
    ids = add_contracts(world)
    owner = api_client(world, "owner_a").get("/api/v1/contracts").json()["contracts"]
    assert [c["number"] for c in owner] == ["LX-WEB-001", "LX-WEB-002"]
    agency = api_client(world, "agency_ops").get("/api/v1/contracts").json()["contracts"]
    assert [c["stores"] for c in agency] == [[world.store_a1]]
    assert api_client(world, "owner_b").get("/api/v1/contracts").json() == {"contracts": []}
    contract = ids["store_a1"]["contract"]
    body = api_client(world, "agency_ops").get(f"/api/v1/contracts/{contract}").json()
    assert body["side"] == "agency" and body["stores"] == [world.store_a1]
    ticket = body["tickets"][0]
    assert ticket["severity"] == "high" and ticket["messages"][0]["kind"] == "open"
    assert ticket["response_due_at"] is not None


def test_contract_statement_milestones_exits_and_settlement(world: World) -> None:
    ids = add_contracts(world)
    contract = ids["store_a1"]["contract"]
    body = api_client(world, "owner_a").get(f"/api/v1/contracts/{contract}?as_of=2026-09-30").json()
    assert body["side"] == "seller" and body["as_of"] == "2026-09-30"
    assert body["statement_error"] is None, body["statement_error"]
    clauses = {c["id"]: c for c in body["statement"]["clauses"]}
    assert {"roas_2_5", "gmv_missed"} <= set(clauses)
    lines = {line["name"]: line for line in body["statement"]["settlement"]["lines"]}
    setup = lines["开店服务费 / Store opening"]
    assert float(setup["amount"]) == 2000.0 and setup["currency"] == "USD"


def test_ticket_exchange_sides_and_resolution(world: World) -> None:
    ids = add_contracts(world)
    contract, ticket = ids["store_a1"]["contract"], ids["store_a1"]["ticket"]
    agency = api_client(world, "agency_ops")
    owner = api_client(world, "owner_a")
    assert (
        agency.post(
            f"/api/v1/contracts/{contract}/tickets",
            json={"severity": "low", "title": "x", "body": "y"},
        ).status_code
        == 403
    )  # the seller raises issues
    replied = agency.post(f"/api/v1/tickets/{ticket}/reply", json={"body": "we are on it"})
    assert replied.status_code == 200
    assert replied.json()["status"] == "responded"
    assert replied.json()["messages"][-1]["side"] == "agency"
    seller_reply = owner.post(f"/api/v1/tickets/{ticket}/reply", json={"body": "thanks"}).json()
    assert seller_reply["messages"][-1]["side"] == "seller"
    assert owner.post(f"/api/v1/tickets/{ticket}/resolve", json={"body": "ok"}).status_code == 403
    resolved = agency.post(f"/api/v1/tickets/{ticket}/resolve", json={"body": "budget capped"})
    assert resolved.json()["status"] == "resolved"
    assert [m["kind"] for m in resolved.json()["messages"]] == ["open", "reply", "reply", "resolve"]
    opened = owner.post(
        f"/api/v1/contracts/{contract}/tickets",
        json={"severity": "urgent", "title": "x", "body": "y"},
    )
    assert opened.status_code == 422 and "urgent" in opened.json()["detail"]


def test_seller_freezes_and_lifts_an_agencys_access(world: World) -> None:
    owner = api_client(world, "owner_a")
    agency = api_client(world, "agency_ops")
    assert agency.get(f"/api/v1/stores/{world.store_a1}").status_code == 200
    assert (
        owner.post(
            "/api/v1/freezes", json={"agency_org_id": world.agency_org, "reason": " "}
        ).status_code
        == 422
    )
    frozen = owner.post(
        "/api/v1/freezes", json={"agency_org_id": world.agency_org, "reason": "可疑改价 / odd"}
    )
    assert frozen.status_code == 201
    assert frozen.json()["grants"] == [world.grant_ids["valid"]]
    assert agency.get(f"/api/v1/stores/{world.store_a1}").status_code == 404
    assert agency.get(f"/api/v1/kpis?period={PERIOD}").json()["stores"] == []
    assert [f["id"] for f in owner.get("/api/v1/freezes").json()["freezes"]] == [
        frozen.json()["id"]
    ]
    assert api_client(world, "owner_b").get("/api/v1/freezes").json() == {"freezes": []}
    assert (
        api_client(world, "viewer_a")
        .post("/api/v1/freezes", json={"agency_org_id": world.agency_org, "reason": "x"})
        .status_code
        == 403
    )
    lifted = owner.post(f"/api/v1/freezes/{frozen.json()['id']}/lift", json={"reason": "checked"})
    assert lifted.json()["lift_reason"] == "checked"
    assert agency.get(f"/api/v1/stores/{world.store_a1}").status_code == 200


def test_contract_pages(world: World) -> None:
    ids = add_contracts(world)
    client = TestClient(create_app(workspace=world.ws))
    csrf = login(client, world.emails["owner_a"])
    listing = client.get("/contracts")
    assert listing.status_code == 200 and "LX-WEB-001" in listing.text
    assert 'id="freeze-form"' in listing.text
    contract = ids["store_a1"]["contract"]
    page = client.get(f"/contracts/{contract}?as_of=2026-09-30")
    assert page.status_code == 200 and "LX-WEB-001" in page.text
    assert f'id="ticket-{ids["store_a1"]["ticket"]}"' in page.text
    opened = client.post(
        f"/contracts/{contract}/tickets",
        data={
            "severity": "low",
            "title": "周报晚了 / late report",
            "body": "due Monday",
            "csrf_token": csrf,
        },
    )
    assert opened.status_code == 200 and "late report" in opened.text
    frozen = client.post(
        "/freezes", data={"agency": str(world.agency_org), "reason": "audit", "csrf_token": csrf}
    )
    assert 'id="contracts-message"' in frozen.text and "audit" in frozen.text
    assert client.get(f"/contracts/{ids['store_a1']['contract'] + 99}").status_code == 404
