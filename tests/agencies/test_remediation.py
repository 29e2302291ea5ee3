"""Remediation plans: pure rules with hand-made periods, and a scripted KPI miss end to end.

Facts (store 1, Amazon US, launched 2026-01-01, orders at 20:00 UTC = noon in Los Angeles):
January GMV 1000 + 1000 = 2000, February 1500, March 6000; the contract wants GMV ≥ 5000 a
month. January misses: a plan opens 2026-02-01 with cure deadline 02-01 + 30 = 2026-03-03.
February (02-01..02-28, inside the cure window) misses too, so on 2026-03-03 the plan lapses
and the exit clause (three misses in a row, which March's 6000 would never give) is
exercisable from 2026-03-04; the refund is 50 % of the monthly fees due before then
(Jan, Feb, Mar × 500 = 1500 → 750).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from contract_facts import order_rows
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.remediation import sync_remediation
from lianxing.contracts.service import add_contract, workspace_catalog
from lianxing.db.models import AuditEntry
from lianxing.domain.contracts import RemediationAction, Target
from lianxing.domain.kpi_windows import Window, WindowValue
from lianxing.domain.remediation import PlanStatus, remediation_plans
from lianxing.domain.targets import Comparator
from lianxing.stores import create_store
from lianxing.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
GMV_5000 = Target(Comparator.GE, 5000)
ACTION = (RemediationAction("rebuild ads", "agency", None),)


def _month(month: int, value: float | None) -> WindowValue:
    start = dt.date(2026, month, 1)
    end = dt.date(2026, month + 1, 1)
    return WindowValue(Window(start, end), value)


def test_a_miss_opens_a_plan_that_stays_open_until_the_deadline() -> None:
    periods = [_month(1, 2000)]
    (plan,) = remediation_plans(
        "gmv", GMV_5000, periods, cure_days=30, actions=ACTION, as_of=dt.date(2026, 2, 10)
    )
    assert (plan.status, plan.opened_on, plan.deadline) == (
        PlanStatus.OPEN,
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 3),
    )
    assert plan.to_json()["actions"] == [
        {"action": "rebuild ads", "owner": "agency", "due": "2026-03-03"}
    ]


def test_a_recovered_period_cures_and_the_next_miss_opens_a_new_plan() -> None:
    periods = [_month(1, 2000), _month(2, 5200), _month(3, 100), _month(4, 100)]
    plans = remediation_plans(
        "gmv", GMV_5000, periods, cure_days=30, actions=ACTION, as_of=dt.date(2026, 5, 1)
    )
    assert [(p.status, p.opened_on, p.closed_on) for p in plans] == [
        (PlanStatus.CURED, dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        # March misses: opens 04-01, deadline 05-01; April (last day 04-30) misses too.
        (PlanStatus.LAPSED, dt.date(2026, 4, 1), dt.date(2026, 5, 2)),
    ]
    assert plans[1].exit_exercisable_from == dt.date(2026, 5, 2)


def test_no_data_in_the_cure_window_is_not_a_miss() -> None:
    periods = [_month(1, 2000), _month(2, None)]
    (plan,) = remediation_plans(
        "gmv", GMV_5000, periods, cure_days=30, actions=ACTION, as_of=dt.date(2026, 3, 10)
    )
    assert plan.status is PlanStatus.UNMEASURED and plan.exit_exercisable_from is None


@pytest.fixture
def signed(workspace: Workspace) -> int:
    with workspace.session() as session:
        create_store(
            session, platform="amazon", site="US", name="Xinghe US", launch_date=dt.date(2026, 1, 1)
        )
    orders = [
        order_rows("A1", dt.date(2026, 1, 15), 1000),
        order_rows("A2", dt.date(2026, 1, 20), 1000),
        order_rows("B1", dt.date(2026, 2, 10), 1500),
        order_rows("C1", dt.date(2026, 3, 5), 6000),
    ]
    with workspace.warehouse.batch("b-api", "api:amazon") as batch:
        batch.append("orders", [o for o, _ in orders])
        batch.append("order_lines", [line for _, line in orders])
    with workspace.session() as session:
        view, _ = add_contract(session, workspace_catalog(workspace), FIXTURES / "remediation.yaml")
    return view.id


def _exit(statement: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in statement["clauses"] if c["id"] == "gmv_missed")


def test_a_scripted_miss_opens_a_plan_and_a_lapsed_cure_makes_the_exit_exercisable(
    workspace: Workspace, signed: int
) -> None:
    plans = sync_remediation(workspace, signed, dt.date(2026, 2, 10))
    assert [(p.clause, p.status, p.opened_on, p.cure_deadline) for p in plans] == [
        ("gmv_month", "open", dt.date(2026, 2, 1), dt.date(2026, 3, 3))
    ]
    assert plans[0].actions == [
        {
            "action": "重做广告结构与关键词 / rebuild ad structure and keywords",
            "owner": "agency",
            "due": "2026-02-08",
        },
        {
            "action": "补充库存到 60 天 / restock to 60 days of cover",
            "owner": "seller",
            "due": "2026-03-03",
        },
    ]
    # The day before the deadline February is measured (missed) but the cure is still open.
    before = evaluate_contract(workspace, signed, dt.date(2026, 3, 2)).to_json()
    assert _exit(before)["outcome"] == "pending"
    assert before["remediation"][0]["status"] == "open"

    statement = evaluate_contract(workspace, signed, dt.date(2026, 3, 3)).to_json()
    exit_clause = _exit(statement)
    assert exit_clause["outcome"] == "met"
    assert exit_clause["met_on"] == "2026-03-04"
    assert [(e["start"], e["value"]) for e in exit_clause["evidence"]] == [
        ("2026-01-01", 2000.0),
        ("2026-02-01", 1500.0),
    ]
    assert "cure period ended 2026-03-03" in exit_clause["explanation"]["en"]
    assert statement["settlement"]["refunds"][0]["amount"] == "750.00"

    plans = sync_remediation(workspace, signed, dt.date(2026, 3, 3))
    assert [(p.status, p.closed_on) for p in plans] == [("lapsed", dt.date(2026, 3, 4))]
    notice = plans[0].notice
    assert notice is not None
    assert [e["id"] for e in notice["exits"]] == ["gmv_missed"]
    assert "may be exercised from 2026-03-04" in notice["message"]["en"]
    assert notice["plan"]["checked"][0]["value"] == 1500.0
    # Re-running changes nothing and tells the seller once.
    again = sync_remediation(workspace, signed, dt.date(2026, 3, 20))
    assert [p.as_json() for p in again] == [p.as_json() for p in plans]
    with workspace.session() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "remediation_plan")
            .order_by(AuditEntry.seq)
        ).all()
    assert actions == ["remediation.open", "remediation.lapsed", "remediation.exit_exercisable"]
