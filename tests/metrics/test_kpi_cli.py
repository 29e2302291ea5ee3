"""`lianxing kpi` and `lianxing metrics` end to end on a real workspace.

The workspace is SQLite + DuckDB or PostgreSQL (the ``workspace`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kpi_facts import FACTS, load_facts
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.metrics.docs import render_kpi_docs
from lianxing.metrics.loader import load_catalog
from lianxing.workspace import Workspace

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    for site, name, launch in (
        ("US", "Amazon US", "2026-10-01"),
        ("DE", "Amazon DE", "2026-09-01"),
    ):
        code, _, err = _run(
            "store",
            "add",
            "--platform",
            "amazon",
            "--site",
            site,
            "--name",
            name,
            "--launch-date",
            launch,
            "--json",
        )
        assert code == 0, err
    load_facts(workspace.warehouse, FACTS)
    return workspace


def test_kpi_json_is_exactly_the_documented_shape(shop: Workspace) -> None:
    code, out, err = _run(
        "kpi", "--store", "1", "--period", "2026-10", "--kpi", "gmv,aov,roas", "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["store"] == 1
    assert body["period"]["start"] == "2026-10-01" and body["period"]["end"] == "2026-10-31"
    assert body["period"]["timezone"] == "America/Los_Angeles"
    assert body["currency"] == "USD"
    assert list(body["kpis"]) == ["gmv", "aov", "roas"]
    gmv = body["kpis"]["gmv"]
    assert gmv["value"] == pytest.approx(100.0)
    assert gmv["unit"] == "USD"
    assert gmv["definition"] == load_catalog().definitions["gmv"].content_hash
    assert body["kpis"]["roas"]["unit"] == "ratio"
    assert gmv["previous"]["value"] == pytest.approx(160.0)


def test_portfolio_recomputes_ratios(shop: Workspace) -> None:
    code, out, err = _run(
        "kpi", "--platform", "amazon", "--period", "2026-10", "--kpi", "aov", "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["stores"] == [1, 2] and "store" not in body
    assert body["kpis"]["aov"]["value"] == pytest.approx(270 / 5)
    code, out, _ = _run(
        "kpi",
        "--stores",
        "1,2",
        "--period",
        "2026-10",
        "--kpi",
        "aov",
        "--json",
        "--option",
        "currency=EUR",
    )
    assert code == 2  # store 1's USD days have no EUR rate
    assert (
        "no exchange rate for EUR"
        in _run(
            "kpi",
            "--stores",
            "1,2",
            "--period",
            "2026-10",
            "--kpi",
            "aov",
            "--option",
            "currency=EUR",
        )[2]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "99", "--period", "2026-10"), "no store with id 99"),
        (("--store", "1", "--period", "2026-13"), "month 13"),
        (("--store", "1", "--period", "2026-10", "--kpi", "gmvv"), "unknown KPI gmvv"),
        (
            ("--store", "1", "--period", "2026-10", "--option", "refunds=sometimes"),
            "option refunds",
        ),
        (("--period", "2026-10"), "exactly one of --store"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    shop: Workspace, args: tuple[str, ...], message: str
) -> None:
    code, _, err = _run("kpi", *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_human_output_names_kpis_in_both_languages(shop: Workspace) -> None:
    code, out, err = _run("kpi", "--store", "1", "--period", "2026-10", "--kpi", "gmv,acos")
    assert code == 0, err
    assert "销售额" in out and "GMV" in out and "pending" in out


def test_metrics_list_and_validate(shop: Workspace) -> None:
    code, out, _ = _run("metrics", "list", "--json")
    assert code == 0
    listed = {k["id"]: k for k in json.loads(out)["kpis"]}
    assert listed["gmv"]["hash"] == load_catalog().definitions["gmv"].content_hash
    kpi_dir = shop.settings.home_dir / "kpis"
    kpi_dir.mkdir()
    (kpi_dir / "oops.yaml").write_text("id: oops\nunit: furlongs\n", encoding="utf-8")
    code, _, err = _run("metrics", "validate")
    assert code == 2
    assert f"{kpi_dir / 'oops.yaml'}:2: unit 'furlongs' is not allowed" in err
    assert "missing key 'formula'" in err


def test_committed_docs_equal_the_generated_docs() -> None:
    committed = (REPO / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert committed == render_kpi_docs(load_catalog().require_valid()), (
        "docs/kpis.md is stale: run `lianxing metrics docs -o docs/kpis.md`"
    )
