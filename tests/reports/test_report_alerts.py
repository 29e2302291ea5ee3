"""The report's "alerts fired" section: a scripted alert (fired, acknowledged, resolved,
its e-mail notification sent) appears with its times in HTML, PDF and XLSX, in Chinese and
English; another store's alert and an alert that fired after the period do not."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from report_mailbox import Mailbox

from lianxing.alerts.service import ack_alert, add_channel, add_rule, evaluate
from lianxing.reports.compute import ReportRequest, compute_report
from lianxing.reports.service import render
from lianxing.stores import create_store
from lianxing.workspace import Workspace

FIRED = dt.datetime(2026, 10, 20, 10, 0)  # naive UTC; October in Los Angeles
ACKED = dt.datetime(2026, 10, 21, 8, 30)
RESOLVED = dt.datetime(2026, 10, 25, 12, 0)
AFTER = dt.datetime(2026, 11, 3, 9, 0)  # November: outside the report's period


def _orders(ws: Workspace, store_id: int, batch: str, amounts: dict[str, float]) -> None:
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for i, (order_id, amount) in enumerate(amounts.items()):
        orders.append(
            {"store_id": store_id, "order_id": order_id, "status": "shipped", "currency": "USD",
             "purchase_ts": dt.datetime(2026, 10, 5 + i, 18)}
        )  # fmt: skip
        lines.append(
            {"store_id": store_id, "order_id": order_id, "line_id": "1", "sku": "S",
             "quantity": 1, "item_price": amount, "currency": "USD"}
        )  # fmt: skip
    with ws.warehouse.batch(batch, "manual") as b:
        b.append("orders", orders)
        b.append("order_lines", lines)


def _scripted_alerts(ws: Workspace, mailbox: Mailbox) -> tuple[int, int]:
    """Store A's GMV rule fires, is acked and resolves in October; store B's fires too."""
    with ws.session() as session:
        store_a = create_store(session, platform="amazon", site="US", name="店铺A Store A")
        store_b = create_store(session, platform="amazon", site="US", name="店铺B Store B")
        channel = add_channel(
            session,
            ws.cipher,
            name="ops mail",
            kind="email",
            locale="zh",
            config={"host": mailbox.host, "port": mailbox.port, "sender": "lx@example.com",
                    "recipients": "ops@example.com"},
            secrets={},
            actor="test",
        )  # fmt: skip
        for store in (store_a, store_b):
            add_rule(
                session,
                name=f"GMV low {store.id}",
                kind="kpi_threshold",
                scope_kind="store",
                scope_ref=store.id,
                severity="critical",
                params={"kpi": "gmv", "op": "<", "threshold": 1000, "period": "2026-10"},
                channel_ids=[channel.id],
            )
    _orders(ws, store_a.id, "a1", {"A1": 400.0})
    _orders(ws, store_b.id, "b1", {"B1": 100.0})
    fired = evaluate(ws, now=FIRED)
    assert sorted(t["to"] for t in fired.transitions) == ["firing", "firing"]
    assert fired.delivery is not None and fired.delivery.sent == 2
    alert_a = next(t["alert"] for t in fired.transitions if t["key"] == f"store:{store_a.id}")
    with ws.session() as session:
        ack_alert(session, alert_a, actor="运营小王", now=ACKED)
    _orders(ws, store_a.id, "a2", {"A1": 400.0, "A2": 700.0})  # GMV 1100: clear
    resolved = evaluate(ws, now=RESOLVED, store_id=store_a.id)
    assert [(t["alert"], t["to"]) for t in resolved.transitions] == [(alert_a, "resolved")]
    _orders(ws, store_a.id, "a3", {"A1": 400.0, "A2": 100.0})  # 500 again, in November
    again = evaluate(ws, now=AFTER, store_id=store_a.id)
    assert [(t["alert"], t["to"]) for t in again.transitions] == [(alert_a, "firing")]
    return store_a.id, alert_a


def test_alert_section_in_every_format_and_language(
    workspace: Workspace, mailbox: Mailbox, tmp_path: Path
) -> None:
    store_a, alert_a = _scripted_alerts(workspace, mailbox)
    report = compute_report(
        workspace, ReportRequest("2026-10", store=store_a), today=dt.date(2026, 11, 15)
    )
    [line] = report.alerts  # store B's alert and the November firing are not in it
    assert (line.alert_id, line.rule, line.severity, line.store_id) == (
        alert_a, f"GMV low {store_a}", "critical", store_a
    )  # fmt: skip
    assert (line.fired_at, line.acked_at, line.acked_by, line.resolved_at) == (
        FIRED, ACKED, "运营小王", RESOLVED
    )  # fmt: skip
    assert (line.kind, line.value, line.delivery_status) == ("kpi_threshold", 400.0, "sent")
    # The words are the latest observation's: October's GMV is 500 since the re-import.
    assert "= 500" in line.summary.en and "= 500" in line.summary.zh

    words = {
        "zh": ("本期触发的告警", "严重", "已发送"),
        "en": ("Alerts fired", "critical", "sent"),
    }
    times = ("2026-10-20 10:00 UTC", "2026-10-21 08:30 UTC", "2026-10-25 12:00 UTC")
    for lang, (heading, severity, delivery) in words.items():
        html = render(report, "html", lang).decode("utf-8")
        row = re.search(rf'<tr data-alert="{alert_a}">(.*?)</tr>', html, re.S)
        assert heading in html and row is not None
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
        assert cells[1] == severity and cells[8] == delivery and cells[4] == "400"
        assert (cells[5], cells[6], cells[7]) == (times[0], times[2], f"{times[1]} (运营小王)")

        pdf = tmp_path / f"report-{lang}.pdf"
        pdf.write_bytes(render(report, "pdf", lang))
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        # Narrow PDF columns wrap "UTC" onto the next line; the date and time stay together.
        assert heading in text and all(t.removesuffix(" UTC") in text for t in times), text

        book = load_workbook(BytesIO(render(report, "xlsx", lang)))
        sheet = book[heading]
        header, *rows = [
            [c.value for c in row] for row in sheet.iter_rows() if any(c.value for c in row)
        ]
        [values] = rows  # one alert only
        row_by_title = dict(zip(header, values, strict=True))
        title = {"zh": ("首次触发", "恢复时间", "确认", "通知状态"),
                 "en": ("First fired", "Resolved", "Acknowledged", "Delivery")}[lang]  # fmt: skip
        assert [row_by_title[t] for t in title] == [FIRED, RESOLVED, ACKED, delivery]
        assert values[0] == alert_a and values[6] == 400.0


def test_no_alert_says_so(workspace: Workspace) -> None:
    with workspace.session() as session:
        store = create_store(session, platform="amazon", site="US", name="Quiet")
    report = compute_report(
        workspace, ReportRequest("2026-10", store=store.id), today=dt.date(2026, 11, 15)
    )
    assert report.alerts == ()
    assert "no alert fired in this period" in render(report, "html", "en").decode()
    book = load_workbook(BytesIO(render(report, "xlsx", "zh")))
    assert book["本期触发的告警"]["A1"].value == "本期没有告警触发"
