"""Review reports end to end on the demo workspace (SQLite+DuckDB and PostgreSQL).

The numbers in the HTML, in the PDF's text (pdftotext) and in the XLSX cells must be the
ones ``lianxing kpi --json`` prints for the same store and period. PDF pages are rendered to
PNG under ``$LIANXING_ARTIFACTS`` (or the test's tmp folder) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.models_reports import ReportSnapshot
from lianxing.demo.fill import fill_demo_workspace
from lianxing.reports.text import format_value
from lianxing.workspace import Workspace

TODAY = dt.date(2026, 11, 15)
PERIOD = "2026-10"
runner = CliRunner()


def run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


@pytest.fixture
def demo(workspace: Workspace) -> tuple[Workspace, int]:
    fill = fill_demo_workspace(workspace, today=TODAY)
    amazon = next(s for s in fill.stores if s.platform == "amazon")
    return workspace, amazon.id


def kpi_json(store: int, period: str = PERIOD) -> dict[str, Any]:
    result = run("kpi", "--store", str(store), "--period", period, "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


class _Cells(HTMLParser):
    """(kpi, field) -> (data-value, visible text) of the KPI matrix."""

    def __init__(self) -> None:
        super().__init__()
        self.kpi: str | None = None
        self.open: tuple[str, str] | None = None
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-kpi"):
            self.kpi = a["data-kpi"]
        if tag == "td" and self.kpi and a.get("data-field"):
            self.open = (self.kpi, str(a["data-field"]))
            self.cells[self.open] = (str(a.get("data-value") or ""), "")

    def handle_data(self, data: str) -> None:
        if self.open is not None:
            value, text = self.cells[self.open]
            self.cells[self.open] = (value, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.open = None


def artifacts_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LIANXING_ARTIFACTS", tmp_path / "artifacts")) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_html_pdf_xlsx_numbers_equal_kpi_json(
    demo: tuple[Workspace, int], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _, store = demo
    # Replace the demo's own GMV target with one whose ramp this test computes by hand.
    listing = run("target", "list", "--store", str(store), "--json", "--as-of", "2026-11-15")
    assert listing.exit_code == 0, listing.output
    listed = json.loads(listing.stdout)
    for row in listed["targets"]:
        if row["target"]["kpi"] == "gmv" and row["target"]["scope"]["kind"] == "store":
            assert run("target", "delete", str(row["target"]["id"])).exit_code == 0
    # A target with a cold-start ramp: October is the store's 7th month (launched 2026-04-05).
    result = run(
        "target", "set", "--store", str(store), "--kpi", "gmv", "--value", "200000",
        "--period", PERIOD, "--ramp", "list:0.2,0.4,0.6,0.8,0.9,0.95,0.98",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = kpi_json(store)
    kpis = expected["kpis"]
    assert kpis["gmv"]["value"] > 0 and kpis["orders"]["value"] > 0

    commentary = tmp_path / "commentary.txt"
    commentary.write_text("十月销售额增长；广告投入产出比下降，需优化关键词。", encoding="utf-8")
    files = {}
    for fmt in ("html", "pdf", "xlsx"):
        out = tmp_path / f"report.{fmt}"
        result = run(
            "report", "--store", str(store), "--period", PERIOD, "--format", fmt,
            "-o", str(out), "--commentary", str(commentary), "--as-of", TODAY.isoformat(),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        files[fmt] = out

    # HTML: exact values in data-value, the same numbers written for people.
    parser = _Cells()
    html = files["html"].read_text(encoding="utf-8")
    parser.feed(html)
    assert "十月销售额增长" in html
    for kpi_id, entry in kpis.items():
        raw, text = parser.cells[(kpi_id, "value")]
        unit_kind = "currency" if entry["unit"] == expected["currency"] else entry["unit"]
        if entry["value"] is None:
            assert raw == "" and text.strip() == "—"
        else:
            assert float(raw) == entry["value"], kpi_id
            assert text.strip() == format_value(entry["value"], unit_kind, kpi_id)
        previous = (entry["previous"] or {}).get("value")
        raw_previous = parser.cells[(kpi_id, "previous")][0]
        assert (float(raw_previous) if raw_previous else None) == previous, kpi_id
    # The ramped target: 200000 × 0.98.
    assert float(parser.cells[("gmv", "target")][0]) == pytest.approx(196000.0)

    # PDF: the text layer (Chinese names, formatted numbers) says the same.
    text = subprocess.run(
        ["pdftotext", "-layout", str(files["pdf"]), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "经营复盘报告" in text and "KPI 矩阵" in text
    lines = [line.strip() for line in text.splitlines()]
    for kpi_id, entry in kpis.items():
        name, unit = entry["name"]["zh"], entry["unit"]
        row = next(
            line for line in lines if re.match(rf"^{re.escape(name)}\s+{re.escape(unit)}\b", line)
        )
        unit_kind = "currency" if unit == expected["currency"] else unit
        assert format_value(entry["value"], unit_kind, kpi_id) in row, (kpi_id, row)
    assert f"{196000:,.2f}" in next(line for line in lines if line.startswith("销售额 USD"))

    # XLSX: numbers as numbers, exactly, with formats.
    book = load_workbook(files["xlsx"])
    assert book.sheetnames[:2] == ["KPI 矩阵", "趋势"]
    sheet = book["KPI 矩阵"]
    rows = {row[0].value: row for row in sheet.iter_rows() if row[0].value in kpis}
    for kpi_id, entry in kpis.items():
        cell = rows[kpi_id][3]
        # XLSX stores 15 significant digits, as Excel does.
        if entry["value"] is None:
            assert cell.value is None
        else:
            assert isinstance(cell.value, float | int)
            assert cell.value == pytest.approx(entry["value"], rel=1e-14), kpi_id
        assert rows[kpi_id][13].value == entry["definition"]
    assert rows["gmv"][3].number_format == "#,##0.00"
    assert rows["refund_rate"][3].number_format == "0.00%"
    assert rows["gmv"][8].value == pytest.approx(196000.0)
    assert rows["gmv"][10].value == pytest.approx(kpis["gmv"]["value"] / 196000.0)

    # Pages as PNG for a person to look at.
    folder = artifacts_dir(tmp_path)
    prefix = folder / f"report-{request.node.callspec.id}"
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(files["pdf"]), str(prefix)], check=True)
    assert list(folder.glob(f"{prefix.name}-*.png"))


def test_verify_tamper_and_diff_after_new_facts(
    demo: tuple[Workspace, int], tmp_path: Path
) -> None:
    ws, store = demo
    out = tmp_path / "october.html"
    args = ["report", "--store", str(store), "--period", PERIOD, "--format", "html", "-o", str(out)]
    first = run(*args, "--json")
    assert first.exit_code == 0, first.output
    snapshot = json.loads(first.stdout)["snapshot"]
    frozen = out.read_bytes()

    verified = run("report", "verify", str(out), "--json")
    assert verified.exit_code == 0, verified.output
    body = json.loads(verified.stdout)
    assert body["ok"] and body["snapshot"]["id"] == snapshot["id"]

    tampered = tmp_path / "tampered.html"
    data = bytearray(frozen)
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    refused = run("report", "verify", str(tampered))
    assert refused.exit_code == 1
    assert "not a report Lianxing produced" in refused.stdout

    # New facts in October: one more order of 100.00 USD on 2026-10-15 (store local time).
    before = kpi_json(store)["kpis"]
    with ws.warehouse.batch("late-import", "manual") as batch:
        batch.append(
            "orders",
            [{
                "store_id": store, "order_id": "LATE-1", "purchase_ts": dt.datetime(2026, 10, 15, 18),  # noqa: E501
                "status": "shipped", "currency": "USD",
            }],
        )  # fmt: skip
        batch.append(
            "order_lines",
            [{
                "store_id": store, "order_id": "LATE-1", "line_id": "1", "sku": "LATE-SKU",
                "quantity": 1, "item_price": 100, "currency": "USD",
            }],
        )  # fmt: skip
    after = kpi_json(store)["kpis"]
    assert after["orders"]["value"] == before["orders"]["value"] + 1

    diff = run("report", "diff", str(snapshot["id"]), "--json")
    assert diff.exit_code == 0, diff.output
    changes = {c["kpi"]: c for c in json.loads(diff.stdout)["changes"]}
    assert changes["orders"]["before"] == before["orders"]["value"]
    assert changes["orders"]["after"] == before["orders"]["value"] + 1
    assert changes["gmv"]["change"] == pytest.approx(100.0)
    assert "ad_spend" not in changes  # untouched facts did not move

    # The frozen file is unchanged and still verifies; regenerating names what moved.
    assert out.read_bytes() == frozen
    assert run("report", "verify", str(out)).exit_code == 0
    second = run(*args[:-1], str(tmp_path / "again.html"))
    assert second.exit_code == 0, second.output
    assert f"KPIs changed since snapshot {snapshot['id']}" in second.stdout
    assert re.search(
        rf"orders: {before['orders']['value']} -> {after['orders']['value']}", second.stdout
    )


def test_bad_report_requests_write_nothing(demo: tuple[Workspace, int], tmp_path: Path) -> None:
    ws, store = demo
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "x.pdf"
    cases = [
        (["--stores", "1,x", "--period", PERIOD], "--stores: 'x' is not a store id"),
        (["--store", "999", "--period", PERIOD], "--store: no store with id 999"),
        (["--store", str(store), "--period", "rolling:7"], "a review covers a week"),
        (["--store", str(store), "--period", "2026-13"], "--period: period '2026-13'"),
        (["--store", str(store), "--period", PERIOD, "--format", "doc"], "--format: 'doc'"),
        (["--store", str(store), "--period", PERIOD, "--lang", "fr"], "--lang: 'fr'"),
        (["--store", str(store), "--stores", "1", "--period", PERIOD], "exactly one of"),
    ]
    for options, message in cases:
        result = run("report", *options, "-o", str(out))
        assert result.exit_code == 2, (options, result.output)
        assert message in result.stderr, (options, result.stderr)
        assert not out.exists()
    assert not list(folder.iterdir())
    with ws.session() as session:
        assert session.scalar(select(func.count()).select_from(ReportSnapshot)) == 0
