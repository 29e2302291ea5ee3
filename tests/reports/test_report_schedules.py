"""Scheduled reports through the job scheduler and a real SMTP server on loopback: the
attachment is the frozen snapshot (same sha256), sent once per period however often the
scheduler runs; ``report --email`` uses the same e-mail channel settings."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from report_mailbox import Mailbox
from sqlalchemy import func, select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.models_alerts import Job
from lianxing.db.models_report_schedules import ReportSchedule, ReportScheduleRun
from lianxing.db.models_reports import ReportSnapshot
from lianxing.jobs.runner import EmbeddedRunner, Schedule, run_schedule
from lianxing.reports.schedules import due_period, local_today, send_scheduled
from lianxing.reports.service import verify_file
from lianxing.stores import create_store
from lianxing.workspace import Workspace

runner = CliRunner()
REPORTS_ONLY = Schedule(
    evaluate_every=None, deliver_every=None, reports_every=dt.timedelta(minutes=15)
)
NOV2 = dt.datetime(2026, 11, 2, 9, 0)  # 01:00 on Nov 2 in Los Angeles: October is due


def _store(ws: Workspace, mailbox: Mailbox) -> int:
    with ws.session() as session:
        store = create_store(session, platform="amazon", site="US", name="星河 Xinghe US")
    with ws.warehouse.batch("b1", "manual") as b:
        b.append("orders", [
            {"store_id": store.id, "order_id": "O1", "status": "shipped", "currency": "USD",
             "purchase_ts": dt.datetime(2026, 10, 9, 18)},
            {"store_id": store.id, "order_id": "O2", "status": "shipped", "currency": "USD",
             "purchase_ts": dt.datetime(2026, 11, 1, 18)},
        ])  # fmt: skip
        b.append("order_lines", [
            {"store_id": store.id, "order_id": "O1", "line_id": "1", "sku": "S", "quantity": 2,
             "item_price": 88.5, "currency": "USD"},
            {"store_id": store.id, "order_id": "O2", "line_id": "1", "sku": "S", "quantity": 1,
             "item_price": 40.0, "currency": "USD"},
        ])  # fmt: skip
    result = runner.invoke(
        app,
        ["alert", "channel", "add", "--name", "reports mail", "--kind", "email",
         "--set", f"host={mailbox.host}", "--set", f"port={mailbox.port}",
         "--set", "sender=lianxing@example.com", "--set", "recipients=ops@example.com"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return store.id


def _run_scheduler(ws: Workspace, now: dt.datetime) -> None:
    run_schedule(ws, REPORTS_ONLY, now)
    jobs = EmbeddedRunner(ws.settings, schedule=None)
    jobs._workspace = ws  # the test's open workspace (one DuckDB file, one process)
    while jobs.run_pending():  # submit_due, then the send jobs it submitted
        pass


def _attachment(raw: bytes) -> tuple[EmailMessage, str, bytes]:
    message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
    [part] = list(message.iter_attachments())
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return message, str(part.get_filename()), payload


def test_monthly_schedule_mails_the_snapshot_once_per_period(
    workspace: Workspace, mailbox: Mailbox
) -> None:
    store = _store(workspace, mailbox)
    added = runner.invoke(
        app,
        ["report", "schedule", "add", "--store", str(store), "--every", "month",
         "--to", "seller@example.com", "--to", "boss@example.com", "--format", "xlsx",
         "--lang", "en", "--json"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    schedule = json.loads(added.stdout)
    assert (schedule["every"], schedule["format"], schedule["to"]) == (
        "month", "xlsx", ["seller@example.com", "boss@example.com"]
    )  # fmt: skip

    _run_scheduler(workspace, NOV2)
    _run_scheduler(workspace, NOV2 + dt.timedelta(minutes=20))  # another slot, same period
    _run_scheduler(workspace, NOV2 + dt.timedelta(minutes=20))  # the same slot again
    again = send_scheduled(workspace, schedule["id"], "2026-10", now=NOV2)  # a stray re-run
    assert again["skipped"] == "already sent"

    [(sender, recipients, raw)] = mailbox.messages
    assert (sender, recipients) == (
        "lianxing@example.com",
        ["seller@example.com", "boss@example.com"],
    )
    message, file_name, content = _attachment(raw)
    assert file_name == f"lianxing-review-store{store}-2026-10.xlsx"
    assert "2026-10" in str(message["Subject"])
    sha256 = hashlib.sha256(content).hexdigest()
    with workspace.session() as session:
        [snapshot] = session.scalars(select(ReportSnapshot)).all()
        [run] = session.scalars(select(ReportScheduleRun)).all()
        assert (snapshot.scope, snapshot.period, snapshot.format) == (
            f"store:{store}",
            "2026-10",
            "xlsx",
        )
        assert snapshot.sha256 == sha256 == run.sha256 and run.snapshot_id == snapshot.id
        assert snapshot.kpis["gmv"]["value"] == pytest.approx(88.5)  # October only
        assert verify_file(session, content).ok
        # Three scheduler slots were looked at, one send job was recorded.
        kinds = dict(session.execute(select(Job.kind, func.count()).group_by(Job.kind)).all())
        assert kinds == {"reports.submit_due": 2, "reports.send_scheduled": 1}
    assert sha256 in message.get_body(("plain",)).get_content()

    listed = runner.invoke(app, ["report", "schedule", "list", "--json"])
    [entry] = json.loads(listed.stdout)["schedules"]
    assert entry["last_period"] == "2026-10"

    _run_scheduler(workspace, dt.datetime(2026, 12, 1, 9, 0))  # December 1st: November is due
    assert len(mailbox.messages) == 2
    _, file_name, content = _attachment(mailbox.messages[1][2])
    assert file_name == f"lianxing-review-store{store}-2026-11.xlsx"
    with workspace.session() as session:
        november = session.scalars(
            select(ReportSnapshot).where(ReportSnapshot.period == "2026-11")
        ).one()
        assert november.sha256 == hashlib.sha256(content).hexdigest()
        assert november.kpis["gmv"]["value"] == pytest.approx(40.0)


def test_weekly_period_is_the_last_complete_iso_week_in_the_store_timezone() -> None:
    # 2026-11-02 is a Monday. At 05:00 UTC it is still Sunday in Los Angeles.
    assert (
        due_period("week", local_today("America/Los_Angeles", dt.datetime(2026, 11, 2, 5))).label
        == "2026-W43"
    )
    assert (
        due_period("week", local_today("America/Los_Angeles", dt.datetime(2026, 11, 2, 9))).label
        == "2026-W44"
    )
    assert (
        due_period("week", local_today("Asia/Shanghai", dt.datetime(2026, 11, 1, 17))).label
        == "2026-W44"
    )
    assert due_period("month", dt.date(2026, 1, 1)).label == "2025-12"
    assert due_period("month", dt.date(2026, 3, 31)).label == "2026-02"


def test_schedule_input_problems_one_line_each_and_nothing_written(
    workspace: Workspace, mailbox: Mailbox
) -> None:
    no_channel = runner.invoke(
        app, ["report", "schedule", "add", "--store", "1", "--every", "week", "--to", "a@b.com"]
    )
    assert no_channel.exit_code == 2
    assert "no enabled e-mail channel" in no_channel.stderr
    _store(workspace, mailbox)
    bad = runner.invoke(
        app,
        ["report", "schedule", "add", "--store", "99", "--every", "day", "--to", "nobody",
         "--format", "docx", "--lang", "fr"],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --store: no store with id 99",
        "error: --every: 'day'; expected week or month",
        "error: --to: 'nobody' is not an e-mail address (name@example.com)",
        "error: --format: 'docx'; expected one of html, pdf, xlsx",
        "error: --lang: 'fr'; expected one of zh, en",
    ]
    with workspace.session() as session:
        assert session.scalar(select(func.count()).select_from(ReportSchedule)) == 0


def test_report_email_uses_the_email_channel(
    workspace: Workspace, mailbox: Mailbox, tmp_path: Path
) -> None:
    out = tmp_path / "review.html"
    no_channel = runner.invoke(
        app,
        ["report", "--store", "1", "--period", "2026-10", "--format", "html", "-o", str(out),
         "--email", "seller@example.com", "--as-of", "2026-11-15"],
    )  # fmt: skip
    assert no_channel.exit_code == 2 and "no enabled e-mail channel" in no_channel.stderr
    assert not out.exists()
    store = _store(workspace, mailbox)
    sent = runner.invoke(
        app,
        ["report", "--store", str(store), "--period", "2026-10", "--format", "html",
         "-o", str(out), "--email", "seller@example.com", "--channel", "reports mail",
         "--as-of", "2026-11-15", "--json"],
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    [(sender, recipients, raw)] = mailbox.messages
    assert (sender, recipients) == ("lianxing@example.com", ["seller@example.com"])
    _, file_name, content = _attachment(raw)
    assert file_name == "review.html" and content == out.read_bytes()
    assert json.loads(sent.stdout)["snapshot"]["sha256"] == hashlib.sha256(content).hexdigest()
