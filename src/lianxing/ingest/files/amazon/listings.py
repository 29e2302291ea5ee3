"""Amazon listings report (``GET_MERCHANT_LISTINGS_ALL_DATA``), tab-separated.

A snapshot of every listing's state; ``snapshot_date`` is ``--to`` when given, else the
day of the import (UTC). Status: Active → active, Inactive → inactive, Incomplete or
suppressed → suppressed (the listing exists but cannot sell).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import ClassVar

from lianxing.domain.facts import ListingStatus
from lianxing.ingest.files import values
from lianxing.ingest.files.amazon.common import expected_codes
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

LISTING_STATUS: dict[str, str] = {
    "active": ListingStatus.ACTIVE,
    "inactive": ListingStatus.INACTIVE,
    "incomplete": ListingStatus.SUPPRESSED,
    "suppressed": ListingStatus.SUPPRESSED,
    "search suppressed": ListingStatus.SUPPRESSED,
}


class ListingsReport(TabularFormat):
    id = "amazon.listings"
    name_zh = "亚马逊全部商品报告"
    name_en = "Amazon All Listings report"
    platform = "amazon"
    tables = ("listings",)

    fields: ClassVar[tuple[Field, ...]] = (
        col("sku", "seller-sku", not_empty=True),
        col("title", "item-name"),
        col("listing_id", "listing-id", required=False),
        col("price", "price", kind=Kind.MONEY),
        col("quantity", "quantity", kind=Kind.INT, required=False),
        col("open_ts", "open-date", kind=Kind.TIMESTAMP, required=False),
        col("asin", "asin1", "asin", required=False),
        col("channel", "fulfillment-channel", required=False),
        col("status", "status", not_empty=True),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        status = values.code(rows["status"], LISTING_STATUS)
        if status.bad is not None:
            rows.reject(status.bad, "status", expected_codes(LISTING_STATUS))
        if ctx.problems:
            return
        snapshot = ctx.period_to or dt.datetime.now(dt.UTC).date()
        yield (
            "listings",
            fact_table(
                "listings",
                ctx,
                len(rows),
                sku=rows["sku"],
                snapshot_date=snapshot,
                platform_item_id=rows["asin"],
                title=rows["title"],
                status=status.values,
                created_ts=rows["open_ts"],
                price=rows["price"],
                currency=ctx.currency,
            ),
        )


FORMATS = (ListingsReport(),)
