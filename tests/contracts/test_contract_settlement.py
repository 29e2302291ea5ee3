"""The settlement in one currency, and percent fees without confirmed fake orders.

Contract ``two_currencies.yaml`` (store 1, Amazon US, term 2026-01-01 for 3 months): setup
2000 USD at signing, a monthly fee of 3000 CNY due on the 5th, 5 % of monthly GMV in USD.

Facts (orders at 20:00 UTC = noon in Los Angeles): A1 Jan 15 1000, A2 Jan 20 1000, F1 Jan 25
500, B1 Feb 10 1500 USD. January GMV is 2500 with F1, 2000 without it.

``fx_rates`` (USD per CNY): Jan 1 0.125, Jan 5 0.14, Feb 1 0.16, Feb 5 0.125, Feb 20 0.16;
none on Mar 5.

Hand-computed, as of 2026-02-20, settling in USD (the KPIs' reporting currency):

* setup 2000 USD (same currency) → 2000.00;
* monthly Jan 5: 3000 CNY × 0.14 (rate of its due date) = 420.00 USD;
* monthly Feb 5: 3000 × 0.125 = 375.00 USD;
* monthly Mar 5, not due yet: 3000 × 0.16 (rate of as_of, an estimate) = 480.00 USD;
* January commission (due Feb 1): 5 % × 2500 = 125.00 USD;
* due 2000 + 420 + 375 + 125 = 2920.00 USD, not yet due 480.00 USD.

Settling in CNY instead: setup 2000 USD × (1 / 0.125 on Jan 1) = 16000.00 CNY, commission
125 USD × (1 / 0.16 on Feb 1) = 781.25 CNY, monthly fees unconverted: due 16000 + 3000 +
3000 + 781.25 = 22781.25 CNY, not yet due 3000.00 CNY.

Once the integrity review confirms F1 as fake, the January commission is 5 % × 2000 = 100.00
USD (25.00 left out).

The exit clause (the same contract with a GMV target ≥ 2500 a month, two misses in a row open
the exit, refund 40 % of the monthly fee, a 30-day remediation), as of 2026-03-01 with a CNY
rate of 0.15 that day:

* F1 only flagged: January 2500 (met), February 1500 (missed): one miss, not exercisable, no
  refund; due 2000 + 420 + 375 + 125 + 75 = 2995.00 USD. The remediation plan opens on
  2026-03-01 on February's miss.
* F1 confirmed: January 2000 (missed, 2500 with F1), February 1500 (missed): exercisable from
  2026-03-01; refund 40 % × (3000 + 3000) = 2400.00 CNY × 0.15 (rate of 2026-03-01) = 360.00
  USD; due 2000 + 420 + 375 + 100 + 75 = 2970.00 USD; not yet due 3000 × 0.15 = 450.00. The
  remediation plan opens on 2026-02-01 on January's miss, with F1 in its evidence.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contract_facts import (
    F1_ORDERED_AT,
    FIXTURES,
    sign_contract,
    two_currency_facts,
    write_exit_contract,
)
from fake_orders import confirm_flag, flag_orders
from lianxing.cli import app
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.service import ContractError
from lianxing.workspace import Workspace

FEB20 = dt.date(2026, 2, 20)
MAR1 = dt.date(2026, 3, 1)
runner = CliRunner()


@pytest.fixture
def facts(workspace: Workspace) -> None:
    two_currency_facts(workspace)


def _flag_f1(workspace: Workspace) -> int:
    """Store an (open) integrity flag naming order F1, as the detectors would."""
    return flag_orders(workspace, 1, ["F1"], F1_ORDERED_AT)


def _lines(statement: dict[str, Any], fee: str) -> list[dict[str, Any]]:
    return [line for line in statement["settlement"]["lines"] if line["fee"] == fee]


def _cli(contract: str, as_of: str, *flags: str) -> tuple[int, str, str]:
    """``contract evaluate`` run as a seller would, with a terminal wide enough for tables."""
    args = ["contract", "evaluate", "--contract", contract, "--as-of", as_of, *flags]
    result = runner.invoke(app, args, env={"COLUMNS": "400"})
    return result.exit_code, result.stdout, result.stderr


def _evaluate_text(contract: int) -> str:
    code, out, err = _cli(str(contract), "2026-02-20")
    assert code == 0, err
    return out


def _converted(line: dict[str, Any]) -> tuple[str, str, str | None, str]:
    c = line["converted"]
    return c["amount"], c["rate"], c["rate_date"], c["rate_rule"]


def test_fees_in_usd_and_cny_settle_in_usd_at_the_rate_of_their_due_date(
    workspace: Workspace, facts: None
) -> None:
    contract = sign_contract(workspace, FIXTURES / "two_currencies.yaml")
    statement = evaluate_contract(workspace, contract, FEB20).to_json()
    settlement = statement["settlement"]
    assert settlement["settlement_currency"] == "USD"

    (setup,) = _lines(statement, "setup")
    assert (setup["amount"], setup["currency"]) == ("2000", "USD")
    assert _converted(setup) == ("2000.00", "1", None, "same_currency")

    monthly = _lines(statement, "monthly_service")
    assert [(m["due_date"], m["amount"], m["currency"], m["status"]) for m in monthly] == [
        ("2026-01-05", "3000", "CNY", "due"),
        ("2026-02-05", "3000", "CNY", "due"),
        ("2026-03-05", "3000", "CNY", "not_yet_due"),
    ]
    assert [_converted(m) for m in monthly] == [
        ("420.00", "0.14", "2026-01-05", "due_date"),
        ("375.00", "0.125", "2026-02-05", "due_date"),
        ("480.00", "0.16", "2026-02-20", "as_of_estimate"),
    ]
    assert monthly[0]["converted"]["rates_to_usd"] == {"CNY": "0.14", "USD": "1"}

    (commission,) = _lines(statement, "commission")
    assert (commission["due_date"], commission["amount"], commission["currency"]) == (
        "2026-02-01",
        "125.00",
        "USD",
    )
    assert _converted(commission) == ("125.00", "1", None, "same_currency")

    # Per original currency as before, and everything in the settlement currency.
    assert settlement["totals"] == {
        "CNY": {
            "due": "6000.00",
            "not_yet_due": "3000.00",
            "pending_milestone": "0.00",
            "refunds_owed": "0.00",
        },
        "USD": {
            "due": "2125.00",
            "not_yet_due": "0.00",
            "pending_milestone": "0.00",
            "refunds_owed": "0.00",
        },
    }
    assert settlement["converted_totals"] == {
        "due": "2920.00",
        "not_yet_due": "480.00",
        "pending_milestone": "0.00",
        "refunds_owed": "0.00",
    }

    # The text statement shows each conversion with its rate and day.
    text = _evaluate_text(contract)
    assert "3000 CNY" in text and "420.00 USD" in text and "× 0.14 (2026-01-05)" in text
    assert "480.00 USD" in text and "× 0.16 (2026-02-20 估算 estimate)" in text
    assert "CNY: 应付 due 6000.00" in text
    assert "结算 settlement USD: 应付 due 2920.00 · 未到期 not yet due 480.00" in text


def test_a_stated_settlement_currency_converts_the_usd_fees_into_it(
    workspace: Workspace, facts: None, tmp_path: Path
) -> None:
    path = tmp_path / "cny.yaml"
    text = (FIXTURES / "two_currencies.yaml").read_text(encoding="utf-8")
    path.write_text(text + "settlement_currency: CNY\n", encoding="utf-8")
    contract = sign_contract(workspace, path)
    statement = evaluate_contract(workspace, contract, FEB20).to_json()
    assert statement["settlement"]["settlement_currency"] == "CNY"
    (setup,) = _lines(statement, "setup")
    assert _converted(setup) == ("16000.00", "8", "2026-01-01", "due_date")
    assert setup["converted"]["rates_to_usd"] == {"CNY": "0.125", "USD": "1"}
    (commission,) = _lines(statement, "commission")
    assert _converted(commission) == ("781.25", "6.25", "2026-02-01", "due_date")
    monthly = _lines(statement, "monthly_service")
    assert [_converted(m) for m in monthly] == [
        ("3000.00", "1", None, "same_currency"),
        ("3000.00", "1", None, "same_currency"),
        ("3000.00", "1", None, "same_currency"),
    ]
    assert statement["settlement"]["converted_totals"] == {
        "due": "22781.25",
        "not_yet_due": "3000.00",
        "pending_milestone": "0.00",
        "refunds_owed": "0.00",
    }


def test_a_missing_rate_is_an_error_naming_the_currency_and_the_day(
    workspace: Workspace, facts: None
) -> None:
    contract = sign_contract(workspace, FIXTURES / "two_currencies.yaml")
    # As of Mar 6 the fee of Mar 5 is due, and fx_rates has no CNY rate for Mar 5.
    with pytest.raises(ContractError) as caught:
        evaluate_contract(workspace, contract, dt.date(2026, 3, 6))
    message = str(caught.value)
    assert "fee 'monthly_service' (3000 CNY due 2026-03-05)" in message
    assert "no exchange rate for CNY on 2026-03-05 in fx_rates" in message
    assert "settlement currency USD" in message
    assert "fx_rates 中没有 CNY 在 2026-03-05 的汇率" in message

    code, out, err = _cli(str(contract), "2026-03-06", "--json")
    assert (code, out) == (2, "")
    assert err.startswith("error: fee 'monthly_service' (3000 CNY due 2026-03-05)")
    assert "CNY 在 2026-03-05 的汇率" in err


def test_a_percent_fee_leaves_out_confirmed_fake_orders_and_shows_what_it_left_out(
    workspace: Workspace, facts: None
) -> None:
    contract = sign_contract(workspace, FIXTURES / "two_currencies.yaml")
    flag = _flag_f1(workspace)

    # An open flag is not a finding: F1 counts, 5 % × 2500.
    (open_flag,) = _lines(evaluate_contract(workspace, contract, FEB20).to_json(), "commission")
    assert open_flag["amount"] == "125.00"
    assert open_flag["kpi_value"]["value"] == 2500.0
    assert open_flag["kpi_value"]["sources"] == {"orders:api:amazon": 3}
    assert open_flag["confirmed_fake_orders"] is None

    confirm_flag(workspace, flag)
    (commission,) = _lines(evaluate_contract(workspace, contract, FEB20).to_json(), "commission")
    assert commission["amount"] == "100.00"  # 5 % × 2000
    assert commission["kpi_value"]["value"] == 2000.0
    assert commission["kpi_value"]["sources"] == {"orders:api:amazon": 2}
    assert commission["kpi_value"]["excluded"] == {"orders:api:amazon": 1}
    assert commission["kpi_value"]["confirmed_orders_excluded"] == {
        "orders": [{"store": 1, "order": "F1", "flags": [flag]}],
        "value_with_them": 2500.0,
    }
    fake = commission["confirmed_fake_orders"]
    assert {k: v for k, v in fake.items() if k != "reason"} == {
        "orders": [{"store": 1, "order": "F1", "flags": [flag]}],
        "kpi_value_with_them": 2500.0,
        "kpi_value_left_out": 500.0,
        "amount_with_them": "125.00",
        "amount_left_out": "25.00",
    }
    assert f"flag #{flag}" in fake["reason"]["en"] and "F1 (store 1)" in fake["reason"]["en"]
    assert f"标记 #{flag}" in fake["reason"]["zh"] and "刷单" in fake["reason"]["zh"]
    assert "confirmed fake orders left out: 25.00 USD less" in commission["basis"]

    # The text statement and the JSON from the CLI say the same.
    text = _evaluate_text(contract)
    assert "结算 settlement USD: 应付 due 2895.00" in text
    assert "不计入提成基数：少计 25.00 USD" in text
    assert "do not count towards the fee: 25.00 USD less" in text
    code, out, err = _cli(str(contract), "2026-02-20", "--json")
    assert code == 0, err
    assert _lines(json.loads(out), "commission") == [commission]


def _exit_contract(workspace: Workspace, tmp_path: Path) -> int:
    """The exit contract (``contract_facts.write_exit_contract``) signed, and the CNY rate of
    2026-03-01 (0.15)."""
    with workspace.warehouse.batch("b-fx-mar", "file:fx") as batch:
        batch.append("fx_rates", [{"date": MAR1, "currency": "CNY", "rate_to_usd": 0.15}])
    return sign_contract(workspace, write_exit_contract(tmp_path / "exit.yaml"))


def _exit(statement: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in statement["clauses"] if c["id"] == "gmv_missed")


def test_an_exit_kept_shut_by_a_fake_order_opens_once_the_order_is_confirmed(
    workspace: Workspace, facts: None, tmp_path: Path
) -> None:
    contract = _exit_contract(workspace, tmp_path)
    flag = _flag_f1(workspace)

    # Flag open: F1 counts, January meets 2500; one miss (February) is not two.
    before = evaluate_contract(workspace, contract, MAR1).to_json()
    shut = _exit(before)
    assert shut["outcome"] == "pending" and shut["met_on"] is None
    assert "1 consecutive miss(es) now" in shut["explanation"]["en"]
    assert [(e["start"], e["value"]) for e in shut["evidence"]] == [
        ("2026-01-01", 2500.0),
        ("2026-02-01", 1500.0),
    ]
    assert shut["data_policy"]["confirmed_fake_orders_count"] is False
    assert shut["confirmed_fake_orders"] is None
    assert before["settlement"]["refunds"] == []
    assert before["settlement"]["converted_totals"]["due"] == "2995.00"
    assert before["settlement"]["converted_totals"]["refunds_owed"] == "0.00"
    assert [p["missed"]["start"] for p in before["remediation"]] == ["2026-02-01"]

    confirm_flag(workspace, flag)
    statement = evaluate_contract(workspace, contract, MAR1).to_json()
    opened = _exit(statement)
    assert (opened["outcome"], opened["met_on"]) == ("met", "2026-03-01")
    january, february = opened["evidence"]
    assert (january["start"], january["value"], february["value"]) == (
        "2026-01-01",
        2000.0,
        1500.0,
    )
    assert january["sources"] == {"orders:api:amazon": 2}
    assert january["excluded"] == {"orders:api:amazon": 1}
    assert january["confirmed_orders_excluded"] == {
        "orders": [{"store": 1, "order": "F1", "flags": [flag]}],
        "value_with_them": 2500.0,
    }
    assert "confirmed_orders_excluded" not in february
    fake = opened["confirmed_fake_orders"]
    assert fake["orders"] == [{"store": 1, "order": "F1", "flags": [flag]}]
    assert fake["windows"] == [
        {
            "start": "2026-01-01",
            "last_day": "2026-01-31",
            "value": 2000.0,
            "value_with_them": 2500.0,
            "target_met": False,
            "target_met_with_them": True,
        }
    ]
    assert (
        f"orders F1 (store 1) were confirmed as fake by the integrity review (flag #{flag}) "
        "and do not count towards the exit clause's KPI: gmv 2026-01-01..2026-01-31 is "
        "2000.00 without them (target missed), 2500.00 with them (target met)"
    ) == fake["reason"]["en"]
    assert "不计入退出条款的 KPI" in fake["reason"]["zh"]
    assert "2000.00（未达标），含刷单 2500.00（达标）" in fake["reason"]["zh"]
    assert f"标记 #{flag}" in fake["reason"]["zh"]

    (refund,) = statement["settlement"]["refunds"]
    assert (refund["amount"], refund["currency"], refund["owed_from"]) == (
        "2400.00",
        "CNY",
        "2026-03-01",
    )
    assert _converted(refund) == ("360.00", "0.15", "2026-03-01", "due_date")
    assert statement["settlement"]["converted_totals"] == {
        "due": "2970.00",
        "not_yet_due": "450.00",
        "pending_milestone": "0.00",
        "refunds_owed": "360.00",
    }
    # The remediation plan (whose lapse would also open the exit) is judged on the same data.
    (plan,) = statement["remediation"]
    assert (plan["opened_on"], plan["missed"]["value"]) == ("2026-02-01", 2000.0)
    assert plan["missed"]["confirmed_orders_excluded"]["value_with_them"] == 2500.0

    # The CLI's JSON is the same statement, and its text names the fake order.
    code, out, err = _cli(str(contract), "2026-03-01", "--json")
    assert code == 0, err
    assert json.loads(out) == statement
    code, text, err = _cli(str(contract), "2026-03-01")
    assert code == 0, err
    assert "do not count towards the exit clause's KPI" in text
    assert "不计入退出条款的 KPI" in text


def test_contract_check_weighs_fees_in_two_currencies_at_the_latest_fx_rates(
    workspace: Workspace, facts: None
) -> None:
    # two_currencies.yaml has no milestone: all money with a due date is due before any
    # evidence. At the latest rate in fx_rates (0.16 on 2026-02-20): 2000 USD + 3 × 3000 CNY
    # × 0.16 = 2000 + 1440 = 3440.00 USD, all of it early.
    args = ["contract", "check", str(FIXTURES / "two_currencies.yaml"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output  # high-severity findings
    (payment,) = [
        f for f in json.loads(result.stdout)["findings"] if f["code"] == "payment.before_evidence"
    ]
    assert payment["message"]["en"].startswith(
        "100% of the money (3440.00 of 3440.00 USD; the fees in CNY, USD converted to USD at "
        "the fx_rates of 2026-02-20, an estimate) is due before any measurable milestone"
    )
    assert "按 fx_rates 2026-02-20 的汇率换算为 USD，为估算" in payment["message"]["zh"]
