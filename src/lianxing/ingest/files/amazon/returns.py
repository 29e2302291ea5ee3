"""Amazon returns: FBA customer returns and merchant-fulfilled (MFN) returns.

Two layouts, one fact table (``returns``):

* FBA (``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA``, tab-separated, kebab-case headers):
  one row per returned unit batch; its key is order + SKU + licence plate number (LPN,
  the unit's barcode) + return time, since one order can return the same SKU twice.
* MFN (``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE``, Title Case headers): keyed by
  Amazon RMA id + SKU; the resolution (refund, replacement, ...) is the disposition.

Refunded amounts are *not* taken from these files: the settlement / Date Range reports
are the money record, and taking both would count a refund twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

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


class FbaCustomerReturns(TabularFormat):
    id = "amazon.fba_returns"
    name_zh = "亚马逊FBA买家退货报告"
    name_en = "Amazon FBA customer returns"
    platform = "amazon"
    tables = ("returns",)

    fields: ClassVar[tuple[Field, ...]] = (
        col("return_ts", "return-date", kind=Kind.TIMESTAMP, not_empty=True),
        col("order_id", "order-id", not_empty=True),
        col("sku", "sku", not_empty=True),
        col("asin", "asin", required=False),
        col("fnsku", "fnsku", required=False),
        col("quantity", "quantity", kind=Kind.INT, not_empty=True),
        col("disposition", "detailed-disposition"),
        col("reason", "reason"),
        col("status", "status", required=False),
        col("lpn", "license-plate-number", required=False),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        rows.reject(pc.less_equal(rows["quantity"], 0), "quantity", "a quantity of 1 or more")
        if ctx.problems:
            return
        return_id = concat_ids(
            rows["order_id"],
            rows["sku"],
            rows["lpn"],
            pc.strftime(rows["return_ts"], format="%Y-%m-%dT%H:%M:%S"),
        )
        yield (
            "returns",
            fact_table(
                "returns",
                ctx,
                len(rows),
                return_id=pc.binary_join_element_wise("fba", return_id, ":"),
                order_id=rows["order_id"],
                sku=rows["sku"],
                return_ts=rows["return_ts"],
                quantity=rows["quantity"],
                reason=rows["reason"],
                disposition=rows["disposition"],
            ),
        )


class MerchantReturns(TabularFormat):
    id = "amazon.mfn_returns"
    name_zh = "亚马逊自发货退货报告"
    name_en = "Amazon merchant-fulfilled returns"
    platform = "amazon"
    tables = ("returns",)

    fields: ClassVar[tuple[Field, ...]] = (
        col("order_id", "Order ID", not_empty=True),
        col("order_date", "Order date", kind=Kind.TIMESTAMP, required=False),
        col("return_ts", "Return request date", kind=Kind.TIMESTAMP, not_empty=True),
        col("request_status", "Return request status", required=False),
        col("rma", "Amazon RMA ID", not_empty=True),
        col("sku", "Merchant SKU", not_empty=True),
        col("asin", "ASIN", required=False),
        col("quantity", "Return quantity", kind=Kind.INT, not_empty=True),
        col("reason", "Return Reason", required=False),
        col("resolution", "Resolution", required=False),
        col("return_type", "Return type", required=False),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        rows.reject(pc.less_equal(rows["quantity"], 0), "quantity", "a quantity of 1 or more")
        if ctx.problems:
            return
        yield (
            "returns",
            fact_table(
                "returns",
                ctx,
                len(rows),
                return_id=pc.binary_join_element_wise(
                    "mfn", concat_ids(rows["rma"], rows["sku"]), ":"
                ),
                order_id=rows["order_id"],
                sku=rows["sku"],
                return_ts=rows["return_ts"],
                quantity=rows["quantity"],
                reason=rows["reason"],
                disposition=pc.coalesce(rows["resolution"], rows["request_status"]),
            ),
        )


FORMATS = (FbaCustomerReturns(), MerchantReturns())
