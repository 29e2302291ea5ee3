"""``lianxing demo`` fills a workspace end to end, and running it again changes nothing."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.config import Settings
from lianxing.db.audit import verify
from lianxing.db.models import ImportBatch
from lianxing.workspace import open_workspace

runner = CliRunner()


def test_demo_fills_the_workspace_and_is_idempotent(workspace_settings: Settings) -> None:
    first = runner.invoke(app, ["demo", "--no-serve", "--today", "2026-11-01", "--json"])
    assert first.exit_code == 0, first.stderr
    result = json.loads(first.stdout)
    assert [(s["platform"], s["site"], s["currency"]) for s in result["stores"]] == [
        ("amazon", "US", "USD"),
        ("shopee", "MY", "MYR"),
        ("tiktok", "UK", "GBP"),
    ]
    start, end = (date.fromisoformat(result["period"][k]) for k in ("start", "end"))
    assert end == date(2026, 10, 31)  # the data ends the day before "today"
    assert 180 <= (end - start).days <= 186  # six months
    tables = result["tables"]
    assert set(tables) == {
        "orders",
        "order_lines",
        "refunds",
        "returns",
        "ad_daily",
        "traffic_daily",
        "listings",
        "account_health",
        "fees",
        "cogs",
        "cs_tickets",
        "fx_rates",
    }
    assert tables["order_lines"]["new"] > 10_000
    assert result["url"] == "http://127.0.0.1:8000/"
    assert [login["email"] for login in result["logins"]] == [
        "owner@demo.lianxing.dev",
        "ops@agency.lianxing.dev",
    ]
    assert all(t["updated"] == 0 and t["unchanged"] == 0 for t in tables.values())

    second = runner.invoke(app, ["demo", "--no-serve", "--today", "2026-11-01", "--json"])
    assert second.exit_code == 0, second.stderr
    again = json.loads(second.stdout)
    assert [s["id"] for s in again["stores"]] == [s["id"] for s in result["stores"]]
    assert all(t["new"] == 0 and t["updated"] == 0 for t in again["tables"].values())
    assert again["tables"]["order_lines"]["unchanged"] == tables["order_lines"]["new"]
    assert again["logins"] == result["logins"]

    targets = runner.invoke(app, ["target", "list", "--json", "--as-of", "2026-11-01"])
    assert targets.exit_code == 0, targets.stderr
    rows = json.loads(targets.stdout)["targets"]
    # Three targets a store, created once however often the demo runs.
    assert sorted(r["target"]["kpi"] for r in rows) == sorted(
        ["gmv", "roas", "late_shipment_rate"] * 3
    )
    for store in result["stores"]:
        status = runner.invoke(app, ["launch", "status", "--store", str(store["id"]), "--json"])
        assert status.exit_code == 0, status.stderr

    ws = open_workspace(workspace_settings)
    try:
        with ws.session() as session:
            batch = session.scalars(select(ImportBatch)).one()
            assert (batch.source, batch.status) == ("demo", "succeeded")
            assert batch.rows_unchanged == sum(t["new"] for t in tables.values())
            checked, broken = verify(session)
            assert broken is None and checked >= 6
        stored = ws.warehouse.table("order_lines").count().execute()
        assert stored == tables["order_lines"]["new"]
    finally:
        ws.close()
