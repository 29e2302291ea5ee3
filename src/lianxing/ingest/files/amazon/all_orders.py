"""Amazon All Orders report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``).

Tab-separated, one row per order line, header names as in platform-formats.md §2.1 (also
the ``…_BY_LAST_UPDATE`` and archived variants). This is the model format: declare the
columns, then map them to facts with Arrow compute, so that millions of lines import at
close to CSV-reading speed.

* ``orders``: one row per order (every line repeats the order's fields; the writer keeps
  the last). Status is mapped to the canonical five; an unknown status rejects the file.
* ``order_lines``: ``line_id`` is ``order-item-id`` where the layout has it, else the SKU.
  Prices are line totals; pending orders have empty prices and stay NULL. Promotion
  discounts are stored as a positive amount (item + shipping promotion).
* Buyer e-mail (older layouts) is never stored: it is hashed into ``buyer_ref``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from lianxing.ingest.files import values
from lianxing.ingest.files.amazon.common import FULFILLMENT_CHANNEL, ORDER_STATUS, expected_codes
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


class AllOrders(TabularFormat):
    id = "amazon.all_orders"
    name_zh = "亚马逊所有订单报告"
    name_en = "Amazon All Orders report"
    platform = "amazon"
    tables = ("orders", "order_lines")

    fields: ClassVar[tuple[Field, ...]] = (
        col("order_id", "amazon-order-id", not_empty=True),
        col("purchase_ts", "purchase-date", kind=Kind.TIMESTAMP, not_empty=True),
        col("status", "order-status", not_empty=True),
        col("channel", "fulfillment-channel", required=False),
        col("sku", "sku", not_empty=True),
        col("order_item_id", "order-item-id", required=False),
        col("asin", "asin", required=False),
        col("quantity", "quantity", kind=Kind.INT, not_empty=True),
        col("currency", "currency", required=False),
        col("item_price", "item-price", kind=Kind.MONEY),
        col("item_tax", "item-tax", kind=Kind.MONEY, required=False),
        col("shipping_price", "shipping-price", kind=Kind.MONEY, required=False),
        col("shipping_tax", "shipping-tax", kind=Kind.MONEY, required=False),
        col("item_promotion", "item-promotion-discount", kind=Kind.MONEY, required=False),
        col("ship_promotion", "ship-promotion-discount", kind=Kind.MONEY, required=False),
        col("ship_country", "ship-country", required=False),
        col("ship_postal_code", "ship-postal-code", required=False),
        col("is_business", "is-business-order", kind=Kind.BOOL, required=False),
        col("buyer_email", "buyer-email", required=False),
    )

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        status = values.code(rows["status"], ORDER_STATUS)
        if status.bad is not None:
            rows.reject(status.bad, "status", expected_codes(ORDER_STATUS))
        channel = values.code(rows["channel"], FULFILLMENT_CHANNEL)
        if channel.bad is not None:
            rows.reject(channel.bad, "channel", expected_codes(FULFILLMENT_CHANNEL))
        negative_quantity = pc.less(rows["quantity"], 0)
        rows.reject(negative_quantity, "quantity", "a quantity of 0 or more")
        if ctx.problems:
            return  # the file will be rejected; skip building facts
        n = len(rows)
        currency = pc.fill_null(pc.utf8_upper(rows["currency"]), ctx.currency)
        buyer_ref = ctx.hash_buyer(rows["buyer_email"]) if rows.has("buyer_email") else None
        orders = fact_table(
            "orders",
            ctx,
            n,
            order_id=rows["order_id"],
            purchase_ts=rows["purchase_ts"],
            status=status.values,
            fulfillment_channel=channel.values,
            currency=currency,
            is_business=rows["is_business"],
            buyer_ref=buyer_ref,
            ship_country=pc.utf8_upper(rows["ship_country"]),
            ship_postal_code=rows["ship_postal_code"],
        )
        # An order's lines are adjacent: stage one row per run (the last, as the writer would).
        yield "orders", _carry_last_order(orders.filter(last_of_runs(rows["order_id"])), ctx)
        line_id = rows["sku"]
        if rows.has("order_item_id"):
            line_id = pc.coalesce(rows["order_item_id"], line_id)
        promotion = _sum_abs(rows["item_promotion"], rows["ship_promotion"])
        yield (
            "order_lines",
            fact_table(
                "order_lines",
                ctx,
                n,
                order_id=rows["order_id"],
                line_id=line_id,
                sku=rows["sku"],
                platform_item_id=rows["asin"],
                quantity=rows["quantity"],
                item_price=rows["item_price"],
                item_tax=rows["item_tax"],
                shipping_price=rows["shipping_price"],
                shipping_tax=rows["shipping_tax"],
                promotion_discount=promotion,
                currency=currency,
            ),
        )

    def finish(self, ctx: ImportContext) -> Iterator[FactChunk]:
        held: pa.Table | None = ctx.state.pop(_HELD_ORDER, None)
        if held is not None:
            yield "orders", held


_HELD_ORDER = "all_orders.last_order"


def _carry_last_order(orders: pa.Table, ctx: ImportContext) -> pa.Table:
    """Hold each chunk's last order back until the next chunk shows whether it goes on.

    An order whose lines straddle two chunks is then staged once, not twice, so the
    staged keys stay unique and the writer can skip its deduplication pass.
    """
    held: pa.Table | None = ctx.state.pop(_HELD_ORDER, None)
    if held is not None and orders.num_rows:
        continued = held.column("order_id")[0].as_py() == orders.column("order_id")[0].as_py()
        if not continued:  # the next chunk's row is the order's later line: it wins
            orders = pa.concat_tables([held, orders])
    elif held is not None:
        orders = held
    if orders.num_rows:
        ctx.state[_HELD_ORDER] = orders.slice(orders.num_rows - 1)
        orders = orders.slice(0, orders.num_rows - 1)
    return orders


def last_of_runs(keys: pa.Array) -> pa.Array:
    """True at the last row of each run of equal adjacent ``keys``."""
    if len(keys) < 2:
        return pa.array([True] * len(keys))
    differs = pc.fill_null(pc.not_equal(keys.slice(0, len(keys) - 1), keys.slice(1)), True)
    return pa.concat_arrays([differs, pa.array([True])])


def _sum_abs(first: pa.Array, second: pa.Array) -> pa.Array:
    """|a| + |b| where either may be NULL; NULL only when both are."""
    a, b = pc.abs(first), pc.abs(second)
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    zero = pa.scalar(0, values.MONEY)
    total = pc.add(pc.coalesce(a, zero), pc.coalesce(b, zero))
    return pc.cast(pc.if_else(both_null, pa.scalar(None, total.type), total), values.MONEY)


FORMATS = (AllOrders(),)
