"""Amazon Date Range report (Seller Central → Payments → Reports Repository, "Transaction").

Comma-separated, with quoted note lines above the header ("Includes Amazon Marketplace,
...", "All amounts in USD, unless specified", "Definitions: ..."): the header is found by
its names, wherever it is. US and UK spellings are both accepted (``postage credits``,
``fulfilment``). ``date/time`` is local text with a zone abbreviation
(``Sep 4, 2026 1:05:07 AM PDT``), converted to UTC.

* ``refunds``: rows of type Refund; amount = −product sales (stored positive).
* ``fees``: selling fees, FBA fees and other transaction fees of every row, one fact per
  non-zero fee column, stored as the positive amount charged. The report is re-downloaded
  for overlapping ranges, so keys come from the row's content (settlement, time, type,
  order, SKU, description), never its line number.
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
    concat_ids,
    fact_table,
)

FEE_COLUMNS = (
    ("selling_fees", "selling fees"),
    ("fba_fees", "fba fees"),
    ("other_fees", "other transaction fees"),
)


class DateRangeReport(TabularFormat):
    id = "amazon.date_range"
    name_zh = "亚马逊日期范围报告"
    name_en = "Amazon Date Range transaction report"
    platform = "amazon"
    tables = ("refunds", "fees")
    containers = ("text", "xlsx")

    fields: ClassVar[tuple[Field, ...]] = (
        col("ts", "date/time", kind=Kind.TIMESTAMP, not_empty=True),
        col("settlement_id", "settlement id"),
        col("type", "type"),
        col("order_id", "order id"),
        col("sku", "sku"),
        col("description", "description", required=False),
        col("quantity", "quantity", kind=Kind.INT, required=False),
        col("fulfilment", "fulfillment", "fulfilment", required=False),
        col("product_sales", "product sales", kind=Kind.MONEY),
        col(
            "shipping_credits",
            "shipping credits",
            "postage credits",
            kind=Kind.MONEY,
            required=False,
        ),
        col("selling_fees", "selling fees", kind=Kind.MONEY),
        col("fba_fees", "fba fees", kind=Kind.MONEY),
        col("other_fees", "other transaction fees", kind=Kind.MONEY, required=False),
        col("other", "other", kind=Kind.MONEY, required=False),
        col("total", "total", kind=Kind.MONEY),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        row_key = concat_ids(
            rows["settlement_id"],
            pc.strftime(rows["ts"], format="%Y-%m-%dT%H:%M:%S"),
            rows["type"],
            rows["order_id"],
            rows["sku"],
            rows["description"],
        )
        kind = pc.utf8_lower(rows["type"])
        is_refund = pc.fill_null(pc.equal(kind, "refund"), False)
        refunds = pc.and_(is_refund, pc.is_valid(rows["product_sales"]))
        if pc.any(refunds).as_py():
            yield (
                "refunds",
                fact_table(
                    "refunds",
                    ctx,
                    pc.sum(refunds).as_py(),
                    refund_id=pc.binary_join_element_wise("dr", pc.filter(row_key, refunds), ":"),
                    order_id=pc.filter(rows["order_id"], refunds),
                    sku=pc.filter(rows["sku"], refunds),
                    refund_ts=pc.filter(rows["ts"], refunds),
                    amount=pc.abs(pc.filter(rows["product_sales"], refunds)),
                    currency=ctx.currency,
                    reason=pc.filter(rows["description"], refunds),
                ),
            )
        for key, name in FEE_COLUMNS:
            amount = rows[key]
            charged = pc.fill_null(pc.not_equal(amount, pa.scalar(0, amount.type)), False)
            if not pc.any(charged).as_py():
                continue
            yield (
                "fees",
                fact_table(
                    "fees",
                    ctx,
                    pc.sum(charged).as_py(),
                    fee_id=pc.binary_join_element_wise(
                        "dr", pc.filter(row_key, charged), name.replace(" ", "_"), ":"
                    ),
                    posted_ts=pc.filter(rows["ts"], charged),
                    order_id=pc.filter(rows["order_id"], charged),
                    sku=pc.filter(rows["sku"], charged),
                    fee_type=name,
                    amount=pc.negate(pc.filter(amount, charged)),
                    currency=ctx.currency,
                ),
            )


FORMATS = (DateRangeReport(),)
