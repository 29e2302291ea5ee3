"""The foundation's command line end to end: init, store add/list, audit verify."""

from __future__ import annotations

import json
import stat

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.config import Settings
from lianxing.db.models import AuditEntry, Store
from lianxing.workspace import open_workspace

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _count(settings: Settings, model: type) -> int:
    ws = open_workspace(settings)
    try:
        with ws.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        ws.close()


def test_init_is_safe_to_run_twice_and_creates_a_private_key(
    workspace_settings: Settings,
) -> None:
    code, out, _ = _run("init", "--json")
    assert code == 0
    assert json.loads(out)["created_key"] is True
    key_file = workspace_settings.key_file
    key = key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    entries = _count(workspace_settings, AuditEntry)

    code, out, _ = _run("init", "--json")
    assert code == 0
    assert json.loads(out)["created_key"] is False
    assert key_file.read_bytes() == key
    assert _count(workspace_settings, AuditEntry) == entries


def test_store_add_prints_an_id_and_list_shows_the_store(workspace_settings: Settings) -> None:
    assert _run("init")[0] == 0
    code, out, err = _run(
        "store", "add", "--platform", "amazon", "--site", "US", "--name", "X", "--json"
    )
    assert code == 0, err
    created = json.loads(out)
    assert isinstance(created["id"], int)
    assert created["currency"] == "USD"
    assert created["timezone"] == "America/Los_Angeles"
    assert created["marketplace_id"] == "ATVPDKIKX0DER"
    assert created["status"] == "planning"

    code, out, _ = _run(
        "store",
        "add",
        "--platform",
        "shopee",
        "--site",
        "my",
        "--name",
        "Shopee 马来",
        "--launch-date",
        "2026-06-01",
        "--json",
    )
    assert code == 0
    shopee = json.loads(out)
    assert (shopee["currency"], shopee["status"], shopee["launch_date"]) == (
        "MYR",
        "live",
        "2026-06-01",
    )

    code, out, _ = _run("store", "list", "--json")
    assert code == 0
    listed = json.loads(out)["stores"]
    assert [s["id"] for s in listed] == [created["id"], shopee["id"]]
    assert listed[1]["name"] == "Shopee 马来"


def test_bad_input_is_one_line_on_stderr_exit_2_and_writes_nothing(
    workspace_settings: Settings,
) -> None:
    assert _run("init")[0] == 0
    audit_before = _count(workspace_settings, AuditEntry)
    for args, expected in [
        (["--platform", "amazon", "--site", "XX", "--name", "X"], "valid sites: US"),
        (["--platform", "ebay", "--site", "US", "--name", "X"], "unknown platform 'ebay'"),
        (
            ["--platform", "amazon", "--site", "US", "--name", "X", "--launch-date", "2026-13-01"],
            "expected YYYY-MM-DD",
        ),
        (["--platform", "amazon", "--site", "US", "--name", "  "], "non-empty name"),
        (
            ["--platform", "amazon", "--site", "US", "--name", "X", "--status", "open"],
            "not one of planning",
        ),
    ]:
        code, out, err = _run("store", "add", *args)
        assert code == 2, (args, out, err)
        assert expected in err
        assert len(err.strip().splitlines()) == 1
        assert out == ""
    assert _count(workspace_settings, Store) == 0
    assert _count(workspace_settings, AuditEntry) == audit_before


def test_commands_on_a_missing_workspace_say_run_init(workspace_settings: Settings) -> None:
    code, _, err = _run("store", "list")
    assert code == 2
    assert "lianxing init" in err


def test_audit_verify_passes_then_fails_after_a_hand_edit(workspace_settings: Settings) -> None:
    assert _run("init")[0] == 0
    for name in ("A", "B", "C"):
        assert _run("store", "add", "--platform", "amazon", "--site", "UK", "--name", name)[0] == 0
    code, out, _ = _run("audit", "verify", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["entries_verified"] >= 4  # org, workspace, three stores

    ws = open_workspace(workspace_settings)
    try:
        with ws.engine.begin() as conn:
            target = (
                conn.execute(
                    text("SELECT seq FROM audit_log WHERE action = 'store.create' ORDER BY seq")
                )
                .scalars()
                .all()[1]
            )
            conn.execute(
                text("UPDATE audit_log SET entity_id = '999' WHERE seq = :s"), {"s": target}
            )
    finally:
        ws.close()
    code, out, _ = _run("audit", "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["broken_at"] == target
    assert "hash" in report["reason"]


def test_audit_verify_detects_a_deleted_row(workspace_settings: Settings) -> None:
    assert _run("init")[0] == 0
    for name in ("A", "B"):
        assert _run("store", "add", "--platform", "amazon", "--site", "DE", "--name", name)[0] == 0
    ws = open_workspace(workspace_settings)
    try:
        with ws.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    finally:
        ws.close()
    code, out, _ = _run("audit", "verify", "--json")
    assert (code, json.loads(out)["broken_at"]) == (1, 3)
