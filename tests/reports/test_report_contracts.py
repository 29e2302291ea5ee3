"""The review report's contracts section in HTML, PDF and XLSX says what
``lianxing contract evaluate --json`` says: each fee in its own currency and in the settlement
currency with the rate and its day, the settlement totals, and what a commission left out for
confirmed fake orders.

Facts and contract from ``contract_facts``: store 1 with USD orders A1, A2, F1 (Jan 25, 500)
and B1, the exit contract (setup 2000 USD, 3000 CNY a month, 5 % of monthly GMV, GMV target
2500). F1 is confirmed as fake. The February report made on 2026-02-21 counts data up to
2026-02-20, and so does its contract statement: the January commission is 5 % × 2000 = 100.00
USD (25.00 left out); due 2000 + 420 + 375 + 100 = 2895.00 USD, not yet due 480.00 (the
March fee at the rate of 2026-02-20, an estimate); January's 2000 misses the target (2500 with
F1), which the exit clause says.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from typer.testing import CliRunner

from contract_facts import F1_ORDERED_AT, sign_contract, two_currency_facts, write_exit_contract
from fake_orders import confirm_flag, flag_orders
from lianxing.cli import app
from lianxing.reports.text import format_value
from lianxing.workspace import Workspace

runner = CliRunner()
CONTRACT_AS_OF = dt.date(2026, 2, 20)  # the report's last day counted (made on 2026-02-21)
BUCKETS = ("due", "not_yet_due", "pending_milestone", "refunds_owed")


def _statement(contract: int) -> dict[str, Any]:
    args = ["contract", "evaluate", "--contract", str(contract), "--as-of", "2026-02-20"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def _report(out: Path) -> Path:
    args = ["report", "--store", "1", "--period", "2026-02", "--format", out.suffix[1:]]
    result = runner.invoke(app, [*args, "-o", str(out), "--as-of", "2026-02-21"])
    assert result.exit_code == 0, result.output
    return out


def _money(amount: str) -> str:
    return format_value(float(amount), "currency")


def test_report_contract_section_equals_contract_evaluate_json(
    workspace: Workspace, tmp_path: Path
) -> None:
    two_currency_facts(workspace)
    contract = sign_contract(workspace, write_exit_contract(tmp_path / "exit.yaml"))
    confirm_flag(workspace, flag_orders(workspace, 1, ["F1"], F1_ORDERED_AT))
    statement = _statement(contract)
    settlement = statement["settlement"]
    totals = settlement["converted_totals"]
    assert (totals["due"], totals["not_yet_due"]) == ("2895.00", "480.00")
    (commission,) = [line for line in settlement["lines"] if line["fee"] == "commission"]
    left_out = commission["confirmed_fake_orders"]["amount_left_out"]
    assert left_out == "25.00"
    exit_clause = next(c for c in statement["clauses"] if c["id"] == "gmv_missed")
    assert exit_clause["confirmed_fake_orders"] is not None

    # HTML: exact numbers in data-value, the same written for people.
    page = _report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"结算截至: {CONTRACT_AS_OF.isoformat()}" in page
    rows = {
        (m.group(1), m.group(2)): m.group(3)
        for m in re.finditer(r'<tr data-fee="([^"]+)" data-due="([^"]*)">(.*?)</tr>', page, re.S)
    }
    for line in settlement["lines"]:
        row = rows[(line["fee"], line["due_date"] or "")]
        converted = line["converted"]
        cell = re.search(r'data-field="converted" data-value="([^"]*)">([^<]*)<', row)
        assert cell is not None, row
        assert float(cell.group(1)) == float(converted["amount"]), line
        assert cell.group(2) == f"{_money(converted['amount'])} {converted['currency']}"
        assert f"{_money(line['amount'])} {line['currency']}" in row
    estimate = rows[("monthly_service", "2026-03-05")]
    assert '2026-02-20 <b class="estimate">估算</b>' in estimate
    assert 'data-field="rate" data-value="0.16">0.16<' in estimate
    row = rows[("commission", "2026-02-01")]
    assert f'data-field="left_out" data-value="{float(left_out)!r}">{left_out} USD<' in row
    assert html.escape(commission["confirmed_fake_orders"]["reason"]["zh"], quote=False) in row
    total = re.search(r'<p class="settlement-total" data-currency="USD">(.*?)</p>', page, re.S)
    assert total is not None
    for bucket in BUCKETS:
        assert (
            f'data-total="{bucket}" data-value="{float(totals[bucket])!r}">'
            f"{_money(totals[bucket])}<" in total.group(1)
        ), bucket
    clause = re.search(r'<tr data-clause="gmv_missed">(.*?)</tr>', page, re.S)
    assert clause is not None
    reason = exit_clause["confirmed_fake_orders"]["reason"]["zh"]
    assert html.escape(reason, quote=False) in clause.group(1)

    # PDF: the text layer says the same.
    pdf = _report(tmp_path / "report.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert f"结算合计 (USD): 应付 {_money(totals['due'])}" in flat
    assert f"未到期 {_money(totals['not_yet_due'])}" in flat
    assert f"{left_out} USD" in flat and "估算" in flat

    # XLSX: numbers as numbers in the columns appended for the settlement.
    book = load_workbook(_report(tmp_path / "report.xlsx"))
    sheet = book["合同里程碑与结算"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[11:] == [
        "结算金额",
        "结算币种",
        "汇率",
        "汇率日期",
        "估算",
        "未计入（已确认的刷单）",
        "未计入原因",
    ]
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    fee_rows = [r for r in cells if r[5] not in (None, "结算合计")]
    assert [(r[9].date() if r[9] else None, r[11]) for r in fee_rows if r[10] != "refund"] == [
        (
            dt.date.fromisoformat(line["due_date"]) if line["due_date"] else None,
            float(line["converted"]["amount"]) if line["converted"] else None,
        )
        for line in settlement["lines"]
    ]
    (xlsx_commission,) = [r for r in fee_rows if r[10] == "percent_of_kpi"]
    assert xlsx_commission[16] == float(left_out)
    assert xlsx_commission[17] == commission["confirmed_fake_orders"]["reason"]["zh"]
    total_rows = {r[6]: r for r in cells if r[5] == "结算合计"}
    assert {k: (v[11], v[12]) for k, v in total_rows.items()} == {
        "应付": (float(totals["due"]), "USD"),
        "未到期": (float(totals["not_yet_due"]), "USD"),
        "待里程碑": (float(totals["pending_milestone"]), "USD"),
        "应退": (float(totals["refunds_owed"]), "USD"),
    }
    (estimated,) = [r for r in fee_rows if r[15] == "估算"]
    assert (estimated[13], estimated[14].date(), estimated[11]) == (0.16, CONTRACT_AS_OF, 480.0)
