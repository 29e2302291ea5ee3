"""A signed contract evaluated on warehouse facts, with hand-computed statements.

Facts (store 1, Amazon US, launched 2026-01-01, all USD):

* ad_daily, campaign c1: Jan 1–10 cost 100 / sales 100 a day (ROAS 1), from Jan 11 cost 100
  / sales 300 (ROAS 3). The 30-day window ending on day D holds k = 40 − D days of ROAS 1
  (for D = 30..39), so its ROAS is (9000 − 200k) / 3000: day 32 (Feb 1, k = 8) gives
  7400/3000 = 2.4667, day 33 (Feb 2, k = 7) gives 7600/3000 = 2.5333. The milestone is met on
  2026-02-02 and not before.
* a manual ad row on Jan 31 (sales 2000): counted, the window Jan 2–31 would be
  (900 + 6300 + 2000)/3000 = 3.0667 and the milestone would be met on Jan 31; it must not count.
* orders (20:00 UTC = noon in Los Angeles): Jan 15 1000, Jan 20 1000 → Jan GMV 2000;
  Feb 10 1500 and a cancelled Feb 12 9000 → Feb GMV 1500; Mar 5 6000.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from contract_facts import JAN1, order_rows, store_with_orders
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.service import add_contract, workspace_catalog
from lianxing.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"


def _ads(day: int) -> dict[str, Any]:
    date = JAN1 + dt.timedelta(days=day - 1)
    return {
        "store_id": 1,
        "date": date,
        "campaign_id": "c1",
        "ad_type": "sponsored_products",
        "cost": 100,
        "attributed_sales": 100 if day <= 10 else 300,
        "currency": "USD",
    }


@pytest.fixture
def signed(workspace: Workspace) -> int:
    store_with_orders(
        workspace,
        [
            order_rows("A1", dt.date(2026, 1, 15), 1000),
            order_rows("A2", dt.date(2026, 1, 20), 1000),
            order_rows("B1", dt.date(2026, 2, 10), 1500),
            order_rows("B2", dt.date(2026, 2, 12), 9000, status="cancelled"),
            order_rows("C1", dt.date(2026, 3, 5), 6000),
        ],
    )
    with workspace.warehouse.batch("b-ads", "api:amazon") as batch:
        batch.append("ad_daily", [_ads(day) for day in range(1, 91)])
    with workspace.warehouse.batch("b-manual", "manual") as batch:
        manual = {**_ads(31), "campaign_id": "m1", "cost": 0, "attributed_sales": 2000}
        batch.append("ad_daily", [manual])
    with workspace.session() as session:
        view, _ = add_contract(
            session, workspace_catalog(workspace), FIXTURES / "roas_milestone.yaml"
        )
    return view.id


def _line(statement: dict[str, Any], fee: str) -> list[dict[str, Any]]:
    return [line for line in statement["settlement"]["lines"] if line["fee"] == fee]


def _clause(statement: dict[str, Any], clause_id: str) -> dict[str, Any]:
    return next(c for c in statement["clauses"] if c["id"] == clause_id)


def test_roas_milestone_releases_the_fee_on_the_day_it_is_met_and_not_before(
    workspace: Workspace, signed: int
) -> None:
    before = evaluate_contract(workspace, signed, dt.date(2026, 2, 1)).to_json()
    milestone = _clause(before, "roas_2_5")
    assert milestone["outcome"] == "pending"
    assert milestone["evidence"][0]["value"] == pytest.approx(7400 / 3000)  # best so far, Feb 1
    assert _line(before, "roas_bonus")[0]["status"] == "pending_milestone"
    assert before["settlement"]["totals"]["USD"] == {
        "due": "3100.00",  # setup 2000 + Jan and Feb months 1000 + January commission 100
        "not_yet_due": "2000.00",
        "pending_milestone": "3000.00",
        "refunds_owed": "0.00",
    }

    statement = evaluate_contract(workspace, signed, dt.date(2026, 2, 2)).to_json()
    milestone = _clause(statement, "roas_2_5")
    assert milestone["outcome"] == "met"
    assert milestone["met_on"] == "2026-02-02"
    previous, met = milestone["evidence"]
    assert (previous["start"], previous["last_day"]) == ("2026-01-03", "2026-02-01")
    assert previous["value"] == pytest.approx(7400 / 3000)
    assert (met["start"], met["last_day"]) == ("2026-01-04", "2026-02-02")
    assert met["value"] == pytest.approx(7600 / 3000)
    assert met["sources"] == {"ad_daily:api:amazon": 30}
    # The manual row of Jan 31 lies in both windows and is left out of both.
    assert previous["excluded"] == {"ad_daily:manual": 1}
    assert milestone["data_policy"] == {
        "manual_data_counts": False,
        "flagged_data_counts": False,
        "confirmed_fake_orders_count": False,
    }
    assert len(milestone["definition"]) == 64
    bonus = _line(statement, "roas_bonus")[0]
    assert (bonus["status"], bonus["due_date"], bonus["amount"]) == ("due", "2026-02-02", "3000")
    commission = _line(statement, "commission")
    assert [(c["due_date"], c["amount"], c["status"]) for c in commission] == [
        ("2026-02-01", "100.00", "due")
    ]
    assert statement["settlement"]["totals"]["USD"]["due"] == "6100.00"
    # Same inputs, same statement.
    again = evaluate_contract(workspace, signed, dt.date(2026, 2, 2)).to_json()
    assert again == statement
    assert again["statement_hash"] == statement["statement_hash"]


def test_two_missed_gmv_months_open_the_exit_with_the_stated_refund(
    workspace: Workspace, signed: int
) -> None:
    statement = evaluate_contract(workspace, signed, dt.date(2026, 3, 10)).to_json()
    exit_clause = _clause(statement, "gmv_missed")
    assert exit_clause["outcome"] == "met"
    assert exit_clause["met_on"] == "2026-03-01"
    assert [(e["start"], e["value"]) for e in exit_clause["evidence"]] == [
        ("2026-01-01", 2000.0),
        ("2026-02-01", 1500.0),  # the cancelled 9000 order is excluded by the locked definition
    ]
    assert statement["settlement"]["refunds"] == [
        {
            "exit": "gmv_missed",
            "amount": "500.00",
            "currency": "USD",
            "owed_from": "2026-03-01",
            "basis": "50% of monthly_service due before 2026-03-01 (1000 USD)",
            "converted": {
                "currency": "USD",
                "amount": "500.00",
                "rate": "1",
                "rate_date": None,
                "rate_rule": "same_currency",
                "rates_to_usd": {},
            },
        }
    ]
    assert [(c["due_date"], c["amount"]) for c in _line(statement, "commission")] == [
        ("2026-02-01", "100.00"),
        ("2026-03-01", "75.00"),
    ]
    assert statement["settlement"]["totals"]["USD"] == {
        "due": "6675.00",
        "not_yet_due": "1500.00",
        "pending_milestone": "0.00",
        "refunds_owed": "500.00",
    }
    # Every fee is in USD, the settlement currency (the KPIs'): nothing is converted.
    assert statement["settlement"]["settlement_currency"] == "USD"
    assert statement["settlement"]["converted_totals"] == statement["settlement"]["totals"]["USD"]
