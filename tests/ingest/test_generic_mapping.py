"""A user's YAML mapping: GBK CSV from an ERP into fees; mapping-file errors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from marketplace_helpers import FIXTURES, run_format

from lianxing.ingest.files.mapping import MappingError, load_format

MAPPING = FIXTURES / "generic" / "erp_fees.yaml"
CSV = (
    "流水号,记账时间,订单号,费用类型,金额\n"
    'F-1,2024/04/01 08:30,A1,佣金,"1,234.50"\n'
    "F-2,2024/04/01 23:59,,广告费,-30\n"
)


def test_gbk_csv_through_a_user_mapping(tmp_path: Path) -> None:
    path = tmp_path / "费用.csv"
    path.write_bytes(CSV.encode("gbk"))
    fmt = load_format(MAPPING)
    assert fmt.id == "myerp.fees" and fmt.tables == ("fees",)
    facts, ctx = run_format(fmt, path)
    assert not ctx.problems, ctx.problems.lines()
    assert facts["fees"] == [
        {
            "store_id": 7,
            "fee_id": "F-1",
            "posted_ts": datetime(2024, 4, 1, 0, 30),
            "order_id": "A1",
            "fee_type": "commission",
            "amount": Decimal("1234.5000"),
            "currency": "CNY",
        },
        {
            "store_id": 7,
            "fee_id": "F-2",
            "posted_ts": datetime(2024, 4, 1, 15, 59),
            "order_id": None,
            "fee_type": "advertising",
            "amount": Decimal("-30.0000"),
            "currency": "CNY",
        },
    ]


def test_bad_cells_name_line_column_value_and_expectation(tmp_path: Path) -> None:
    path = tmp_path / "fees.csv"
    path.write_bytes(
        CSV.replace("2024/04/01 23:59", "昨天").replace("广告费", "运费").encode("gbk")
    )
    facts, ctx = run_format(load_format(MAPPING), path)
    assert facts == {}
    assert ctx.problems.lines() == [
        "fees.csv, line 3, column '记账时间', value '昨天': expected a date and time like "
        "%Y/%m/%d %H:%M / 日期时间",
        "fees.csv, line 3, column '费用类型', value '运费': expected one of '佣金', '广告费' "
        "(see erp_fees.yaml)",
    ]


def test_mapping_file_errors_are_listed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "format: x.orders\nname_zh: x\nname_en: x\ntables: [orders]\ntimezone: Mars/Base\n"
        "columns:\n  order_id: A\n  colour: B\n"
        "  status: {headers: [S], values: {Done: finished}}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as error:
        load_format(bad)
    lines = str(error.value).splitlines()
    assert f"{bad}: columns.colour: not a column of ['orders']" in lines[0]
    assert any("columns.purchase_ts: orders.purchase_ts must be filled" in line for line in lines)
    assert any("columns.status.values: ['finished'] not in" in line for line in lines)
    assert any("timezone: 'Mars/Base' is not an IANA time zone" in line for line in lines)
