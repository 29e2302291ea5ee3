"""Buy vs build with the shipped cost book, hand-computed.

Scope: 2 sites, 200 SKUs, managed, 12 months. Headcounts: operations 1 + 0.5×2 + 0.25×2 =
2.5 (30000), ads 0.5 + 0.25×2 = 1 (13000), CS 1 (7000), design 0.5 + 0.25×2 = 1 (9000):
59000 a month + 15000 hiring → 723000. ERP 400×2 = 800 a month; own time (20 + 15×2 + 10×2)
× 2 (managed) = 140 h × 150 = 21000; 21800 a month + 2000 setup → 263600. Agency quote
30000 once + 8000 a month → 126000. Agency vs ERP: 30000 + 8000m ≤ 2000 + 21800m from
m = 3 (month 2: 46000 > 45600). Agency vs in-house: the in-house team is dearer from
month 1 and every month after, so never.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.domain.buy_vs_build import CostInputError, Scope, agency, compare, parse_cost_book

COSTS = Path(__file__).parents[2] / "src/lianxing/agencies/data/team_costs.yaml"
runner = CliRunner()


def test_totals_and_break_even_by_hand() -> None:
    book = parse_cost_book(yaml.safe_load(COSTS.read_text(encoding="utf-8")))
    result = compare(book, Scope(2, 2, 200, True, 12), agency(Decimal(30000), Decimal(8000)))
    totals = {o["key"]: (o["one_time"], o["monthly"], o["total"]) for o in result["options"]}
    assert totals == {
        "agency": ("30000.00", "8000.00", "126000.00"),
        "in_house": ("15000.00", "59000.00", "723000.00"),
        "erp_self": ("2000.00", "21800.00", "263600.00"),
    }
    assert result["break_even_month"] == {"agency_vs_in_house": None, "agency_vs_erp_self": 3}
    assert result["cheapest_over_term"] == "agency"
    in_house = next(o for o in result["options"] if o["key"] == "in_house")
    assert in_house["lines"][0] == {
        "name": {"zh": "运营 × 2.5", "en": "operations × 2.5"},
        "monthly": "30000.00",
    }


def test_a_bad_cost_book_names_every_problem() -> None:
    with pytest.raises(CostInputError) as caught:
        parse_cost_book({"in_house": {"roles": []}, "erp": {"monthly_per_site": "lots"}})
    assert caught.value.problems == [
        "in_house.roles: empty; list the roles of an in-house team",
        "erp.monthly_per_site: 'lots' is not a number",
        "seller.hourly_cost: None is not a number",
    ]


def test_cli_prints_zh_and_en_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANXING_HOME", str(tmp_path / "none"))
    args = [
        "agency",
        "buy-vs-build",
        "--platforms",
        "1",
        "--sites",
        "2",
        "--skus",
        "200",
        "--managed",
        "--months",
        "12",
        "--agency-one-time",
        "30000",
        "--agency-monthly",
        "8000",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "服务商报价" in result.stdout and "in-house" in result.stdout
    assert "break-even month agency_vs_erp_self: 第 3 个月 / month 3" in result.stdout
    result = runner.invoke(app, [*args, "--json"])
    assert json.loads(result.stdout)["break_even_month"]["agency_vs_erp_self"] == 3
    bad = tmp_path / "costs.yaml"
    bad.write_text("in_house: {roles: []}\nerp: {monthly_per_site: 1}\nseller: {hourly_cost: 1}\n")
    result = runner.invoke(app, [*args, "--costs", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {bad}: in_house.roles: empty; list the roles of an in-house team"
    )
