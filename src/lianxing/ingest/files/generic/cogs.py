"""Cost of goods per SKU, valid from a date on (a simple CSV/XLSX the seller keeps).

Columns: ``sku``, ``valid_from``, ``unit_cost`` and optionally ``currency`` (default: the
store's). Chinese headers are accepted (``SKU``, ``生效日期``, ``单位成本``, ``币种``).
A later row for the same SKU and date replaces an earlier one.
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
    fact_table,
)


class CostOfGoods(TabularFormat):
    id = "generic.cogs"
    name_zh = "商品成本（按SKU，含生效日期）"
    name_en = "Cost of goods per SKU (with valid-from dates)"
    tables = ("cogs",)

    fields: ClassVar[tuple[Field, ...]] = (
        col("sku", "sku", "seller-sku", not_empty=True),
        col("valid_from", "valid_from", "valid from", "生效日期", kind=Kind.DATE, not_empty=True),
        col("unit_cost", "unit_cost", "unit cost", "单位成本", kind=Kind.MONEY, not_empty=True),
        col("currency", "currency", "币种", required=False),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        currency = pc.fill_null(pc.utf8_upper(rows["currency"]), ctx.currency)
        rows.reject(
            pc.invert(pc.match_substring_regex(currency, r"^[A-Z]{3}$")),
            "currency",
            "a 3-letter ISO 4217 currency code such as USD",
        )
        rows.reject(pc.less(rows["unit_cost"], 0), "unit_cost", "a cost of 0 or more")
        if ctx.problems:
            return
        yield (
            "cogs",
            fact_table(
                "cogs",
                ctx,
                len(rows),
                sku=rows["sku"],
                valid_from=rows["valid_from"],
                unit_cost=rows["unit_cost"],
                currency=currency,
            ),
        )


FORMATS = (CostOfGoods(),)
