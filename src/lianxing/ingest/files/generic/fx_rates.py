"""Exchange rates: the ECB's CSV (wide) and a plain ``date,currency,rate_to_usd`` CSV.

ECB layout (``eurofxref-hist.csv``): ``Date,USD,JPY,GBP,...`` with each rate in units of
the currency per 1 EUR, ``N/A`` where there was no fixing. The warehouse stores USD per
1 unit of a currency, so ``rate_to_usd(C) = USD per EUR / C per EUR``, EUR itself is the
USD column, and USD is 1. Rates are shared by all stores: no ``--store`` needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from lianxing.ingest.files.base import (
    FactChunk,
    Field,
    ImportContext,
    Kind,
    ReportFormat,
    Rows,
    TabularFormat,
    col,
    convert,
    fact_table,
)
from lianxing.ingest.files.reading import FileHead, Source

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class EcbRates(ReportFormat):
    id = "generic.fx_ecb"
    name_zh = "欧洲央行汇率（CSV）"
    name_en = "ECB reference rates (CSV)"
    tables = ("fx_rates",)

    def sniff(self, head: FileHead) -> float:
        if head.container != "text" or not head.rows:
            return 0.0
        header = [c.strip() for c in head.rows[0]]
        currencies = [c for c in header[1:] if _CURRENCY.match(c)]
        if header[0].lower() == "date" and "USD" in currencies and len(currencies) >= 2:
            return 0.9
        return 0.0

    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        header = source.head.rows[0]
        names = [c for c in header if c.strip()]
        currencies = [c for c in names[1:] if _CURRENCY.match(c.strip())]
        if "USD" not in [c.strip() for c in currencies]:
            ctx.problem(1, "USD", None, "a USD column (rates per 1 EUR)")
            return
        fields = {"date": Field("date", (names[0],), Kind.DATE, True, True)}
        fields.update({c.strip(): Field(c.strip(), (c,), Kind.NUMBER) for c in currencies})
        bindings = {"date": names[0], **{c.strip(): c for c in currencies}}
        for chunk in source.read_chunks(0, [names[0], *currencies]):
            table = chunk.table
            # "N/A" means no fixing that day: treat as empty, not as a bad number.
            table = pa.table(
                {
                    name: pc.if_else(
                        pc.equal(pc.utf8_trim_whitespace(table.column(name)), "N/A"),
                        pa.scalar(None, pa.string()),
                        table.column(name),
                    )
                    for name in table.column_names
                }
            )
            lines = pa.array(range(chunk.first_line, chunk.first_line + table.num_rows), pa.int64())
            rows = convert(table, lines, bindings, fields, ctx)
            if ctx.problems or not len(rows):
                continue
            usd_per_eur = rows["USD"]
            for code in [c.strip() for c in currencies] + ["EUR"]:
                if code == "USD":
                    continue
                rate = usd_per_eur if code == "EUR" else pc.divide(usd_per_eur, rows[code])
                present = pc.is_valid(rate)
                yield (
                    "fx_rates",
                    fact_table(
                        "fx_rates",
                        ctx,
                        pc.sum(present).as_py() or 0,
                        date=pc.filter(rows["date"], present),
                        currency=code,
                        rate_to_usd=pc.filter(rate, present),
                    ),
                )
            yield (
                "fx_rates",
                fact_table(
                    "fx_rates", ctx, len(rows), date=rows["date"], currency="USD", rate_to_usd=1.0
                ),
            )


class PlainRates(TabularFormat):
    id = "generic.fx_rates"
    name_zh = "汇率（CSV：日期, 币种, 兑美元汇率）"
    name_en = "FX rates (CSV: date, currency, rate_to_usd)"
    tables = ("fx_rates",)

    fields: ClassVar[tuple[Field, ...]] = (
        col("date", "date", "日期", kind=Kind.DATE, not_empty=True),
        col("currency", "currency", "币种", not_empty=True),
        col("rate", "rate_to_usd", "rate to usd", "兑美元汇率", kind=Kind.NUMBER, not_empty=True),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        code = pc.utf8_upper(rows["currency"])
        rows.reject(
            pc.invert(pc.match_substring_regex(code, r"^[A-Z]{3}$")),
            "currency",
            "a 3-letter ISO 4217 currency code such as EUR",
        )
        rows.reject(pc.less_equal(rows["rate"], 0.0), "rate", "a rate above 0")
        if ctx.problems:
            return
        yield (
            "fx_rates",
            fact_table(
                "fx_rates",
                ctx,
                len(rows),
                date=rows["date"],
                currency=code,
                rate_to_usd=rows["rate"],
            ),
        )


FORMATS = (EcbRates(), PlainRates())
