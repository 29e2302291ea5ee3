"""``lianxing connect`` / ``lianxing sync`` / ``lianxing sync status`` against the fake Shopee."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fake_platforms.shopee import FakeShopee, make_orders
from helpers import add_store
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.workspace import Workspace

SHOP = "777001"
START = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())


def test_connect_sync_and_status(workspace: Workspace, tmp_path: Path) -> None:
    store = add_store(workspace, "shopee", "MY", "cli shop")
    runner = CliRunner()
    # Published-rate buckets (scale 1) on both sides.
    fake = FakeShopee(
        limits={"*": (10.0, 10)}, page_size=10, orders={SHOP: make_orders(SHOP, 20, START)}
    )
    with fake.running():
        token_file = tmp_path / "refresh.txt"
        token_file.write_text(fake.grant(SHOP) + "\n")
        args = [
            "connect",
            "--store",
            str(store),
            "--app-key",
            fake.partner_id,
            "--token-file",
            str(token_file),
            "--account",
            f"shop_id={SHOP}",
            "--api-base",
            fake.url,
            "--auth-base",
            fake.url,
            "--json",
        ]
        connected = runner.invoke(app, args, env={"LIANXING_APP_SECRET": fake.partner_key})
        assert connected.exit_code == 0, connected.output
        assert json.loads(connected.stdout)["status"] == "active"
        synced = runner.invoke(
            app, ["sync", "--store", str(store), "--since", "2026-10-30", "--json"]
        )
        assert synced.exit_code == 0, synced.output
        streams = {s["stream"]: s for s in json.loads(synced.stdout)["connections"][0]["streams"]}
        assert streams["orders"]["records"] == 20
        assert streams["orders"]["tables"]["orders"]["new"] == 20
        bad = runner.invoke(app, ["sync", "--store", "999"])
        assert bad.exit_code == 2 and "no store with id 999" in bad.output
    assert fake.violations == 0 and fake.bad_signatures == 0
    shown = runner.invoke(app, ["sync", "status", "--json"])
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.stdout)["connections"]
    assert row["status"] == "active" and row["account"]["shop_id"] == SHOP
    assert {s["stream"] for s in row["streams"]} == {
        "orders",
        "finances",
        "returns",
        "listings",
        "ads",
    }
    assert all(s["lag_seconds"] is not None and s["lag_seconds"] < 600 for s in row["streams"])
