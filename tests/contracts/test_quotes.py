"""Quotes from the shipped price book, hand-computed; the workspace copy wins; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lianxing.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LIANXING_HOME", str(tmp_path / "ws"))
    return tmp_path / "ws"


def test_every_fee_is_a_line_with_total_schedule_and_missing_information() -> None:
    result = runner.invoke(app, ["quote", str(FIXTURES / "quote_request.yaml"), "--json"])
    assert result.exit_code == 0, result.stderr
    quote = json.loads(result.stdout)
    amounts = {line["code"]: line["amount"] for line in quote["lines"]}
    assert amounts == {
        "store_opening": "4000.00",  # 2 platforms × 2000 (full_managed)
        "additional_site_opening": "1200.00",  # Amazon UK
        "custom_system_work": "3000.00",  # 2 days × 1500
        "listing_optimisation": "2000.00",  # 50 SKUs × 40
        "overseas_company": "6000.00",
        "vat_registration": "2500.00",
        "account_history": "3000.00",  # existing account with issues: appeals priced
        "monthly_service": "13680.00",  # 2 × 6000 × 1.2 stretch × (1 − 0.05 for 6 months)
        "additional_site_service": "800.00",
        "ad_management": "4000.00",
        "support_language": "900.00",
    }
    assert quote["totals"] == {
        "one_time": "21700.00",
        "monthly": "19380.00",
        "months": 6,
        "total": "137980.00",
    }
    assert [(s["when"], s["amount"]) for s in quote["payment_schedule"]] == [
        ("signing", "6510.00"),
        ("launch", "6510.00"),
        ("first_kpi_milestone", "8680.00"),
        ("each_month", "0.00"),
    ]
    assert quote["payment_schedule"][-1]["monthly"] == "19380.00"
    assert [m["field"] for m in quote["missing_information"]] == [
        "kpi_dates",
        "existing.brand",
        "existing.erp",
        "budget",
    ]
    assert quote["exact"] is False


def test_the_workspace_copy_of_the_price_book_is_used_once_made(_home: Path) -> None:
    assert runner.invoke(app, ["quote", "--init-price-book"]).exit_code == 0
    book = _home / "price_book.yaml"
    book.write_text(
        book.read_text().replace(
            "ad_management_per_platform: 2000", "ad_management_per_platform: 2500"
        )
    )
    result = runner.invoke(app, ["quote", str(FIXTURES / "quote_request.yaml"), "--json"])
    quote = json.loads(result.stdout)
    assert quote["price_book"] == str(book)
    assert (
        next(line for line in quote["lines"] if line["code"] == "ad_management")["amount"]
        == "5000.00"
    )


def test_bad_requests_give_one_line_per_problem(tmp_path: Path) -> None:
    request = tmp_path / "q.yaml"
    request.write_text("platforms: amazon\npackage: everything\nkpi_cycle_months: 1\nbudgett: 5\n")
    result = runner.invoke(app, ["quote", str(request)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {request}:1: platforms: expected a list of {{platform: NAME, sites: [SITE, ...]}}",
        f"error: {request}:2: package: 'everything' is not allowed; "
        "expected one of open_only, open_plus_coaching, full_managed",
        f"error: {request}:3: kpi_cycle_months: 1 is below the price book's minimum of 3 months",
        f"error: {request}:4: budgett: unknown key 'budgett'; expected one of "
        "platforms, package, kpi_cycle_months, target_difficulty, custom_system_work_days, "
        "ad_management, listing_optimisation_skus, entity_type, overseas_company, "
        "vat_registrations, account_history, support_language, category, sku_count, "
        "start_date, kpi_dates, existing, budget, payment_preference",
    ]
