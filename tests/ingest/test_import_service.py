"""``lianxing import`` end to end on a real workspace (SQLite+DuckDB and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from amazon_helpers import FIXTURES
from sqlalchemy import select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.models import AuditEntry, ImportBatch
from lianxing.ingest.service import import_file
from lianxing.metrics.order_cube import CUBE_TABLE, DAILY_DIRTY_TABLE, STATE_TABLE, OrderCube
from lianxing.workspace import Workspace

runner = CliRunner()


def _store(workspace: Workspace) -> int:
    result = runner.invoke(
        app, ["store", "add", "--platform", "amazon", "--site", "US", "--name", "Test", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["id"])


def _import(*args: str) -> tuple[int, dict[str, object] | None, str]:
    result = runner.invoke(app, ["import", *args, "--json"])
    body = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, body, result.stderr


def _count(workspace: Workspace, table: str) -> int:
    ((n,),) = workspace.warehouse.execute(
        f"SELECT count(*) FROM {workspace.warehouse.qualified(table)}"
    )
    return int(n)


def _pending_order_shipped(tmp_path: Path) -> Path:
    """The fixture's pending order again, shipped and priced (24.50 USD)."""
    later = tmp_path / "later.txt"
    header, *rows = (FIXTURES / "amazon_all_orders.txt").read_text().splitlines()
    cells = next(r for r in rows if r.startswith("111-0000002")).split("\t")
    columns = header.split("\t")
    cells[columns.index("order-status")] = "Shipped"
    cells[columns.index("currency")] = "USD"
    cells[columns.index("item-price")] = "24.50"
    later.write_text(header + "\n" + "\t".join(cells) + "\n")
    return later


def test_import_reimport_and_status_change(workspace: Workspace, tmp_path: Path) -> None:
    store = _store(workspace)
    path = FIXTURES / "amazon_all_orders.txt"
    code, body, err = _import(str(path), "--store", str(store))
    assert code == 0, err
    assert body is not None
    assert body["format"] == "amazon.all_orders" and body["store"] == store
    assert body["rows_read"] == 4
    assert body["tables"] == {
        "orders": {"new": 3, "updated": 0, "unchanged": 0},
        "order_lines": {"new": 4, "updated": 0, "unchanged": 0},
    }

    code, body, _ = _import(str(path), "--store", str(store))
    assert body is not None
    assert body["tables"] == {
        "orders": {"new": 0, "updated": 0, "unchanged": 3},
        "order_lines": {"new": 0, "updated": 0, "unchanged": 4},
    }

    # A later file: the pending order shipped, now with a price. An update, not a duplicate.
    code, body, err = _import(str(_pending_order_shipped(tmp_path)), "--store", str(store))
    assert code == 0, err
    assert body is not None
    assert body["tables"] == {
        "orders": {"new": 0, "updated": 1, "unchanged": 0},
        "order_lines": {"new": 0, "updated": 1, "unchanged": 0},
    }
    assert _count(workspace, "orders") == 3
    wh = workspace.warehouse
    ((status,),) = wh.execute(
        f"SELECT status FROM {wh.qualified('orders')} WHERE order_id = '111-0000002-0000002'"
    )
    assert status == "shipped"

    with workspace.session() as session:
        batches = session.scalars(select(ImportBatch).order_by(ImportBatch.started_at)).all()
        assert [b.status for b in batches] == ["succeeded"] * 3
        assert batches[0].file_sha256 is not None and len(batches[0].file_sha256) == 64
        assert (batches[0].rows_read, batches[0].rows_new) == (4, 7)
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions.count("import.succeeded") == 3


def test_an_import_keeps_existing_kpi_cubes_in_step(workspace: Workspace, tmp_path: Path) -> None:
    store = _store(workspace)
    wh = workspace.warehouse
    code, _, err = _import(str(FIXTURES / "amazon_all_orders.txt"), "--store", str(store))
    assert code == 0, err
    # No cube yet: a first import leaves building it to the first computation.
    assert not OrderCube(wh.ibis, wh.table).tables_exist(CUBE_TABLE)
    result = runner.invoke(app, ["kpi", "--store", str(store), "--period", "2026-10", "--json"])
    assert result.exit_code == 0, result.stderr

    code, _, err = _import(str(_pending_order_shipped(tmp_path)), "--store", str(store))
    assert code == 0, err
    # The import followed its batch: the cube has nothing left to do, the daily cube
    # has no changed day waiting for the store.
    assert OrderCube(wh.ibis, wh.table).sync().action == "unchanged"
    waiting = wh.execute(f"SELECT count(*) FROM {wh.qualified(DAILY_DIRTY_TABLE)}")
    assert waiting == [(0,)]
    with workspace.session() as session:
        batch = session.scalars(select(ImportBatch).order_by(ImportBatch.started_at.desc())).first()
        assert batch is not None
    followed = wh.execute(
        f"SELECT row_count FROM {wh.qualified(STATE_TABLE)} WHERE batch_id = ?", (batch.id,)
    )
    assert sorted(followed) == [(1,), (1,)]  # its order and its line


def test_bad_file_is_rejected_whole_with_one_line_per_problem(
    workspace: Workspace, tmp_path: Path
) -> None:
    store = _store(workspace)
    text = (FIXTURES / "amazon_all_orders.txt").read_text()
    bad = (
        text.replace("59.98", "59,98,1", 1)
        .replace("2026-09-02T23:59:59-07:00", "yesterday", 1)
        .replace("\tCancelled\t", "\tLost\t", 1)
    )
    path = tmp_path / "bad_orders.txt"
    path.write_text(bad)
    code, body, err = _import(str(path), "--store", str(store))
    assert code == 2 and body is None
    assert "bad_orders.txt, line 2, column 'item-price', value '59,98,1': expected an amount" in err
    assert (
        "bad_orders.txt, line 4, column 'purchase-date', value 'yesterday': expected a date" in err
    )
    assert "bad_orders.txt, line 5, column 'order-status', value 'Lost': expected one of:" in err
    assert "Traceback" not in err
    assert _count(workspace, "orders") == 0 and _count(workspace, "order_lines") == 0
    with workspace.session() as session:
        (batch,) = session.scalars(select(ImportBatch)).all()
        assert batch.status == "failed" and batch.error is not None


def test_dry_run_reports_without_writing(workspace: Workspace) -> None:
    store = _store(workspace)
    code, body, err = _import(
        str(FIXTURES / "amazon_fba_returns.txt"), "--store", str(store), "--dry-run"
    )
    assert code == 0, err
    assert body is not None and body["dry_run"] is True
    assert body["tables"] == {"returns": {"new": 2, "updated": 0, "unchanged": 0}}
    assert _count(workspace, "returns") == 0


def test_business_report_requires_period(workspace: Workspace) -> None:
    store = _store(workspace)
    path = str(FIXTURES / "amazon_business_report.csv")
    code, _, err = _import(path, "--store", str(store))
    assert code == 2 and "--from" in err
    code, body, err = _import(
        path, "--store", str(store), "--from", "2026-09-01", "--to", "2026-09-30"
    )
    assert code == 0, err
    assert body is not None and body["tables"]["traffic_daily"]["new"] == 2


def test_duckdb_import_limits_are_given_back(workspace: Workspace) -> None:
    """The import caps DuckDB's memory for itself only; a long-lived connection (the web
    app's) is back on the defaults afterwards."""
    wh = workspace.warehouse
    if wh.dialect != "duckdb":
        pytest.skip("DuckDB settings")
    before = wh.execute(
        "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    )
    store = _store(workspace)
    code, _, err = _import(str(FIXTURES / "amazon_all_orders.txt"), "--store", str(store))
    assert code == 0, err
    # The CLI opened its own connection; the service on this one must restore it too.
    result = import_file(workspace, FIXTURES / "amazon_all_orders.txt", store)
    assert result.tables["orders"].unchanged == 3
    assert (
        wh.execute(
            "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
        )
        == before
    )
    assert before[0][1] is True and before[0][0] != "384.0 MiB"
