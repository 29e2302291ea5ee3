"""``lianxing export --all`` round trip, and mailing a report through a real SMTP server
(aiosmtpd on loopback)."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lianxing.alerts.channels.email import SmtpConfig
from lianxing.cli import app
from lianxing.domain.facts import FACT_TABLES
from lianxing.domain.launch import DocumentType
from lianxing.launch.vault import add_document
from lianxing.reports.compute import ReportRequest, compute_report
from lianxing.reports.model import kpi_changes
from lianxing.reports.sending import send_report
from lianxing.reports.service import render
from lianxing.stores import create_store
from lianxing.workspace import Workspace
from loopback_smtp import smtp_server as loopback_smtp_server

runner = CliRunner()


def _store_with_facts(ws: Workspace) -> int:
    with ws.session() as session:
        store = create_store(
            session,
            platform="amazon",
            site="US",
            name="测试店 Test",
            launch_date=dt.date(2026, 9, 1),
        )
    with ws.warehouse.batch("b-1", "manual") as batch:
        batch.append(
            "orders",
            [
                {"store_id": store.id, "order_id": f"O{i}", "currency": "USD", "status": "shipped",
                 "purchase_ts": dt.datetime(2026, 10, 3 + i, 20)}
                for i in range(3)
            ],
        )  # fmt: skip
        batch.append(
            "order_lines",
            [
                {"store_id": store.id, "order_id": f"O{i}", "line_id": "1", "sku": "SKU-1",
                 "quantity": 2, "item_price": 25.5 * (i + 1), "currency": "USD"}
                for i in range(3)
            ],
        )  # fmt: skip
    return store.id


def test_export_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    store = _store_with_facts(workspace)
    original = "营业执照 business licence ✓".encode() + bytes(range(256))
    with workspace.session() as session:
        doc = add_document(
            session,
            workspace.cipher,
            workspace.settings.vault_dir,
            content=original,
            file_name="营业执照.pdf",
            doc_type=DocumentType.BUSINESS_LICENCE,
            store_id=store,
        )
    # The vault holds ciphertext only.
    assert original not in b"".join(p.read_bytes() for p in workspace.settings.vault_dir.iterdir())

    out = tmp_path / "export"
    result = runner.invoke(app, ["export", "--all", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output

    for name in FACT_TABLES:
        warehouse_rows = workspace.warehouse.ibis.to_pyarrow(
            workspace.warehouse.table(name)
        ).num_rows
        assert pq.read_metadata(out / "facts" / f"{name}.parquet").num_rows == warehouse_rows
    assert pq.read_table(out / "facts" / "orders.parquet").num_rows == 3
    lines = pq.read_table(out / "facts" / "order_lines.parquet").to_pylist()
    assert sorted(float(r["item_price"]) for r in lines) == [25.5, 51.0, 76.5]

    index = json.loads((out / "documents" / "index.json").read_text(encoding="utf-8"))
    assert [d["id"] for d in index] == [doc.id]
    assert (out / index[0]["export_path"]).read_bytes() == original

    stores = json.loads((out / "stores.json").read_text(encoding="utf-8"))["stores"]
    assert [s["name"] for s in stores] == ["测试店 Test"]
    audit = json.loads((out / "audit" / "audit_log.json").read_text(encoding="utf-8"))
    assert {"document.read", "workspace.export"} <= {a["action"] for a in audit}
    assert (out / "audit" / "audit_log.csv").read_text(encoding="utf-8").count("\n") == len(
        audit
    ) + 1
    users = json.loads((out / "app" / "users.json").read_text(encoding="utf-8"))
    assert all("password_hash" not in u for u in users)

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - set(listed) == {"manifest.json"}
    for path, entry in listed.items():
        assert hashlib.sha256((out / path).read_bytes()).hexdigest() == entry["sha256"], path
    assert listed["facts/orders.parquet"]["rows"] == 3

    again = runner.invoke(app, ["export", "--all", "-o", str(out)])
    assert again.exit_code == 2
    assert "exists and is not an empty folder" in again.stderr


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    inbox = _Inbox()
    with loopback_smtp_server(inbox) as port:
        yield inbox, port


def test_send_report_as_attachment(workspace: Workspace, smtp_server: Any) -> None:
    inbox, port = smtp_server
    store = _store_with_facts(workspace)
    report = compute_report(
        workspace, ReportRequest("2026-10", store=store), today=dt.date(2026, 11, 15)
    )
    assert report.kpi("orders").value == 3
    assert report.kpi("gmv").value == pytest.approx(153.0)
    content = render(report, "xlsx", "en")
    send_report(
        report,
        content,
        fmt="xlsx",
        file_name="review-2026-10.xlsx",
        recipients=["seller@example.com"],
        lang="en",
        sha256=hashlib.sha256(content).hexdigest(),
        smtp=SmtpConfig(
            host="127.0.0.1", port=port, security="none", sender="lianxing@example.com"
        ),
    )
    [(sender, recipients, raw)] = inbox.messages
    assert (sender, recipients) == ("lianxing@example.com", ["seller@example.com"])
    message = email.message_from_bytes(raw, _class=EmailMessage)
    assert "2026-10" in str(message["Subject"])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "review-2026-10.xlsx"
    assert attachment.get_payload(decode=True) == content


def test_kpi_changes_names_moved_values_and_definitions() -> None:
    before = {
        "gmv": {"value": 100.0, "definition": "a"},
        "orders": {"value": 3.0, "definition": "b"},
        "roas": {"value": None, "definition": "c"},
        "aov": {"value": 1 / 3, "definition": "d"},
    }
    after = {
        "gmv": {"value": 200.0, "definition": "a"},
        "orders": {"value": 3.0, "definition": "b2"},
        "roas": {"value": None, "definition": "c"},
        "aov": {"value": (1 / 3) * (1 + 1e-12), "definition": "d"},  # float noise, not a change
    }
    changes = {c.kpi_id: c for c in kpi_changes(before, after)}
    assert set(changes) == {"gmv", "orders"}
    assert changes["gmv"].to_json()["change"] == 100.0
    assert changes["orders"].definition_changed and changes["orders"].before == 3.0
