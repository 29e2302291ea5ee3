"""The REST API end to end on SQLite+DuckDB and PostgreSQL (the ``workspace`` fixture)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_helpers import (
    EXTRA_ORDER,
    PASSWORD,
    PERIOD,
    STORE_A1_GMV,
    STORE_A1_ORDERS_COUNT,
    World,
    all_orders_file,
    api_client,
    login,
    run_jobs,
)

from lianxing.db.models import AuditEntry, ImportBatch
from lianxing.db.models_web import LoginAttempt
from lianxing.web.app import create_app
from lianxing.web.auth import MAX_FAILURES_PER_EMAIL


def test_stores_are_scoped_to_the_caller(world: World) -> None:
    def names(user: str) -> list[str]:
        body = api_client(world, user).get("/api/v1/stores").json()
        return [s["name"] for s in body["stores"]]

    assert names("owner_a") == ["A1 Home", "A2 Garden"]
    assert names("viewer_a") == ["A1 Home", "A2 Garden"]
    assert names("owner_b") == ["B Secret Store"]
    assert names("agency_ops") == ["A1 Home"]
    assert names("agency2_ops") == []  # expired and revoked grants give nothing
    access = api_client(world, "agency_ops").get(f"/api/v1/stores/{world.store_a1}").json()
    assert access["access"] == "operate"


def test_store_kpis_match_the_hand_computed_values(world: World) -> None:
    body = (
        api_client(world, "owner_a")
        .get(
            f"/api/v1/stores/{world.store_a1}/kpis", params={"period": PERIOD, "kpi": "gmv,orders"}
        )
        .json()
    )
    assert body["store"] == world.store_a1
    assert body["period"] == {
        "label": PERIOD,
        "start": "2026-09-01",
        "end": "2026-09-30",
        "timezone": "America/Los_Angeles",
    }
    assert body["kpis"]["gmv"]["value"] == pytest.approx(STORE_A1_GMV)
    assert body["kpis"]["gmv"]["unit"] == "USD"
    assert body["kpis"]["orders"]["value"] == STORE_A1_ORDERS_COUNT
    assert len(body["kpis"]["gmv"]["definition"]) == 64


def test_portfolio_matrix_adds_only_visible_stores(world: World) -> None:
    body = api_client(world, "owner_a").get("/api/v1/kpis", params={"period": PERIOD}).json()
    rows = {row["scope"]: row for row in body["stores"]}
    assert rows[f"store:{world.store_a1}"]["values"]["gmv"] == pytest.approx(150.50)
    assert rows[f"store:{world.store_a2}"]["values"]["gmv"] is None  # no data, not 0
    assert rows["portfolio:visible"]["values"]["gmv"] == pytest.approx(150.50)  # B's 7777.77 not in
    assert "7777" not in str(body)


def test_upload_imports_and_changes_the_kpis(world: World, tmp_path: Path) -> None:
    client = api_client(world, "agency_ops")  # operate grant: may import
    path = all_orders_file(tmp_path / "more.txt", EXTRA_ORDER)
    with path.open("rb") as fh:
        response = client.post(
            f"/api/v1/stores/{world.store_a1}/imports", files={"file": ("more.txt", fh)}
        )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and queued["file_name"] == "more.txt"
    assert client.get(queued["url"]).json()["status"] == "queued"
    assert run_jobs(world.ws) == 1
    done = client.get(queued["url"]).json()
    assert done["status"] == "done", done
    assert done["alerts"]["errors"] == []  # the job evaluated the alert rules after the import
    body = done["result"]
    assert body["format"] == "amazon.all_orders"
    assert body["tables"]["orders"]["new"] == 1
    kpis = client.get(
        f"/api/v1/stores/{world.store_a1}/kpis", params={"period": PERIOD, "kpi": "gmv,orders"}
    ).json()["kpis"]
    assert kpis["gmv"]["value"] == pytest.approx(200.00)
    assert kpis["orders"]["value"] == 4
    history = client.get(f"/api/v1/stores/{world.store_a1}/imports").json()["imports"]
    assert history[0]["file_name"] == "more.txt" and history[0]["status"] == "succeeded"
    one = client.get(f"/api/v1/imports/{history[0]['id']}").json()
    assert one["rows_new"] == body["tables"]["orders"]["new"] + body["tables"]["order_lines"]["new"]


def test_a_bad_file_is_rejected_with_row_level_problems_and_nothing_written(
    world: World, tmp_path: Path
) -> None:
    client = api_client(world, "owner_a")
    bad = all_orders_file(
        tmp_path / "bad.txt",
        [
            ("111-0000009-0000009", "2026-09-21T18:00:00+00:00", "Shipped", 1, "12.00"),
            ("111-0000010-0000010", "not a date", "Shipped", 1, "abc"),
        ],
    )
    with bad.open("rb") as fh:
        response = client.post(
            f"/api/v1/stores/{world.store_a1}/imports", files={"file": ("bad.txt", fh)}
        )
    assert response.status_code == 202
    run_jobs(world.ws)
    body = client.get(response.json()["url"]).json()
    assert body["status"] == "failed"
    assert body["detail"].startswith("bad.txt rejected, nothing imported")
    joined = "\n".join(body["problems"])
    assert "bad.txt" in joined and "line 3" in joined
    assert "purchase-date" in joined and "'not a date'" in joined
    assert "item-price" in joined and "'abc'" in joined
    gmv = client.get(
        f"/api/v1/stores/{world.store_a1}/kpis", params={"period": PERIOD, "kpi": "gmv"}
    ).json()["kpis"]["gmv"]["value"]
    assert gmv == pytest.approx(STORE_A1_GMV)  # the good first row was not written either
    with world.ws.session() as s:
        status = s.scalar(select(ImportBatch.status).where(ImportBatch.file_name == "bad.txt"))
    assert status == "failed"


def test_bad_period_and_unknown_kpi_are_clear_422s(world: World) -> None:
    client = api_client(world, "owner_a")
    bad_period = client.get(f"/api/v1/stores/{world.store_a1}/kpis", params={"period": "2026-13"})
    assert bad_period.status_code == 422 and "2026-13" in bad_period.json()["detail"]
    bad_kpi = client.get(f"/api/v1/stores/{world.store_a1}/kpis", params={"kpi": "gmvv"})
    assert bad_kpi.status_code == 422 and "gmvv" in bad_kpi.json()["detail"]


def test_viewer_reads_but_cannot_import(world: World, tmp_path: Path) -> None:
    client = api_client(world, "viewer_a")
    assert client.get(f"/api/v1/stores/{world.store_a1}/kpis?period={PERIOD}").status_code == 200
    path = all_orders_file(tmp_path / "x.txt", EXTRA_ORDER)
    with path.open("rb") as fh:
        response = client.post(
            f"/api/v1/stores/{world.store_a1}/imports", files={"file": ("x.txt", fh)}
        )
    assert response.status_code == 403


def test_targets_set_list_and_evaluate(world: World) -> None:
    client = api_client(world, "owner_a")
    created = client.post(
        "/api/v1/targets",
        json={"kpi": "gmv", "store_id": world.store_a1, "period": PERIOD, "value": 301},
    )
    assert created.status_code == 201, created.text
    results = client.get(f"/api/v1/stores/{world.store_a1}/targets").json()["targets"]
    assert len(results) == 1
    assert results[0]["actual"] == pytest.approx(150.50)
    assert results[0]["achievement"] == pytest.approx(150.50 / 301)
    assert results[0]["status"] == "bad"  # 50% of target: beyond the 20% warning band
    # The agency sees the store target; seller B does not see the store at all.
    assert (
        len(
            api_client(world, "agency_ops")
            .get(f"/api/v1/stores/{world.store_a1}/targets")
            .json()["targets"]
        )
        == 1
    )
    assert (
        api_client(world, "owner_b").delete(f"/api/v1/targets/{created.json()['id']}").status_code
        == 404
    )
    assert client.delete(f"/api/v1/targets/{created.json()['id']}").status_code == 200


def test_grants_can_be_given_and_revoked_by_the_seller_only(world: World) -> None:
    owner = api_client(world, "owner_a")
    agency2 = api_client(world, "agency2_ops")
    assert agency2.get(f"/api/v1/stores/{world.store_a2}").status_code == 404
    by_agency = agency2.post(
        "/api/v1/grants",
        json={"agency_org_id": world.agency2_org, "store_id": world.store_a2, "scope": "read"},
    )
    assert by_agency.status_code == 404  # cannot grant itself a store it cannot see
    given = owner.post(
        "/api/v1/grants",
        json={"agency_org_id": world.agency2_org, "store_id": world.store_a2, "scope": "read"},
    )
    assert given.status_code == 201, given.text
    assert given.json()["status"] == "active"
    assert agency2.get(f"/api/v1/stores/{world.store_a2}").json()["access"] == "read"
    revoked = owner.post(f"/api/v1/grants/{given.json()['id']}/revoke", json={"reason": "ended"})
    assert revoked.json()["status"] == "revoked"
    assert agency2.get(f"/api/v1/stores/{world.store_a2}").status_code == 404
    with world.ws.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-2:] == ["grant.create", "grant.revoke"]


def test_users_are_added_by_org_admins_only(world: World) -> None:
    owner = api_client(world, "owner_a")
    created = owner.post(
        "/api/v1/users",
        json={
            "email": "New@Seller-A.test",
            "password": "long enough pw",
            "org_id": 1,
            "role": "ops",
        },
    )
    assert created.status_code == 201 and created.json()["email"] == "new@seller-a.test"
    viewer = api_client(world, "viewer_a")
    denied = viewer.post(
        "/api/v1/users",
        json={"email": "x@seller-a.test", "password": "long enough pw", "org_id": 1, "role": "ops"},
    )
    assert denied.status_code == 403
    other = api_client(world, "owner_b").post(
        "/api/v1/users",
        json={
            "email": "y@seller-b.test",
            "password": "long enough pw",
            "org_id": 1,
            "role": "owner",
        },
    )
    assert other.status_code == 403
    short = owner.post(
        "/api/v1/users",
        json={"email": "z@seller-a.test", "password": "short", "org_id": 1, "role": "ops"},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.json()["detail"]
    emails = {u["email"] for u in api_client(world, "owner_b").get("/api/v1/users").json()["users"]}
    assert emails == {"owner@seller-b.test"}


def test_api_tokens_authenticate_until_revoked(world: World) -> None:
    owner = api_client(world, "owner_a")
    made = owner.post("/api/v1/tokens", json={"name": "nightly"}).json()
    assert made["token"].startswith("lx_")
    script = TestClient(create_app(workspace=world.ws))
    script.headers["Authorization"] = f"Bearer {made['token']}"
    assert script.get("/api/v1/me").json()["email"] == "owner@seller-a.test"
    listed = owner.get("/api/v1/tokens").json()["tokens"]
    assert all("token" not in t for t in listed)  # the secret is never shown again
    assert owner.delete(f"/api/v1/tokens/{made['id']}").status_code == 200
    assert script.get("/api/v1/me").status_code == 401
    # Someone else's token id is "not found", not revoked.
    assert (
        api_client(world, "owner_b").delete(f"/api/v1/tokens/{listed[0]['id']}").status_code == 404
    )


def test_no_credentials_is_401_and_a_wrong_token_too(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws))
    assert client.get("/api/v1/stores").status_code == 401
    client.headers["Authorization"] = "Bearer lx_not-a-token"
    assert client.get("/api/v1/stores").status_code == 401


def test_session_cookie_writes_need_the_csrf_header(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws))
    csrf = login(client, world.emails["owner_a"])
    body = {"name": "from the browser"}
    assert client.post("/api/v1/tokens", json=body).status_code == 403
    assert (
        client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "x"}).status_code == 403
    )
    assert (
        client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    )
    # A form post without the token is refused as well.
    assert client.post("/settings/tokens", data=body).status_code == 403


def test_session_cookie_flags(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws, secure_cookies=True), base_url="https://t")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": world.emails["owner_a"], "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("lx_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


def test_login_form_needs_its_csrf_cookie(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws))
    response = client.post(
        "/login",
        data={"email": world.emails["owner_a"], "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "lx_session" not in response.cookies


def test_login_is_rate_limited_per_email(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws))
    email = world.emails["owner_a"]

    def attempt(password: str) -> int:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token.group(1)},
            follow_redirects=False,
        ).status_code

    assert [attempt("wrong password!") for _ in range(MAX_FAILURES_PER_EMAIL)] == [401] * 5
    assert attempt(PASSWORD) == 429  # even the right password waits now
    with world.ws.session() as s:
        failures = s.scalar(
            select(func.count()).where(
                LoginAttempt.email == email, LoginAttempt.succeeded.is_(False)
            )
        )
    assert failures == MAX_FAILURES_PER_EMAIL
    # Another account from the same address is not locked by it.
    other = world.emails["owner_b"]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    ok = client.post(
        "/login",
        data={"email": other, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_login_redirect_stays_on_this_site(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={
            "email": world.emails["owner_a"],
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_openapi_schema_lists_the_api(world: World) -> None:
    schema = api_client(world, "owner_a").get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/stores",
        "/api/v1/stores/{store_id}/kpis",
        "/api/v1/stores/{store_id}/imports",
        "/api/v1/kpis",
        "/api/v1/targets",
        "/api/v1/grants",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/platforms",
    } <= paths
    assert not any(p.startswith("/stores") or p == "/" for p in paths)  # pages are not API


def test_serve_runs_uploaded_imports_in_its_job_runner_and_the_page_polls(
    world: World, tmp_path: Path
) -> None:
    """The app's lifespan starts the embedded runner; the upload page polls the job."""
    from lianxing.jobs.runner import EmbeddedRunner

    runner = EmbeddedRunner(world.ws.settings, poll_seconds=0.1, schedule=None)
    with TestClient(create_app(workspace=world.ws, job_runner=runner)) as client:
        assert runner.running
        csrf = login(client, world.emails["owner_a"])
        good = all_orders_file(tmp_path / "more.txt", EXTRA_ORDER).read_bytes()
        sent = client.post(
            "/imports/upload",
            data={"store": str(world.store_a1), "csrf_token": csrf},
            files={"file": ("more.txt", good)},
        )
        assert 'id="import-pending"' in sent.text and "more.txt" in sent.text
        job = re.search(r'data-job="([^"]+)"', sent.text)
        assert job is not None
        fragment = ""
        for _ in range(300):
            fragment = client.get(f"/imports/jobs/{job.group(1)}").text
            if "import-pending" not in fragment:
                break
            time.sleep(0.1)
        assert 'id="import-accepted"' in fragment and "amazon.all_orders" in fragment
        assert 'id="import-alerts"' in fragment  # alert rules were evaluated after it
        kpis = client.get(
            f"/api/v1/stores/{world.store_a1}/kpis", params={"period": PERIOD, "kpi": "gmv"}
        ).json()["kpis"]
        assert kpis["gmv"]["value"] == pytest.approx(200.00)
        # The saved upload is removed once the job has finished.
        assert not any((world.ws.settings.home_dir / "uploads").glob("*/more.txt"))
    assert not runner.running  # stopped with the app
