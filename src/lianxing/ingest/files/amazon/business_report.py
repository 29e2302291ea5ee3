"""Amazon Business Report, "Detail Page Sales and Traffic by Child Item" (Seller Central CSV).

The file has no date column: it covers whatever range the user picked when downloading,
so the importer needs ``--from``/``--to``. Sessions and page views are stored in
``traffic_daily`` as one row per SKU dated ``--from`` (the period's total, not a per-day
split we would have to invent); a KPI over any period containing that day sees them.
Re-importing a different range stores another row under its own ``--from``.

Current and older header names are both accepted (``Sessions - Total`` / ``Sessions``);
numbers carry thousands separators ("1,200"); the "Total" row is dropped. Without a SKU
column the child ASIN stands in for the SKU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from lianxing.ingest.files.base import (
    FactChunk,
    Field,
    ImportContext,
    Kind,
    Rows,
    TabularFormat,
    col,
    fact_table,
)

TOTAL_LABELS = ("total", "totals", "合计", "总计")


class BusinessReportByChild(TabularFormat):
    id = "amazon.business_report"
    name_zh = "亚马逊业务报告（子商品详情页）"
    name_en = "Amazon Business Report by child item"
    platform = "amazon"
    tables = ("traffic_daily",)
    needs_period = True

    fields: ClassVar[tuple[Field, ...]] = (
        col("parent_asin", "(Parent) ASIN", required=False),
        col("child_asin", "(Child) ASIN"),
        col("title", "Title", required=False),
        col("sku", "SKU", required=False),
        col("sessions", "Sessions - Total", "Sessions", kind=Kind.INT),
        col("page_views", "Page Views - Total", "Page Views", kind=Kind.INT),
        col("units", "Units Ordered", kind=Kind.INT, required=False),
        col("sales", "Ordered Product Sales", kind=Kind.MONEY, required=False),
        col("unit_session", "Unit Session Percentage", kind=Kind.PERCENT, required=False),
    )

    def keep(self, rows: Rows, ctx: ImportContext) -> Rows:
        first = pc.utf8_lower(pc.coalesce(rows.raw("parent_asin"), rows.raw("child_asin")))
        is_total = pc.fill_null(pc.is_in(first, value_set=pa.array(TOTAL_LABELS)), False)
        return rows.filter(pc.invert(is_total))

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        sku = pc.coalesce(rows["sku"], rows["child_asin"])
        rows.reject(pc.is_null(sku), "child_asin", "a child ASIN or SKU on every row")
        if ctx.problems:
            return
        assert ctx.period_from is not None  # needs_period: the service checked
        yield (
            "traffic_daily",
            fact_table(
                "traffic_daily",
                ctx,
                len(rows),
                date=ctx.period_from,
                sku=sku,
                sessions=rows["sessions"],
                page_views=rows["page_views"],
            ),
        )


FORMATS = (BusinessReportByChild(),)
