"""Running a format on a fixture, and the CLI on a fresh workspace (shared by the
Shopee / Lazada / TikTok / AliExpress / mapping tests)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.config import Settings
from lianxing.ingest.files.base import ImportContext, ReportFormat
from lianxing.ingest.files.reading import Source
from lianxing.workspace import open_workspace

FIXTURES = Path(__file__).parent / "fixtures"


def run_format(
    fmt: ReportFormat,
    path: Path,
    *,
    timezone: str = "UTC",
    currency: str = "USD",
    day_first: bool = True,
) -> tuple[dict[str, list[dict[str, Any]]], ImportContext]:
    ctx = ImportContext(
        file=path.name,
        store_id=7,
        timezone=timezone,
        currency=currency,
        day_first=day_first,
        buyer_salt=b"salt",
    )
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, table in fmt.parse(Source(path), ctx):
        tables[name].extend(table.to_pylist())
    return dict(tables), ctx


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def new_store(platform: str, site: str) -> int:
    assert cli("init")[0] == 0
    code, out, err = cli(
        "store",
        "add",
        "--platform",
        platform,
        "--site",
        site,
        "--name",
        f"{platform} {site}",
        "--json",
    )
    assert code == 0, err
    return int(json.loads(out)["id"])


def count_rows(settings: Settings, table: str) -> int:
    ws = open_workspace(settings)
    try:
        return int(ws.warehouse.table(table).count().execute())
    finally:
        ws.close()
