"""Amazon settlement reports: flat file V2 (long) and the older flat file (wide).

Both become the same long form — one money movement per row: ``(transaction type,
amount type, description, amount)`` — and from there:

* ``refunds``: ``Refund`` transactions' ``ItemPrice``/``Principal`` amounts, summed per
  order, adjustment and SKU, stored positive; keyed by settlement + order + adjustment + SKU.
* ``fees``: ``ItemFees`` (commission, FBA fulfilment fee, refund commission ...) and
  account-level service/inventory fees, stored as the positive amount charged (a fee
  given back is negative). "Cost of Advertising" is left out: ad spend comes from the Ads
  reports, and counting it here too would subtract it twice from profit. From
  ``other-transaction`` only lines described as a fee count (subscription fee, yes;
  reserve balances and transfers, no). A settlement is
  immutable once issued, so ``fee_id`` is settlement id + line number.

The first data row is the settlement summary (dates, ``total-amount``, ``currency``) with
no transaction type; it is not a fact, but its currency applies to every row below it.
"""

from __future__ import annotations

from abc import abstractmethod
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

FEE_AMOUNT_TYPES = ("itemfees", "servicefee", "fba inventory fee", "fbainventoryfee")
NOT_FEES = ("cost of advertising", "costofadvertising")

_COMMON: tuple[Field, ...] = (
    col("settlement_id", "settlement-id", not_empty=True),
    col("total_amount", "total-amount", kind=Kind.MONEY, required=False),
    col("currency", "currency", required=False),
    col("transaction_type", "transaction-type"),
    col("order_id", "order-id", required=False),
    col("adjustment_id", "adjustment-id", required=False),
    col("posted_date", "posted-date", kind=Kind.TIMESTAMP, required=False),
    col("posted_ts", "posted-date-time", kind=Kind.TIMESTAMP, required=False),
    col("sku", "sku", required=False),
)


class _Settlement(TabularFormat):
    platform = "amazon"
    tables = ("refunds", "fees")

    def keep(self, rows: Rows, ctx: ImportContext) -> Rows:
        summary = pc.is_null(rows["transaction_type"])
        if pc.any(summary).as_py():
            currencies = pc.drop_null(pc.filter(rows["currency"], summary))
            if len(currencies):
                ctx.state["currency"] = currencies[0].as_py().upper()
        return rows.filter(pc.invert(summary))

    @abstractmethod
    def long_form(self, rows: Rows) -> pa.Table:
        """Columns row (index into ``rows``), amount_type, description, amount."""

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        posted = pc.coalesce(rows["posted_ts"], rows["posted_date"])
        rows.reject(pc.is_null(posted), "posted_date", "a posting date in posted-date(-time)")
        if ctx.problems:
            return
        currency = ctx.state.get("currency", ctx.currency)
        base = pa.table(
            {
                "settlement_id": rows["settlement_id"],
                "transaction_type": pc.utf8_lower(rows["transaction_type"]),
                "order_id": rows["order_id"],
                "adjustment_id": rows["adjustment_id"],
                "sku": rows["sku"],
                "posted_ts": posted,
                "line": rows.lines,
            }
        )
        moves = self.long_form(rows)
        table = pa.Table.from_arrays(
            [
                *(base.column(c).take(moves.column("row")) for c in base.column_names),
                moves.column("amount_type"),
                moves.column("description"),
                moves.column("amount"),
            ],
            names=[*base.column_names, "amount_type", "description", "amount"],
        )
        table = table.filter(pc.is_valid(table.column("amount")))
        amount_type = pc.utf8_lower(table.column("amount_type"))
        description = pc.utf8_lower(table.column("description"))

        is_refund = pc.and_(
            pc.and_(
                pc.equal(table.column("transaction_type"), "refund"),
                pc.equal(amount_type, "itemprice"),
            ),
            pc.equal(description, "principal"),
        )
        refunds = table.filter(is_refund)
        if refunds.num_rows:
            refunds = refunds.append_column(
                "refund_id",
                concat_ids(
                    refunds.column("settlement_id"),
                    refunds.column("order_id"),
                    refunds.column("adjustment_id"),
                    refunds.column("sku"),
                ),
            )
            grouped = refunds.group_by("refund_id", use_threads=False).aggregate(
                [("amount", "sum"), ("posted_ts", "min"), ("order_id", "first"), ("sku", "first")]
            )
            yield (
                "refunds",
                fact_table(
                    "refunds",
                    ctx,
                    grouped.num_rows,
                    refund_id=pc.binary_join_element_wise("stl", grouped.column("refund_id"), ":"),
                    order_id=grouped.column("order_id_first"),
                    sku=grouped.column("sku_first"),
                    refund_ts=grouped.column("posted_ts_min"),
                    amount=pc.negate(grouped.column("amount_sum")),
                    currency=currency,
                ),
            )

        # other-transaction also carries reserves and transfers: only its "... Fee" lines count.
        other_fee = pc.and_(
            pc.equal(amount_type, "other-transaction"), pc.match_substring(description, "fee")
        )
        is_fee = pc.and_(
            pc.or_(pc.is_in(amount_type, pa.array(FEE_AMOUNT_TYPES)), other_fee),
            pc.invert(pc.is_in(description, pa.array(NOT_FEES))),
        )
        fees = table.filter(pc.fill_null(is_fee, False))
        if fees.num_rows:
            fee_id = concat_ids(
                fees.column("settlement_id"),
                fees.column("line"),
                fees.column("description"),
                sep=":",
            )
            yield (
                "fees",
                fact_table(
                    "fees",
                    ctx,
                    fees.num_rows,
                    fee_id=pc.binary_join_element_wise("stl", fee_id, ":"),
                    posted_ts=fees.column("posted_ts"),
                    order_id=fees.column("order_id"),
                    sku=fees.column("sku"),
                    fee_type=pc.coalesce(fees.column("description"), fees.column("amount_type")),
                    amount=pc.negate(fees.column("amount")),
                    currency=currency,
                ),
            )


class SettlementV2(_Settlement):
    id = "amazon.settlement_v2"
    name_zh = "亚马逊结算报告（V2 长表）"
    name_en = "Amazon settlement flat file V2"

    fields: ClassVar[tuple[Field, ...]] = (
        *_COMMON,
        col("amount_type", "amount-type"),
        col("amount_description", "amount-description"),
        col("amount", "amount", kind=Kind.MONEY),
    )

    def long_form(self, rows: Rows) -> pa.Table:
        return pa.table(
            {
                "row": pa.array(range(len(rows)), pa.int64()),
                "amount_type": rows["amount_type"],
                "description": rows["amount_description"],
                "amount": rows["amount"],
            }
        )


# Wide layout: (type column, amount column, amount type it stands for).
_WIDE_PAIRS = (
    ("price_type", "price_amount", "ItemPrice"),
    ("item_fee_type", "item_fee_amount", "ItemFees"),
    ("shipment_fee_type", "shipment_fee_amount", "ItemFees"),
    ("order_fee_type", "order_fee_amount", "ItemFees"),
    ("other_fee_reason", "other_fee_amount", "ServiceFee"),
    ("promotion_type", "promotion_amount", "Promotion"),
)


class SettlementFlat(_Settlement):
    id = "amazon.settlement_flat"
    name_zh = "亚马逊结算报告（宽表）"
    name_en = "Amazon settlement flat file (wide)"

    fields: ClassVar[tuple[Field, ...]] = (
        *_COMMON,
        col("price_type", "price-type"),
        col("price_amount", "price-amount", kind=Kind.MONEY),
        col("item_fee_type", "item-related-fee-type"),
        col("item_fee_amount", "item-related-fee-amount", kind=Kind.MONEY),
        col("shipment_fee_type", "shipment-fee-type", required=False),
        col("shipment_fee_amount", "shipment-fee-amount", kind=Kind.MONEY, required=False),
        col("order_fee_type", "order-fee-type", required=False),
        col("order_fee_amount", "order-fee-amount", kind=Kind.MONEY, required=False),
        col("other_fee_reason", "other-fee-reason-description", required=False),
        col("other_fee_amount", "other-fee-amount", kind=Kind.MONEY, required=False),
        col("promotion_type", "promotion-type", required=False),
        col("promotion_amount", "promotion-amount", kind=Kind.MONEY, required=False),
    )

    def long_form(self, rows: Rows) -> pa.Table:
        index = pa.array(range(len(rows)), pa.int64())
        parts = [
            pa.table(
                {
                    "row": index,
                    "amount_type": pa.repeat(pa.scalar(amount_type), len(rows)),
                    "description": rows[type_key],
                    "amount": rows[amount_key],
                }
            )
            for type_key, amount_key, amount_type in _WIDE_PAIRS
        ]
        return pa.concat_tables(parts)


FORMATS = (SettlementV2(), SettlementFlat())
