"""The pre-signing risk audit: every code on a risky contract, nothing high on a clean one,
and one line per problem (file, line, path) with exit 2 for malformed files."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.contracts.document import DocumentError
from lianxing.contracts.service import catalog_facts, check_contract, workspace_catalog
from lianxing.domain.contract_audit import AuditRates, audit
from lianxing.domain.contract_evaluation import SettlementRates
from lianxing.domain.contracts import Contract, ContractInputError, parse_contract

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()
EVERY_CODE = {
    "kpi.unknown",
    "kpi.option_unspecified",
    "kpi.unverifiable_source",
    "targets.unrealistic_cold_start",
    "exit.missing",
    "sla.missing",
    "data_ownership.not_seller",
    "accounts.not_held_by_seller",
    "fees.open_ended",
    "claims.guarantee",
    "exclusivity.restrictive",
    "payment.before_evidence",
    "parties.agency_unverified",
    "liability.missing",
    "dispute.missing",
    "cases.unverified",
}


@pytest.fixture(autouse=True)
def _no_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANXING_HOME", str(tmp_path / "none"))


def test_a_risky_contract_gets_every_code_at_its_place() -> None:
    report = check_contract(FIXTURES / "risky.yaml", workspace_catalog(None))
    assert {f.code for f in report.findings} == EVERY_CODE
    located = {
        (f.code, f.path, line) for f, line in zip(report.findings, report.lines, strict=True)
    }
    assert ("kpi.unknown", "kpis[2].kpi", 24) in located
    assert ("kpi.unverifiable_source", "kpis[1].source", 20) in located
    assert ("targets.unrealistic_cold_start", "kpis[1].target", 22) in located
    assert ("fees.open_ended", "fees[2].amount", 29) in located
    assert ("claims.guarantee", "title", 3) in located
    assert ("exclusivity.restrictive", "exclusivity", 32) in located
    unspecified = {f.message_en for f in report.findings if f.code == "kpi.option_unspecified"}
    assert any("'refunds'" in m for m in unspecified)  # GMV without saying refunds are deducted
    payment = next(f for f in report.findings if f.code == "payment.before_evidence")
    assert "54000 of 54000 CNY" in payment.message_en  # 30000 + 12 × 2000, no milestone at all
    open_ended = {f.message_en for f in report.findings if f.code == "fees.open_ended"}
    for fee in ("appeal", "emergency", "yearly system"):
        assert any(fee in m for m in open_ended), fee
    for finding in report.findings:
        assert finding.message_zh and finding.message_en
    high = {f.code for f in report.findings if f.severity.value == "high"}
    assert high == EVERY_CODE - {
        "kpi.option_unspecified",
        "sla.missing",
        "dispute.missing",
        "cases.unverified",
    }
    assert ("parties.agency_unverified", "parties.agency.registration_number", 6) in located
    assert ("cases.unverified", "cases[0]", 37) in located


def test_a_clean_contract_gets_no_high_finding() -> None:
    report = check_contract(FIXTURES / "roas_milestone.yaml", workspace_catalog(None))
    assert [f for f in report.findings if f.severity.value == "high"] == []
    assert report.findings == []


def _clean() -> Contract:
    return check_contract(FIXTURES / "roas_milestone.yaml", workspace_catalog(None)).contract


def _with(**changes: object) -> Contract:
    document = {**_clean().document, **changes}
    return parse_contract(document)


def _codes(contract: Contract) -> list[str]:
    return [f.code for f in audit(contract, catalog_facts(workspace_catalog(None)))]


def test_cold_start_limits_apply_only_to_a_new_store_in_its_first_month() -> None:
    acos = {"id": "acos", "kpi": "acos", "options": {"currency": "USD"}, "period": "month"}
    strict = {**acos, "target": {"comparator": "<=", "value": "15%"}}
    kpis = _clean().document["kpis"]
    assert "targets.unrealistic_cold_start" in _codes(_with(kpis=[*kpis, strict]))
    # From month two on, or a looser target, or an existing store: no finding.
    assert "targets.unrealistic_cold_start" not in _codes(
        _with(kpis=[*kpis, {**strict, "from_day": 32}])
    )
    loose = {**acos, "target": {"comparator": "<=", "value": 0.3}}
    assert "targets.unrealistic_cold_start" not in _codes(_with(kpis=[*kpis, loose]))
    existing = [{"id": 1, "new": False}]
    assert "targets.unrealistic_cold_start" not in _codes(
        _with(kpis=[*kpis, strict], stores=existing)
    )
    # A milestone of ROAS ≥ 4 to be met within 30 days of launch is flagged at its target.
    milestone = {
        "id": "m4",
        "kpi": "roas",
        "target": {"comparator": ">=", "value": 4},
        "consecutive_days": 14,
        "within_days_of_launch": 30,
    }
    findings = audit(
        _with(milestones=[*_clean().document["milestones"], milestone]),
        catalog_facts(workspace_catalog(None)),
    )
    assert [f.path for f in findings if f.code == "targets.unrealistic_cold_start"] == [
        "milestones[1].target"
    ]


def test_payment_before_evidence_compares_money_due_before_the_first_possible_milestone() -> None:
    # Clean fixture: evidence is possible from 2026-01-30 (launch + 29); before it fall the
    # setup 2000 and January's 500 of 8000 in all: 31 %, no finding. A 6000 setup makes it
    # (6000 + 500) / 12000 = 54 %.
    fees = _clean().document["fees"]
    bigger = [{**fees[0], "amount": 6000}, *fees[1:]]
    findings = [
        f
        for f in audit(_with(fees=bigger), catalog_facts(workspace_catalog(None)))
        if f.code == "payment.before_evidence"
    ]
    assert len(findings) == 1
    assert "54% of the money (6500 of 12000 USD)" in findings[0].message_en


def _payment_messages(contract: Contract, rates: AuditRates | None = None) -> list[str]:
    findings = audit(contract, catalog_facts(workspace_catalog(None)), rates=rates)
    return [f.message_en for f in findings if f.code == "payment.before_evidence"]


def test_payment_before_evidence_converts_fees_in_several_currencies_when_rates_are_given() -> None:
    # The clean fixture with a setup of 56000 CNY at signing. Due before 2026-01-30: the
    # setup and January's 500 USD. Per currency: CNY 100 %, USD 500 / 6000 = 8 %.
    fees = _clean().document["fees"]
    cny_setup = _with(fees=[{**fees[0], "amount": 56000, "currency": "CNY"}, *fees[1:]])
    day = dt.date(2026, 2, 20)

    # No rates: each currency on its own, and the finding says the verdict hangs on the rates.
    assert _payment_messages(cny_setup) == [
        "100% of the CNY fees (56000 of 56000 CNY) is due before 2026-01-30; the fees are in "
        "CNY, USD and fx_rates has no rates to convert them, so each currency is compared on "
        "its own (whether over half of all the money is due early depends on the rates); tie "
        "payment to verifiable KPI milestones"
    ]
    # 0.14 USD per CNY: 56000 → 7840.00 USD; (7840 + 500) / (7840 + 3000 + 3000) = 60 %.
    dear = AuditRates(day, SettlementRates("USD", {("CNY", day): Decimal("0.14")}))
    assert _payment_messages(cny_setup, dear) == [
        "60% of the money (8340.00 of 13840.00 USD; the fees in CNY, USD converted to USD at "
        "the fx_rates of 2026-02-20, an estimate) is due before 2026-01-30; tie payment to "
        "verifiable KPI milestones"
    ]
    # 0.07: 56000 → 3920.00; (3920 + 500) / 9920 = 45 %: not over half.
    cheap = AuditRates(day, SettlementRates("USD", {("CNY", day): Decimal("0.07")}))
    assert _payment_messages(cny_setup, cheap) == []

    # Over half in every currency (USD: a 6000 fee at signing, 6500 / 12000 = 54 %): over half
    # of all the money whatever the rate, and the finding says that too.
    tools = {**fees[0], "id": "tools", "amount": 6000}
    both = _with(fees=[{**fees[0], "amount": 56000, "currency": "CNY"}, tools, *fees[1:]])
    messages = _payment_messages(both)
    assert [m.split(" is due")[0] for m in messages] == [
        "100% of the CNY fees (56000 of 56000 CNY)",
        "54% of the USD fees (6500 of 12000 USD)",
    ]
    assert all("over half in every currency, so over half of all the money" in m for m in messages)


def test_exclusivity_severity_grows_with_months_and_scope() -> None:
    def severity(months: int, scope: str) -> list[str]:
        contract = _with(exclusivity={"scope": scope, "months": months})
        return [
            f.severity.value
            for f in audit(contract, catalog_facts(workspace_catalog(None)))
            if f.code == "exclusivity.restrictive"
        ]

    assert severity(6, "Amazon US home") == []
    assert severity(9, "Amazon US home") == ["medium"]
    assert severity(13, "Amazon US home") == ["high"]
    assert severity(3, "all platforms worldwide") == ["high"]


def test_guarantees_are_found_in_english_too() -> None:
    contract = _with(clauses_text="We offer guaranteed sales of $10k per month.")
    assert _codes(contract) == ["claims.guarantee"]


def test_bad_yaml_gives_one_line_per_problem_with_file_line_and_path() -> None:
    with pytest.raises(DocumentError) as caught:
        check_contract(FIXTURES / "bad.yaml", workspace_catalog(None))
    file = str(FIXTURES / "bad.yaml")
    assert caught.value.lines == [
        f"{file}:5: package: 'managed_everything' is not allowed; expected one of "
        "open_only, open_plus_coaching, full_managed",
        f"{file}:6: term.months: 0 is not a whole number ≥ 1",
        f"{file}:6: term.start: '2026-13-01' is not a date; expected YYYY-MM-DD",
        f"{file}:10: kpis[0].source: 'excel' is not allowed; expected one of platform, manual",
        f"{file}:11: kpis[0].target.comparator: comparator '=>' not understood; "
        "expected one of >=, <=, >, <, ==",
        f"{file}:11: kpis[0].target.value: 'high' is not a number (or a percentage such as '15%')",
        f"{file}:13: fees[0].currency: 'rmb' is not a currency code; "
        "expected three capitals such as CNY",
        f"{file}:13: fees[0].type: 'upfront' is not allowed; "
        "expected one of fixed, monthly, milestone, percent_of_kpi",
        f"{file}:15: milestones[0].consecutive_days: "
        "30 consecutive days cannot fit within 20 days of launch",
        f"{file}:15: milestones[0].kpi: 'nope' is not a KPI clause id; expected one of (none)",
    ]


def test_cli_check_exit_codes_and_json() -> None:
    result = runner.invoke(app, ["contract", "check", str(FIXTURES / "bad.yaml")])
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 10 and all(
        e.startswith(f"error: {FIXTURES / 'bad.yaml'}:") for e in errors
    )
    result = runner.invoke(app, ["contract", "check", str(FIXTURES / "broken.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {FIXTURES / 'broken.yaml'}:4: not valid YAML: expected ',' or '}}', but got ':'"
    )
    result = runner.invoke(app, ["contract", "check", str(FIXTURES / "risky.yaml"), "--json"])
    assert result.exit_code == 1  # high-severity findings
    body = json.loads(result.stdout)
    assert body["counts"]["high"] == 18 and body["counts"]["medium"] == 8
    first = body["findings"][0]
    assert set(first) == {"code", "severity", "message", "path", "line"}
    assert set(first["message"]) == {"zh", "en"}
    result = runner.invoke(
        app, ["contract", "check", str(FIXTURES / "roas_milestone.yaml"), "--json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"] == []


def test_parse_reports_every_problem_not_the_first() -> None:
    with pytest.raises(ContractInputError) as caught:
        parse_contract({"number": "X", "term": {"start": dt.date(2026, 1, 1)}})
    paths = [p.path for p in caught.value.problems]
    assert paths == ["parties", "package", "term.months"]
