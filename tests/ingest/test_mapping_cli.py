"""``lianxing import --mapping FILE`` and workspace mapping files, end to end through the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from marketplace_helpers import cli

from lianxing.ingest.files.mapping import SHIPPED_DIR
from lianxing.workspace import Workspace

# The ERP example of docs/import-mappings.md, byte for byte (GBK, as Chinese Excel saves it).
ERP_CSV = (
    "单号,下单时间,状态,货号,数量,单价,折扣,买家,国家\n"
    'SO-1001,2026/10/01 09:30,已发货,MUG-BLUE,2,"1,299.00",10.00,buyer-a,US\n'
    "SO-1001,2026/10/01 09:30,已发货,CAP-01,1,15.50,0,buyer-a,US\n"
    "SO-1002,2026/10/02 18:05,已取消,MUG-BLUE,1,1299.00,0,buyer-b,CA\n"
)
ERP_MAPPING = """\
format: myerp.orders
name_zh: 自建ERP订单明细
name_en: In-house ERP order lines
tables: [orders, order_lines]
timezone: America/Los_Angeles
date_formats: ["%Y/%m/%d %H:%M"]
decimal: point
constants:
  currency: USD
columns:
  order_id: 单号
  purchase_ts: 下单时间
  status:
    headers: [状态]
    values: {待付款: pending, 待发货: unshipped, 已发货: shipped, 已签收: delivered,
             已取消: cancelled}
  sku: 货号
  quantity: 数量
  item_price: {headers: [单价], per_unit: true}
  promotion_discount: {headers: [折扣], required: false}
  buyer_ref: {headers: [买家], required: false}
  ship_country: {headers: [国家], required: false}
"""


def _store(platform: str = "amazon", site: str = "US") -> int:
    code, out, err = cli(
        "store", "add", "--platform", platform, "--site", site, "--name", "M", "--json"
    )
    assert code == 0, err
    return int(json.loads(out)["id"])


def _rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    wh = ws.warehouse
    return [
        tuple(r)
        for r in wh.execute(sql.format(o=wh.qualified("orders"), l=wh.qualified("order_lines")))
    ]


def test_import_with_user_mapping(workspace: Workspace, tmp_path: Path) -> None:
    store = _store()
    data = tmp_path / "erp-orders.csv"
    data.write_bytes(ERP_CSV.encode("gbk"))
    mapping = tmp_path / "erp-orders.yaml"
    mapping.write_text(ERP_MAPPING, encoding="utf-8")
    code, out, err = cli(
        "import", str(data), "--store", str(store), "--mapping", str(mapping), "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["format"] == "myerp.orders" and body["rows_read"] == 3
    assert body["tables"] == {
        "orders": {"new": 2, "updated": 0, "unchanged": 0},
        "order_lines": {"new": 3, "updated": 0, "unchanged": 0},
    }
    assert _rows(workspace, "SELECT order_id, purchase_ts, status FROM {o} ORDER BY order_id") == [
        ("SO-1001", datetime(2026, 10, 1, 16, 30), "shipped"),  # 09:30 PDT = 16:30 UTC
        ("SO-1002", datetime(2026, 10, 3, 1, 5), "cancelled"),
    ]
    assert _rows(
        workspace,
        "SELECT order_id, line_id, quantity, item_price, promotion_discount FROM {l} "
        "ORDER BY order_id, line_id",
    ) == [
        ("SO-1001", "CAP-01", 1, Decimal("15.5000"), Decimal("0.0000")),
        ("SO-1001", "MUG-BLUE", 2, Decimal("2598.0000"), Decimal("10.0000")),
        ("SO-1002", "MUG-BLUE", 1, Decimal("1299.0000"), Decimal("0.0000")),
    ]


def test_bad_mapping_one_line_per_problem_and_nothing_written(
    workspace: Workspace, tmp_path: Path
) -> None:
    store = _store()
    data = tmp_path / "erp-orders.csv"
    data.write_bytes(ERP_CSV.encode("gbk"))
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(
        ERP_MAPPING.replace("America/Los_Angeles", "Mars/Base").replace("  quantity: 数量\n", "")
        + "  colour: 颜色\n",
        encoding="utf-8",
    )
    code, out, err = cli("import", str(data), "--store", str(store), "--mapping", str(mapping))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert all(line.startswith(f"error: {mapping}: ") for line in lines), err
    assert any(
        "columns.colour: not a column of ['orders', 'order_lines']" in line for line in lines
    )
    assert any("columns.quantity: order_lines.quantity must be filled" in line for line in lines)
    assert any("timezone: 'Mars/Base' is not an IANA time zone" in line for line in lines)
    assert "Traceback" not in err
    assert _rows(workspace, "SELECT count(*) FROM {o}") == [(0,)]

    code, _, err = cli(
        "import", str(data), "--store", str(store), "--mapping", str(tmp_path / "missing.yaml")
    )
    assert code == 2 and "missing.yaml: cannot read the mapping file" in err
    code, _, err = cli(
        "import", str(data), "--store", str(store), "--mapping", str(mapping), "--format", "x.y"
    )
    assert code == 2 and "either --format or --mapping" in err


def test_workspace_mapping_replaces_the_shipped_one(workspace: Workspace, tmp_path: Path) -> None:
    store = _store("lazada", "MY")
    # A Seller Center export whose order-number header the shipped mapping does not know.
    data = tmp_path / "lazada_orders.csv"
    data.write_text(
        "orderItemId,Order No.,sellerSku,createTime,unitPrice,status\n"
        "1001,300034574,TSHIRT-RED-M,01 Mar 2024 10:15,20.00,delivered\n",
        encoding="utf-8",
    )
    code, _, err = cli("import", str(data), "--store", str(store))
    assert code == 2 and "cannot tell which report this is" in err

    folder = workspace.settings.home_dir / "mappings"
    folder.mkdir()
    shipped = (SHIPPED_DIR / "lazada_order_export.yaml").read_text(encoding="utf-8")
    edited = shipped.replace('["orderNumber", ', '["Order No.", "orderNumber", ')
    assert edited != shipped
    (folder / "lazada.order_export.yaml").write_text(edited, encoding="utf-8")
    code, out, err = cli("import", str(data), "--store", str(store), "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["format"] == "lazada.order_export"
    assert body["tables"]["orders"] == {"new": 1, "updated": 0, "unchanged": 0}
    assert _rows(workspace, "SELECT order_id, status FROM {o}") == [("300034574", "delivered")]

    # A broken workspace mapping is reported, never silently replaced by the shipped one.
    (folder / "lazada.order_export.yaml").write_text(
        edited.replace("tables: [orders, order_lines]", "tables: [orderz]"), encoding="utf-8"
    )
    code, _, err = cli(
        "import", str(data), "--store", str(store), "--format", "lazada.order_export"
    )
    assert code == 2
    assert f"error: {folder / 'lazada.order_export.yaml'}: tables: unknown ['orderz']" in err
    (folder / "lazada.order_export.yaml").unlink()
    (folder / "amazon.all_orders.yaml").write_text(
        edited.replace("format: lazada.order_export", "format: amazon.all_orders"),
        encoding="utf-8",
    )
    code, _, err = cli("import", str(data), "--store", str(store))
    assert code == 2 and "'amazon.all_orders' is a built-in importer" in err
