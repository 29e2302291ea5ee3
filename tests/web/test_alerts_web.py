"""The alerts inbox over the API and the pages: scoped lists, history, ack, silence."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_helpers import World, add_alerts, api_client, login

from lianxing.web.app import create_app


def test_inbox_lists_only_the_callers_stores_and_filters(world: World) -> None:
    ids = add_alerts(world)
    assert set(ids) == {"store_a1", "store_a2", "store_b"}
    owner = api_client(world, "owner_a").get("/api/v1/alerts").json()["alerts"]
    assert sorted(a["store"] for a in owner) == sorted([world.store_a1, world.store_a2] * 2)
    owner = api_client(world, "owner_a").get("/api/v1/alerts?severity=critical").json()["alerts"]
    assert sorted(a["store"] for a in owner) == sorted([world.store_a1, world.store_a2])
    assert all(a["state"] == "firing" for a in owner)
    a1 = next(a for a in owner if a["store"] == world.store_a1)
    assert a1["value"] == 150.5
    agency = api_client(world, "agency_ops").get("/api/v1/alerts").json()["alerts"]
    assert {a["store"] for a in agency} == {world.store_a1}  # its granted store only
    other = api_client(world, "owner_b").get("/api/v1/alerts").json()["alerts"]
    assert [(a["store"], a["severity"]) for a in other] == [(world.store_b, "info")]
    assert (
        api_client(world, "owner_b").get("/api/v1/alerts?severity=critical").json()["alerts"] == []
    )
    for outsider in ("owner_b", "agency2_ops"):
        text = api_client(world, outsider).get("/api/v1/alerts?state=all").text
        assert "A1 Home" not in text and "A2 Garden" not in text and "150.5" not in text
    only_a2 = api_client(world, "owner_a").get(f"/api/v1/alerts?store={world.store_a2}").json()
    assert [a["store"] for a in only_a2["alerts"]] == [world.store_a2] * 2
    bad = api_client(world, "owner_a").get("/api/v1/alerts?state=burning")
    assert bad.status_code == 422 and "burning" in bad.json()["detail"]


def test_detail_ack_and_silence_are_recorded(world: World) -> None:
    ids = add_alerts(world)
    client = api_client(world, "agency_ops")  # operate grant on A1
    alert = ids["store_a1"]
    detail = client.get(f"/api/v1/alerts/{alert}").json()
    assert [(e["from"], e["to"]) for e in detail["history"]] == [("ok", "firing")]
    # The webhook's port is closed: the delivery failed once and waits for a retry.
    assert [(d["event"], d["status"], d["attempts"]) for d in detail["deliveries"]] == [
        ("firing", "pending", 1)
    ]
    assert detail["deliveries"][0]["next_attempt_at"] is not None
    assert "127.0.0.1" in (detail["deliveries"][0]["last_error"] or "")
    acked = client.post(f"/api/v1/alerts/{alert}/ack", json={"note": "on it"}).json()
    assert acked["acked_by"] == "user:ops@agency.test"
    again = client.post(f"/api/v1/alerts/{alert}/ack", json={})
    assert again.status_code == 200  # still firing: acknowledging twice is allowed
    past = client.post(f"/api/v1/alerts/{alert}/silence", json={"until": "2020-01-01T00:00:00"})
    assert past.status_code == 422 and "must be in the future" in past.json()["detail"]
    silenced = client.post(
        f"/api/v1/alerts/{alert}/silence", json={"until": "2099-01-01T08:00:00+08:00"}
    ).json()
    assert silenced["silenced_until"] == "2099-01-01T00:00:00"
    history = client.get(f"/api/v1/alerts/{alert}").json()["history"]
    assert [e["kind"] for e in history][-3:] == ["ack", "ack", "silence"]
    assert history[-1]["note"] == "until 2099-01-01T00:00:00"
    # A viewer reads but may not acknowledge.
    viewer = api_client(world, "viewer_a")
    assert viewer.get(f"/api/v1/alerts/{alert}").status_code == 200
    assert viewer.post(f"/api/v1/alerts/{alert}/ack", json={}).status_code == 403


def test_inbox_page_and_acknowledging_from_the_page(world: World) -> None:
    ids = add_alerts(world)
    client = TestClient(create_app(workspace=world.ws))
    csrf = login(client, world.emails["owner_a"])
    page = client.get("/alerts")
    assert page.status_code == 200 and "预警收件箱" in page.text
    rows = re.findall(r'data-alert="(\d+)"', page.text)
    assert len(rows) == 4 and ids["store_a1"] in map(int, rows)
    critical = client.get(f"/alerts?severity=critical&store={world.store_a2}")
    assert [int(r) for r in re.findall(r'data-alert="(\d+)"', critical.text)] == [ids["store_a2"]]
    assert "B Secret Store" not in page.text
    detail = client.get(f"/alerts/{ids['store_a2']}")
    assert "严重" in detail.text and "A2 Garden" in detail.text
    done = client.post(
        f"/alerts/{ids['store_a2']}/ack", data={"note": "checking", "csrf_token": csrf}
    )
    assert done.status_code == 200 and "已确认" in done.text
    assert "user:owner@seller-a.test" in done.text
    no_csrf = client.post(f"/alerts/{ids['store_a2']}/ack", data={"note": "x"})
    assert no_csrf.status_code == 403
    silenced = client.post(
        f"/alerts/{ids['store_a2']}/silence",
        data={"until": "2099-03-01T10:00", "csrf_token": csrf},
    )
    assert "2099-03-01 10:00 UTC" in silenced.text
    assert client.get(f"/alerts/{ids['store_b']}").status_code == 404
