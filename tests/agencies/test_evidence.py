"""The dispute evidence pack round-trips through `evidence verify`, and changing, adding or
removing any file in it makes verification fail."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lianxing.accounts.service import add_grant, create_org, revoke_grant
from lianxing.agencies.freeze import freeze_agency
from lianxing.cli import app
from lianxing.contracts.remediation import sync_remediation
from lianxing.contracts.service import add_contract, workspace_catalog
from lianxing.contracts.tickets import open_ticket, reply
from lianxing.stores import create_store
from lianxing.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


@pytest.fixture
def contract_id(workspace: Workspace) -> int:
    with workspace.session() as session:
        store = create_store(
            session, platform="amazon", site="US", name="Xinghe US", launch_date=dt.date(2026, 1, 1)
        )
        agency = create_org(session, name="Lianpao", kind="agency", actor="t")
        first = add_grant(
            session,
            agency_org_id=agency.id,
            store_id=store.id,
            scope="operate",
            expires_at=None,
            actor="seller",
        )
        revoke_grant(session, first.id, reason="换成只读 / read only from now", actor="seller")
        add_grant(
            session,
            agency_org_id=agency.id,
            store_id=store.id,
            scope="read",
            expires_at=None,
            actor="seller",
        )
        freeze_agency(session, agency_org_id=agency.id, reason="异常登录 / odd login", actor="s")
    order = {
        "store_id": 1,
        "order_id": "A1",
        "purchase_ts": dt.datetime(2026, 1, 15, 20),
        "status": "shipped",
        "currency": "USD",
    }
    line = {
        **{k: order[k] for k in ("store_id", "order_id", "currency")},
        "line_id": "1",
        "sku": "SKU-1",
        "quantity": 1,
        "item_price": 2000,
    }
    with workspace.warehouse.batch("b1", "api:amazon") as batch:
        batch.append("orders", [order])
        batch.append("order_lines", [line])
    with workspace.session() as session:
        view, _ = add_contract(session, workspace_catalog(workspace), FIXTURES / "remediation.yaml")
        ticket = open_ticket(
            session,
            contract_id=view.id,
            severity="high",
            title="Listing 被下架 / listing suppressed",
            body="请今天处理 / please fix today",
            author="seller",
            at=dt.datetime(2026, 2, 3, 9, 0),
        )
        reply(
            session,
            ticket.id,
            body="已提交申诉 / appeal filed",
            author="agency",
            side="agency",
            at=dt.datetime(2026, 2, 3, 15, 0),
        )
    sync_remediation(workspace, view.id, dt.date(2026, 2, 10))
    return view.id


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """Copy a zip, replacing (bytes), removing (None) or adding entries."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name in change:
                if change[name] is not None:
                    new.writestr(name, change[name] or b"")
                continue
            new.writestr(name, old.read(name))
        for name, data in change.items():
            if name not in old.namelist() and data is not None:
                new.writestr(name, data)


def test_pack_round_trips_and_any_change_fails(
    workspace: Workspace, contract_id: int, tmp_path: Path
) -> None:
    pack = tmp_path / "pack.zip"
    result = runner.invoke(
        app,
        [
            "evidence",
            "--contract",
            str(contract_id),
            "-o",
            str(pack),
            "--as-of",
            "2026-02-10",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    paths = [f["path"] for f in manifest["files"]]
    assert paths == [
        "audit/excerpt.json",
        "contract/contract.json",
        "contract/signed.yaml",
        "grants/grants.json",
        "kpi_definitions/locked.json",
        "kpi_snapshots/report_snapshots.json",
        "remediation/plans.json",
        "settlement/statement-2026-02-10.json",
        "tickets/ticket-1.json",
    ]
    with zipfile.ZipFile(pack) as opened:
        signed = opened.read("contract/signed.yaml").decode()
        ticket: dict[str, Any] = json.loads(opened.read("tickets/ticket-1.json"))
        grants = json.loads(opened.read("grants/grants.json"))
        audit = json.loads(opened.read("audit/excerpt.json"))
        plans = json.loads(opened.read("remediation/plans.json"))
    assert signed == (FIXTURES / "remediation.yaml").read_text(encoding="utf-8")
    assert [(m["side"], m["at"]) for m in ticket["messages"]] == [
        ("seller", "2026-02-03T09:00:00"),
        ("agency", "2026-02-03T15:00:00"),
    ]
    # 6 h to first response (4 h due); unresolved long past its 24 h (the pack is made now).
    assert ticket["breaches"] == ["first_response", "resolution"]
    assert [(g["scope"], g["revoked_reason"]) for g in grants["grants"]] == [
        ("operate", "换成只读 / read only from now"),
        ("read", None),
    ]
    assert grants["freezes"][0]["reason"] == "异常登录 / odd login"
    assert [p["status"] for p in plans] == ["open"]
    actions = {e["action"] for e in audit}
    assert {
        "contract.sign",
        "ticket.open",
        "ticket.reply",
        "ticket.sla_breach",
        "grant.create",
        "grant.revoke",
        "grant.freeze",
        "remediation.open",
    } <= actions

    result = runner.invoke(app, ["evidence", "verify", str(pack), "--json"])
    assert result.exit_code == 0, result.output
    verified = json.loads(result.stdout)
    assert verified["ok"] and verified["files_checked"] == 9
    assert verified["audit_entries_checked"] == len(audit)
    assert verified["manifest_sha256"] == manifest["sha256"]
    assert verified["recorded_audit_seq"] is not None  # this workspace made it

    with zipfile.ZipFile(pack) as opened:
        names = opened.namelist()
        contents = {name: opened.read(name) for name in names}
    for name in names:
        if name == "manifest.json":
            continue
        tampered = tmp_path / f"tampered-{name.replace('/', '_')}.zip"
        _rewrite(pack, tampered, {name: contents[name].replace(b"2", b"3", 1) + b" "})
        result = runner.invoke(app, ["evidence", "verify", str(tampered)])
        assert result.exit_code == 1, name
        assert f"FAIL {tampered}: {name}: sha256" in result.stdout, name
    removed = tmp_path / "removed.zip"
    _rewrite(pack, removed, {"tickets/ticket-1.json": None})
    result = runner.invoke(app, ["evidence", "verify", str(removed)])
    assert result.exit_code == 1
    assert "tickets/ticket-1.json: listed in the manifest but missing" in result.stdout
    added = tmp_path / "added.zip"
    _rewrite(pack, added, {"tickets/ticket-2.json": b"{}"})
    result = runner.invoke(app, ["evidence", "verify", str(added)])
    assert "tickets/ticket-2.json: not listed in the manifest" in result.stdout
    # Re-writing the manifest to match an edited excerpt still fails: the entry's own hash.
    edited = json.loads(contents["audit/excerpt.json"])
    edited[0]["actor"] = "someone else"
    body = json.dumps(edited).encode()
    forged_manifest = json.loads(contents["manifest.json"])
    for entry in forged_manifest["files"]:
        if entry["path"] == "audit/excerpt.json":
            entry["sha256"] = hashlib.sha256(body).hexdigest()
            entry["bytes"] = len(body)
    forged = tmp_path / "forged.zip"
    _rewrite(
        pack,
        forged,
        {"audit/excerpt.json": body, "manifest.json": json.dumps(forged_manifest).encode()},
    )
    result = runner.invoke(app, ["evidence", "verify", str(forged), "--json"])
    assert result.exit_code == 1
    body_json = json.loads(result.stdout)
    assert body_json["recorded_audit_seq"] is None
    assert any("does not hash to its recorded hash" in p for p in body_json["problems"])


def test_bad_requests_get_one_line_and_exit_2(workspace: Workspace, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence", "--contract", "9", "-o", str(tmp_path / "p.zip")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --contract: no contract with id 9"
    result = runner.invoke(app, ["evidence", "--contract", "9", "-o", str(tmp_path / "p.txt")])
    assert result.exit_code == 2 and "does not end in .zip" in result.stderr
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    result = runner.invoke(app, ["evidence", "verify", str(not_zip)])
    assert result.exit_code == 1 and "not a readable zip file" in result.stdout
