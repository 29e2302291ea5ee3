"""``lianxing alert ...`` end to end on an initialised workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from alert_sinks import HttpSink
from sqlalchemy import func, select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.models_alerts import AlertChannel, AlertRule
from lianxing.stores.service import create_store
from lianxing.workspace import Workspace

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "220"})
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> Any:
    code, out, err = _run(*args)
    assert code == 0, err
    return json.loads(out)


def test_alert_cli(workspace: Workspace, http_sink: HttpSink) -> None:
    ws = workspace
    with ws.session() as session:
        store_id = create_store(session, platform="amazon", site="US", name="Acme US").id
    with ws.warehouse.batch("b1", "manual") as b:
        b.append(
            "orders",
            [
                {
                    "store_id": store_id,
                    "order_id": "O1",
                    "status": "shipped",
                    "purchase_ts": dt.datetime(2026, 10, 5, 18),
                    "currency": "USD",
                }
            ],
        )
    ws.close()  # the commands open the workspace themselves
    channel = _json(
        "alert",
        "channel",
        "add",
        "--name",
        "运营群",
        "--kind",
        "wecom",
        "--locale",
        "zh",
        "--secret",
        f"url={http_sink.url}/cgi-bin/webhook/send?key=K",
        "--json",
    )
    assert channel["secrets_set"] == ["url"] and channel["config"] == {}

    code, out, err = _run(
        "alert",
        "rule",
        "add",
        "--name",
        "x",
        "--kind",
        "kpi_threshold",
        "--store",
        "999",
        "--param",
        "kpi=gmv",
        "--param",
        "op=<<",
        "--grace",
        "soon",
    )
    assert code == 2 and out == ""
    assert err.strip() == "error: --grace 'soon': expected a duration such as 30s, 15m, 4h or 2d"
    code, _, err = _run(
        "alert",
        "rule",
        "add",
        "--name",
        "x",
        "--kind",
        "kpi_threshold",
        "--store",
        "999",
        "--param",
        "kpi=gmv",
        "--param",
        "op=<<",
    )
    assert code == 2
    assert err.splitlines() == [
        "error: store '999': no such store",
        "error: param threshold: required for a kpi_threshold rule",
        "error: param op='<<': expected one of >, >=, <, <=, ==, !=",
    ]
    with ws.session() as session:  # nothing written by the rejected commands
        assert session.scalar(select(func.count()).select_from(AlertRule)) == 0

    rule = _json(
        "alert",
        "rule",
        "add",
        "--name",
        "十月订单少 / few orders in October",
        "--kind",
        "kpi_threshold",
        "--store",
        str(store_id),
        "--param",
        "kpi=orders",
        "--param",
        "op=<",
        "--param",
        "threshold=5",
        "--param",
        "period=2026-10",
        "--severity",
        "critical",
        "--grace",
        "0s",
        "--channel",
        str(channel["id"]),
        "--json",
    )
    assert rule["scope"] == {"kind": "store", "ref": str(store_id)}
    assert rule["params"] == {"kpi": "orders", "op": "<", "threshold": 5.0, "period": "2026-10"}
    assert [r["id"] for r in _json("alert", "rule", "list", "--json")["rules"]] == [rule["id"]]

    evaluated = _json("alert", "evaluate", "--store", str(store_id), "--json")
    assert [(t["from"], t["to"], t["value"]) for t in evaluated["transitions"]] == [
        ("ok", "firing", 1.0)
    ]
    assert evaluated["delivery"] == {"sent": 1, "retrying": 0, "failed": 0}
    content = http_sink.requests[0].json["markdown"]["content"]
    assert content.startswith(
        '**<font color="warning">[告警][严重] 十月订单少 / few orders in October'
    )
    assert "> 情况: 订单数 2026-10 = 1 count, 条件 < 5" in content

    (alert,) = _json("alert", "list", "--json")["alerts"]
    assert alert["state"] == "firing" and alert["delivery_status"] == "sent"
    code, out, _ = _run("alert", "ack", str(alert["id"]), "--note", "查看中")
    assert code == 0 and "acknowledged" in out
    code, out, _ = _run("alert", "silence", str(alert["id"]), "--for", "2h")
    assert code == 0 and "silenced until" in out
    shown = _json("alert", "show", str(alert["id"]), "--json")
    assert [h["kind"] for h in shown["history"]] == ["transition", "ack", "silence"]
    assert shown["acked_by"] == "cli"
    silenced_until = dt.datetime.fromisoformat(shown["silenced_until"])
    assert (
        dt.timedelta(hours=1, minutes=59)
        < silenced_until - dt.datetime.now(dt.UTC).replace(tzinfo=None)
        <= dt.timedelta(hours=2)
    )

    code, _, err = _run("alert", "ack", "12345")
    assert code == 2 and err.strip() == "error: alert 12345: no such alert"
    code, out, _ = _run("alert", "list")
    assert code == 0 and "告警中 / firing" in out
    with ws.session() as session:
        (token,) = session.scalars(select(AlertChannel.secret_token)).all()
        assert "key=K" not in token


def test_rules_are_evaluated_after_every_import(workspace: Workspace) -> None:
    from pathlib import Path

    ws = workspace
    with ws.session() as session:
        store_id = create_store(session, platform="amazon", site="US", name="Acme US").id
    ws.close()
    _json(
        "alert", "rule", "add", "--name", "九月订单少 / few orders in September",
        "--kind", "kpi_threshold", "--store", str(store_id), "--param", "kpi=orders",
        "--param", "op=<", "--param", "threshold=100", "--param", "period=2026-09",
        "--grace", "0s", "--json",
    )  # fmt: skip
    assert _json("alert", "list", "--json")["alerts"] == []

    fixture = Path(__file__).parents[1] / "ingest" / "fixtures" / "amazon_all_orders.txt"
    dry = _json("import", str(fixture), "--store", str(store_id), "--dry-run", "--json")
    assert dry["alerts"] is None  # a dry run changes nothing, alerts included
    assert _json("alert", "list", "--json")["alerts"] == []

    imported = _json("import", str(fixture), "--store", str(store_id), "--json")
    assert [(t["from"], t["to"]) for t in imported["alerts"]["transitions"]] == [("ok", "firing")]
    (alert,) = _json("alert", "list", "--json")["alerts"]
    assert alert["state"] == "firing"
    assert alert["value"] < 100
