"""The launch board over the API and the pages: stages, items, done / waive, documents
(downloads audited), account assets and their findings."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import World, add_launch, api_client, login

from lianxing.db.models import AuditEntry
from lianxing.web.app import create_app


def test_board_and_store_plan(world: World) -> None:
    ids = add_launch(world)
    board = api_client(world, "owner_a").get("/api/v1/launch").json()["stores"]
    assert [(r["store"], r["plan"]) for r in board] == [
        (world.store_a1, True),
        (world.store_a2, True),
    ]
    a1 = board[0]
    assert a1["current_stage"] == "requirements" and a1["complete"] is False
    assert a1["expiring_documents"] == 1
    assert a1["stages"][0]["id"] == "requirements"
    agency = api_client(world, "agency_ops").get("/api/v1/launch").json()["stores"]
    assert [r["store"] for r in agency] == [world.store_a1]
    body = api_client(world, "agency_ops").get(f"/api/v1/stores/{world.store_a1}/launch").json()
    assert body["launch"]["current_stage"] == "requirements"
    assert [d["id"] for d in body["documents"]] == [ids["store_a1"]["doc"]]
    assert body["documents"][0]["expiry"] == "expiring"
    assert [a["holder_kind"] for a in body["assets"]] == ["agency"]
    assert any(f["severity"] == "high" for f in body["findings"])


def test_done_and_waive_with_reason(world: World) -> None:
    ids = add_launch(world)
    client = api_client(world, "agency_ops")
    item = ids["store_a1"]["item"]
    done = client.post(
        f"/api/v1/launch-items/{item}/done",
        json={"note": "kick-off call held", "document_id": ids["store_a1"]["doc"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert [e["kind"] for e in done.json()["evidence"]] == ["document", "note"]
    # Another store's document is not evidence this caller can attach.
    other = client.post(
        f"/api/v1/launch-items/{item}/done", json={"document_id": ids["store_a2"]["doc"]}
    )
    assert other.status_code == 422
    plan = client.get(f"/api/v1/stores/{world.store_a1}/launch").json()["launch"]
    items = [i for s in plan["stages"] for i in s["items"]]
    second = next(i for i in items if i["status"] == "todo" and i["kind"] != "measure")
    no_reason = client.post(f"/api/v1/launch-items/{second['id']}/waive", json={"reason": " "})
    assert no_reason.status_code == 422
    waived = client.post(
        f"/api/v1/launch-items/{second['id']}/waive", json={"reason": "seller already has it"}
    ).json()
    assert waived["status"] == "waived" and waived["waive_reason"] == "seller already has it"
    viewer = api_client(world, "viewer_a")
    assert viewer.get(f"/api/v1/stores/{world.store_a1}/launch").status_code == 200
    assert (
        viewer.post(f"/api/v1/launch-items/{item}/waive", json={"reason": "x"}).status_code == 403
    )


def test_document_download_is_audited_and_needs_operate(world: World) -> None:
    ids = add_launch(world)
    doc = ids["store_a1"]["doc"]
    response = api_client(world, "agency_ops").get(f"/api/v1/documents/{doc}")
    assert response.status_code == 200
    assert response.content == b"licence of store_a1"
    assert "licence-store_a1.pdf" in response.headers["content-disposition"]
    with world.ws.session() as s:
        reads = s.scalars(
            select(AuditEntry.actor).where(
                AuditEntry.action == "document.read", AuditEntry.entity_id == str(doc)
            )
        ).all()
    assert list(reads) == ["user:ops@agency.test"]
    assert api_client(world, "viewer_a").get(f"/api/v1/documents/{doc}").status_code == 404


def test_launch_pages(world: World) -> None:
    ids = add_launch(world)
    client = TestClient(create_app(workspace=world.ws))
    csrf = login(client, world.emails["owner_a"])
    board = client.get("/launch")
    assert board.status_code == 200 and "开店看板" in board.text
    assert sorted(map(int, re.findall(r'data-store="(\d+)"', board.text))) == sorted(
        [world.store_a1, world.store_a2]
    )
    item = ids["store_a2"]["item"]
    page = client.get(f"/launch/{world.store_a2}")
    assert f'id="item-{item}"' in page.text and "即将到期" in page.text
    done = client.post(
        f"/launch/items/{item}/done", data={"note": "met the seller", "csrf_token": csrf}
    )
    assert done.status_code == 200 and "已标记完成" in done.text
    assert re.search(rf'id="item-{item}"[^>]*data-status="done"', done.text)
    refused = client.post(f"/launch/items/{item}/waive", data={"reason": "", "csrf_token": csrf})
    assert 'id="launch-error"' in refused.text
    assert client.get(f"/launch/{world.store_b}").status_code == 404


def test_blockers_are_named_by_their_titles(world: World) -> None:
    add_launch(world)
    client = TestClient(create_app(workspace=world.ws))
    login(client, world.emails["owner_a"])
    board = client.get("/launch").text
    page = client.get(f"/launch/{world.store_a1}").text
    # The first stage's open items block the next stage: shown by title, keys only as tooltip.
    shown = re.search(r'<small title="[^"]*req\.platform_site[^"]*">([^<]*)</small>', board)
    assert shown is not None and "确认平台与站点" in shown.group(1)
    assert "req." not in shown.group(1)
    blockers = re.search(r'<span id="blockers"[^>]*>([^<]*)</span>', page)
    assert blockers is not None and "确认平台与站点" in blockers.group(1)
    assert "req." not in blockers.group(1)
