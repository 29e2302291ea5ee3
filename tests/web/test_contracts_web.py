"""Contracts over the API and the pages: visibility, statement, tickets, agency freeze."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_helpers import PERIOD, World, add_contracts, api_client, login

from fake_orders import confirm_flag, flag_orders
from lianxing.cli import app as cli
from lianxing.contracts.service import add_contract, workspace_catalog
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


# Store A1's September GMV is 150.50 (web_helpers); order 111-0000002-0000002 (50.50) is
# confirmed as fake, so the September commission is 5 % × 100.00 = 5.00 USD, not
# 5 % × 150.50 = 7.53 (2.53 left out). The monthly fee of 700 CNY converts at 0.14 on
# 2026-09-05 (98.00 USD) and at 0.125 on 2026-10-05 (87.50); the November one, not due as
# of 2026-10-05, at the as-of rate 0.125 (87.50, an estimate). Due: 1000 + 98 + 87.50 + 5
# = 1190.50 USD.
FX_CONTRACT = """number: LX-WEB-FX
title: 人民币月费与提成 / CNY monthly fee and commission
parties:
  seller: {name: Seller A}
  agency: {name: Agency One, registration_number: 91110000802100433B}
stores: [STORE]
package: open_plus_coaching
term: {start: 2026-09-01, months: 3}
kpis:
  - id: gmv_month
    kpi: gmv
    options: {refunds: gross, refund_attribution: refund_date, cancelled: exclude,
              include_tax: true, currency: USD}
    source: platform
    period: month
fees:
  - {id: setup, name: 开店服务费 / Store opening, type: fixed, amount: 1000, currency: USD}
  - {id: monthly_service, name: 陪跑月费 / Monthly coaching, type: monthly, amount: 700,
     currency: CNY, due: {day_of_month: 5}}
  - {id: commission, name: 销售提成 / Sales commission, type: percent_of_kpi, rate: 5%,
     kpi: gmv_month, currency: USD}
data_ownership: seller
accounts_held_by: seller
"""
FAKE_ORDER = "111-0000002-0000002"


def _fx_contract_with_a_confirmed_fake_order(world: World) -> int:
    path = world.ws.settings.home_dir / "fx-contract.yaml"
    path.write_text(FX_CONTRACT.replace("STORE", str(world.store_a1)), encoding="utf-8")
    with world.ws.warehouse.batch("b-fx", "file:fx") as batch:
        batch.append(
            "fx_rates",
            [
                {"date": dt.date(2026, 9, 5), "currency": "CNY", "rate_to_usd": 0.14},
                {"date": dt.date(2026, 10, 5), "currency": "CNY", "rate_to_usd": 0.125},
            ],
        )
    with world.ws.session() as session:
        view, _ = add_contract(session, workspace_catalog(world.ws), path, actor="test")
    # Bought 2026-09-10 18:00 UTC (web_helpers).
    flag = flag_orders(world.ws, world.store_a1, [FAKE_ORDER], dt.datetime(2026, 9, 10, 18, 0))
    confirm_flag(world.ws, flag)
    return view.id


def _cell(row: str, field: str) -> str:
    found = re.search(rf'data-field="{field}" data-value="([^"]*)"', row)
    assert found is not None, (field, row)
    return found.group(1)


def test_contract_page_shows_the_settlement_currency_and_fake_orders_left_out(
    world: World,
) -> None:
    contract = _fx_contract_with_a_confirmed_fake_order(world)
    args = ["contract", "evaluate", "--contract", str(contract), "--as-of", "2026-10-05"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    statement: dict[str, Any] = json.loads(result.stdout)
    settlement = statement["settlement"]
    (commission,) = [line for line in settlement["lines"] if line["fee"] == "commission"]
    assert commission["confirmed_fake_orders"]["amount_left_out"] == "2.53"
    assert settlement["converted_totals"]["due"] == "1190.50"

    client = TestClient(create_app(workspace=world.ws))
    login(client, world.emails["owner_a"])
    page = client.get(f"/contracts/{contract}?as_of=2026-10-05").text
    assert 'id="settlement-currency">USD<' in page
    totals = re.search(r'<p id="settlement-totals"[^>]*>(.*?)</p>', page, re.S)
    assert totals is not None
    for bucket, amount in settlement["converted_totals"].items():
        assert f'data-total="{bucket}">{amount}<' in totals.group(1), bucket
    rows = {
        (m.group(1), m.group(2)): m.group(3)
        for m in re.finditer(r'<tr data-fee="([^"]+)" data-due="([^"]*)">(.*?)</tr>', page, re.S)
    }
    for line in settlement["lines"]:
        row = rows[(line["fee"], line["due_date"] or "")]
        assert _cell(row, "converted") == line["converted"]["amount"], line
        assert f"{line['amount']} {line['currency']}" in row
    monthly = rows[("monthly_service", "2026-11-05")]
    assert "× 0.125" in monthly and "(2026-10-05, " in monthly and "估算" in monthly
    assert "× 0.14" in rows[("monthly_service", "2026-09-05")]
    row = rows[("commission", "2026-10-01")]
    assert _cell(row, "left-out") == commission["confirmed_fake_orders"]["amount_left_out"]
    assert "未计入（已确认的刷单）" in row and f"订单 {FAKE_ORDER} (store {world.store_a1})" in row

    client.get("/lang/en?next=/")
    english = client.get(f"/contracts/{contract}?as_of=2026-10-05").text
    assert "Left out (confirmed fake orders)" in english and "estimate" in english
    assert f"orders {FAKE_ORDER} (store {world.store_a1}) were confirmed as fake" in english
