"""Property tests: valid All Orders rows round-trip; any corrupted cell rejects the file."""

from __future__ import annotations

import datetime as dt
import json
import string
from decimal import Decimal
from pathlib import Path

import pytest
from amazon_helpers import FIXTURES, parse_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.ingest.files.amazon.common import ORDER_STATUS
from lianxing.workspace import Workspace

HEADER = (FIXTURES / "amazon_all_orders.txt").read_text().splitlines()[0].split("\t")

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "order": st.integers(0, 9_999_999),
            "sku": st.text(string.ascii_uppercase + string.digits + "-_.", min_size=1, max_size=20),
            "quantity": st.integers(0, 500),
            "price": st.decimals(Decimal("0"), Decimal("99999.99"), places=2),
            "status": st.sampled_from(
                ["Pending", "Shipped", "Cancelled", "Unshipped", "Shipped - Delivered to Buyer"]
            ),
            "ts": st.datetimes(dt.datetime(2015, 1, 1), dt.datetime(2035, 1, 1)).map(
                lambda t: t.replace(microsecond=0)
            ),
            "offset_h": st.integers(-11, 12),
        }
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda r: (r["order"], r["sku"]),
)


def _line(row: dict[str, object]) -> str:
    cells = dict.fromkeys(HEADER, "")
    offset = row["offset_h"]
    assert isinstance(offset, int) and isinstance(row["ts"], dt.datetime)
    local = row["ts"] + dt.timedelta(hours=offset)
    cells.update(
        {
            "amazon-order-id": f"111-{row['order']:07d}-0000001",
            "purchase-date": local.isoformat()
            + f"{'+' if offset >= 0 else '-'}{abs(offset):02d}:00",
            "order-status": str(row["status"]),
            "fulfillment-channel": "Amazon",
            "sku": str(row["sku"]),
            "quantity": str(row["quantity"]),
            "currency": "USD",
            "item-price": f"{row['price']:.2f}",
        }
    )
    return "\t".join(cells[h] for h in HEADER)


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("\t".join(HEADER) + "\n" + "\n".join(_line(r) for r in rows) + "\n")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy)
def test_random_valid_rows_round_trip(rows: list[dict[str, object]], tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    _write(path, rows)
    _, facts, ctx = parse_file(path, "amazon.all_orders", timezone="America/Los_Angeles")
    assert not ctx.problems, ctx.problems.lines()
    lines = {(x["order_id"], x["line_id"]): x for x in facts["order_lines"]}
    orders = {}
    for o in facts["orders"]:
        orders[o["order_id"]] = o  # last wins, as in the warehouse
    for row in rows:
        order_id = f"111-{row['order']:07d}-0000001"
        line = lines[(order_id, row["sku"])]
        assert line["quantity"] == row["quantity"]
        assert line["item_price"] == row["price"]
    last_per_order = {f"111-{r['order']:07d}-0000001": r for r in rows}
    for order_id, row in last_per_order.items():
        assert orders[order_id]["purchase_ts"] == row["ts"]
        assert orders[order_id]["status"] == ORDER_STATUS[str(row["status"]).lower()]


garbage = st.text(string.ascii_letters, min_size=1, max_size=12).filter(
    lambda s: s.lower() not in ORDER_STATUS
)


@pytest.fixture
def store_id(workspace: Workspace) -> int:
    result = CliRunner().invoke(
        app, ["store", "add", "--platform", "amazon", "--site", "US", "--name", "P", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["id"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy, data=st.data())
def test_any_corrupted_cell_rejects_the_whole_file(
    workspace: Workspace,
    store_id: int,
    tmp_path: Path,
    rows: list[dict[str, object]],
    data: st.DataObject,
) -> None:
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(["item-price", "quantity", "purchase-date", "order-status"]))
    value = data.draw(garbage)
    lines = [_line(r) for r in rows]
    cells = lines[index].split("\t")
    cells[HEADER.index(column)] = value
    lines[index] = "\t".join(cells)
    path = tmp_path / "corrupt.txt"
    path.write_text("\t".join(HEADER) + "\n" + "\n".join(lines) + "\n")

    result = CliRunner().invoke(app, ["import", str(path), "--store", str(store_id)])
    assert result.exit_code == 2
    assert f"corrupt.txt, line {index + 2}, column '{column}', value '{value}'" in result.stderr
    assert "Traceback" not in result.stderr
    wh = workspace.warehouse
    ((n,),) = wh.execute(f"SELECT count(*) FROM {wh.qualified('order_lines')}")
    assert n == 0
