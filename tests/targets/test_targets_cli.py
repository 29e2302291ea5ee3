"""``lianxing target set/list/delete`` end to end on a real workspace (SQLite+DuckDB, PostgreSQL).

The facts, all for one Amazon US store launched on Tuesday 2026-09-01 (America/Los_Angeles;
orders at 12:00 UTC are 05:00 the same local day):

* one order a day from 09-01 to 10-21: 100 USD on weekdays, 50 USD on weekend days;
* ads every day from 09-01 to 10-21: cost 10, attributed sales 20 (ROAS 2, ACoS 0.5);
* a listing snapshot on 09-30 with 45 active SKUs and 5 inactive ones.

Evaluated on Thursday 2026-10-22, so data up to Wednesday 10-21 counts.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.models import AuditEntry
from lianxing.db.models_targets import Target
from lianxing.workspace import Workspace

runner = CliRunner()
LAUNCH = dt.date(2026, 9, 1)
AS_OF = "2026-10-22"


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "220"})  # the table on one line
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> Any:
    code, out, err = _run(*args)
    assert code == 0, err
    return json.loads(out)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _write_facts(ws: Workspace, store_id: int) -> None:
    days = _days(LAUNCH, dt.date(2026, 10, 21))
    orders, lines, ads = [], [], []
    for day in days:
        order_id = f"O{day:%Y%m%d}"
        orders.append(
            {
                "store_id": store_id,
                "order_id": order_id,
                "purchase_ts": dt.datetime.combine(day, dt.time(12)),
                "status": "shipped",
                "currency": "USD",
            }
        )
        lines.append(
            {
                "store_id": store_id,
                "order_id": order_id,
                "line_id": "1",
                "sku": "SKU-1",
                "quantity": 1,
                "item_price": 50.0 if day.weekday() >= 5 else 100.0,
                "currency": "USD",
            }
        )
        ads.append(
            {
                "store_id": store_id,
                "date": day,
                "campaign_id": "C1",
                "ad_type": "sp",
                "cost": 10.0,
                "attributed_sales": 20.0,
                "currency": "USD",
            }
        )
    listings = [
        {
            "store_id": store_id,
            "sku": f"L{i:02d}",
            "snapshot_date": dt.date(2026, 9, 30),
            "status": "active" if i < 45 else "inactive",
        }
        for i in range(50)
    ]
    with ws.warehouse.batch("targets-test", "manual") as batch:
        batch.append("orders", orders)
        batch.append("order_lines", lines)
        batch.append("ad_daily", ads)
        batch.append("listings", listings)
    ws.close()  # the CLI opens the workspace itself


def _count(ws: Workspace, model: Any) -> int:
    with ws.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def store_id(workspace: Workspace) -> int:
    created = _json(
        "store", "add", "--platform", "amazon", "--site", "US", "--name", "Test US",
        "--launch-date", LAUNCH.isoformat(), "--json",
    )  # fmt: skip
    _write_facts(workspace, int(created["id"]))
    return int(created["id"])


def test_targets_report_actual_achievement_status_ramp_and_pace(
    workspace: Workspace, store_id: int
) -> None:
    store = str(store_id)
    week = _json("target", "set", "--kpi", "gmv", "--store", store, "--period", "week",
                 "--value", "700", "--owner-role", "ops", "--json")  # fmt: skip
    assert week["comparator"] == ">=" and week["currency"] == "USD"
    roas = _json("target", "set", "--kpi", "roas", "--store", store, "--period", "month",
                 "--comparator", ">=", "--value", "2.5", "--ramp", "linear:60:0.4",
                 "--owner-role", "ads", "--json")  # fmt: skip
    assert roas["ramp"]["spec"] == "linear:60:0.4"
    acos = _json("target", "set", "--kpi", "acos", "--store", store, "--period", "month",
                 "--value", "0.45", "--json")  # fmt: skip
    assert acos["comparator"] == "<="  # lower is better for ACoS
    skus = _json("target", "set", "--kpi", "live_skus", "--store", store,
                 "--period", "launch:1-30", "--value", "50", "--json")  # fmt: skip
    first_month = _json("target", "set", "--kpi", "gmv", "--platform", "amazon",
                        "--period", "launch:1-30", "--comparator", ">=", "--value", "1000",
                        "--json")  # fmt: skip

    listed = _json("target", "list", "--as-of", AS_OF, "--json")
    assert listed["as_of"] == AS_OF
    results = {r["target"]["id"]: r for r in listed["targets"]}
    assert list(results) == [week["id"], roas["id"], acos["id"], skus["id"], first_month["id"]]

    # GMV this week (Mon 10-19 to Sun 10-25): Mon–Wed 300 so far, 300/700 achieved.
    r = results[week["id"]]
    assert r["period"] == {"start": "2026-10-19", "end": "2026-10-26", "label": "2026-W43"}
    assert r["actual"] == pytest.approx(300.0) and r["unit"] == "USD"
    assert r["achievement"] == pytest.approx(3 / 7)
    assert r["status"] == "bad"
    # History: weekdays 100, weekend days 50 → weights 2:1. Mon–Wed weigh 6 for 300, the
    # rest Thu 2 + Fri 2 + Sat 1 + Sun 1 = 6 → 300 more: 600 (a flat rate would say 700).
    assert r["pace"]["method"] == "weekday"
    assert r["pace"]["value"] == pytest.approx(600.0)
    assert (r["pace"]["elapsed_days"], r["pace"]["remaining_days"]) == (3, 4)
    assert r["projected_status"] == "warning"  # 100/700 = 14 % short

    # ROAS in October with a 60-day linear ramp from 40 %: days 31..61 since launch.
    # Factor = mean of (0.4 + 0.6·d/60 for d = 31..60, then 1 for d = 61)
    #        = (30·0.4 + 0.01·(31+…+60) + 1) / 31 = (12 + 13.65 + 1) / 31 = 26.65 / 31.
    r = results[roas["id"]]
    factor = 26.65 / 31
    assert r["ramp_factor"] == pytest.approx(factor)
    assert r["effective_target"] == pytest.approx(2.5 * factor)
    assert r["actual"] == pytest.approx(2.0)
    assert r["achievement"] == pytest.approx(2.0 / (2.5 * factor))  # 93.1 %
    assert r["status"] == "warning"  # 6.9 % short
    assert r["pace"]["value"] == pytest.approx(2.0)  # 20/10 every day, projected part by part
    assert r["projected_status"] == "warning"

    # ACoS ≤ 0.45 (lower is better): actual 0.5, achievement 0.45/0.5, 11 % over the cap.
    r = results[acos["id"]]
    assert r["actual"] == pytest.approx(0.5)
    assert r["achievement"] == pytest.approx(0.9)
    assert r["gap"] == pytest.approx(0.05 / 0.45)
    assert r["status"] == "warning" and r["met"] is False

    # 50 live SKUs within 30 days of launch: 45 on the last snapshot, 10 % short.
    r = results[skus["id"]]
    assert r["period"]["start"] == "2026-09-01" and r["period"]["end"] == "2026-10-01"
    assert r["actual"] == 45.0 and r["achievement"] == pytest.approx(0.9)
    assert r["status"] == "warning"
    assert r["pace"] is None  # a snapshot is not projected

    # First 30 days' GMV on the platform: 22 weekdays × 100 + 8 weekend days × 50 = 2600.
    r = results[first_month["id"]]
    assert r["actual"] == pytest.approx(2600.0)
    assert r["achievement"] == pytest.approx(2.6) and r["status"] == "good" and r["met"]
    assert r["pace"] == {"value": 2600.0, "method": "final", "elapsed_days": 30,
                         "remaining_days": 0}  # fmt: skip

    # The human table shows the same, in both languages.
    code, out, _ = _run("target", "list", "--as-of", AS_OF, "--store", store)
    assert code == 0
    assert "预警 / warning" in out and "达标 / good" in out and "600.00" in out

    # Every create was audited; delete is too.
    with workspace.session() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions.count("target.create") == 5
    deleted = _json("target", "delete", str(acos["id"]), "--json")
    assert deleted["deleted"]["kpi"] == "acos"
    assert _count(workspace, Target) == 4
    with workspace.session() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last is not None and last.action == "target.delete"
        assert last.entity_id == str(acos["id"])


def test_a_period_that_has_not_started_and_a_store_filter(
    workspace: Workspace, store_id: int
) -> None:
    _json("target", "set", "--kpi", "orders", "--store", str(store_id), "--period",
          "2026-11", "--value", "30", "--json")  # fmt: skip
    other = _json("store", "add", "--platform", "shopee", "--site", "MY", "--name", "MY",
                  "--json")  # fmt: skip
    _json("target", "set", "--kpi", "orders", "--store", str(other["id"]), "--period", "month",
          "--value", "30", "--json")  # fmt: skip
    # A loss-making young store: an ACoS cap is loosened by the ramp, not tightened.
    # October is the second month since launch: factor 0.9, cap 0.45 / 0.9 = 0.5.
    capped = _json("target", "set", "--kpi", "acos", "--store", str(store_id), "--period",
                   "month", "--value", "0.45", "--ramp", "list:0.5,0.9", "--json")  # fmt: skip
    seller = _json("target", "set", "--kpi", "gmv", "--seller", str(other["org_id"]),
                   "--period", "month", "--value", "3000", "--json")  # fmt: skip
    listed = _json("target", "list", "--store", str(store_id), "--as-of", AS_OF, "--json")
    assert len(listed["targets"]) == 3
    r = listed["targets"][0]
    assert r["status"] == "unknown" and r["actual"] is None and r["pace"] is None
    assert any("not started" in note for note in r["notes"])
    r = listed["targets"][1]
    assert r["target"]["id"] == capped["id"]
    assert r["ramp_factor"] == pytest.approx(0.9)
    assert r["effective_target"] == pytest.approx(0.5)
    assert r["status"] == "good" and r["met"] is True
    # The seller's two stores: October 1–21 of the US store (15 weekdays × 100 + 6 weekend
    # days × 50 = 1800); the new MY store has no facts. The MY store has no launch date, so
    # it counts 1 in the ramp mean (no ramp here anyway).
    r = listed["targets"][2]
    assert r["target"]["id"] == seller["id"]
    assert r["actual"] == pytest.approx(1800.0)
    assert r["achievement"] == pytest.approx(0.6) and r["status"] == "bad"


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["--kpi", "gmvv", "--store", "{store}", "--value", "1"], ["--kpi: 'gmvv' is not a KPI"]),
        (
            ["--kpi", "roas", "--store", "{store}", "--value", "x", "--comparator", "=>"],
            ["--comparator: comparator '=>' not understood", "--value: 'x' is not a number"],
        ),
        (
            ["--kpi", "roas", "--store", "{store}", "--value", "2", "--ramp", "list:0.8,0.5"],
            ["--ramp: ramp factors [0.8, 0.5]: expected them not to decrease"],
        ),
        (
            ["--kpi", "roas", "--store", "{store}", "--value", "2", "--currency", "EUR"],
            ["--currency: KPI roas is a ratio, not money"],
        ),
        (
            ["--kpi", "gmv", "--store", "99", "--value", "2", "--period", "monthly"],
            ["--store: no store with id '99'", "--period: period 'monthly' not understood"],
        ),
        (["--kpi", "gmv", "--value", "2"], ["give exactly one of --store ID"]),
        (
            ["--kpi", "gmv", "--platform", "ebay", "--value", "2", "--owner-role", "boss"],
            ["--platform: ", "--owner-role: 'boss' is not a role"],
        ),
        (
            ["--kpi", "gmv", "--store", "{store}", "--value", "2", "--option", "refunds=maybe"],
            ["--option refunds='maybe'"],
        ),
    ],
)
def test_bad_input_one_line_per_problem_exit_2_nothing_written(
    workspace: Workspace, store_id: int, args: list[str], messages: list[str]
) -> None:
    audit_before = _count(workspace, AuditEntry)
    code, out, err = _run("target", "set", *[a.format(store=store_id) for a in args])
    assert code == 2, out
    lines = err.strip().splitlines()
    assert len(lines) == len(messages)
    for line, message in zip(lines, messages, strict=True):
        assert line.startswith("error: ") and message in line
    assert _count(workspace, Target) == 0
    assert _count(workspace, AuditEntry) == audit_before


def test_deleting_an_unknown_target_is_bad_input(workspace: Workspace) -> None:
    code, _, err = _run("target", "delete", "42")
    assert code == 2 and err.strip() == "error: target 42: no such target"
