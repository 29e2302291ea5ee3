"""TikTok Shop Partner API 202309 order responses saved as JSON (platform-formats.md §7.2).

Field names follow the 202309 Get Order Detail / Search Orders responses as summarised by
third parties (the reference marks them PARTIAL): envelope ``code`` (0 = ok), ``message``,
``request_id``, ``data.orders[]``. SDK-style camelCase keys (``createTime``,
``lineItems``) are read too. A file holds one envelope or a JSON array of them (pages).

* ``orders``: ``status`` mapped from the order status enum; ``promised_ship_by_ts`` is
  ``rts_sla_time`` (else ``shipping_due_time``) and ``shipped_ts`` is ``rts_time``, the
  pair TikTok's own late-dispatch rate compares; ``delivered_ts`` is ``delivery_time``.
  ``fulfillment_channel`` is ``FBT`` for FULFILLMENT_BY_TIKTOK, else ``seller``.
* ``order_lines``: one per line item. 202309 line items are single units (no quantity
  field; ``quantity`` is read when present). ``item_price`` is ``original_price`` x
  quantity and ``promotion_discount`` the seller-funded ``seller_discount`` x quantity;
  the platform discount is paid by TikTok and does not reduce the sale. ``item_tax`` is
  the sum of ``item_tax[].tax_amount``. The order's ``payment.shipping_fee`` is put on its
  first line (TikTok does not split shipping by item).

Money values are strings, times Unix seconds.
"""

from __future__ import annotations

from decimal import Decimal

from lianxing.ingest.files.marketplace import (
    TIKTOK_ORDER_STATUS,
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    envelope_error,
    line_total,
    positive,
)


class TikTokApi(ApiPayloadFormat):
    id = "tiktok.api"
    name_zh = "TikTok Shop 开放平台 API 数据 (订单 202309)"
    name_en = "TikTok Shop Partner API responses (orders, 202309)"
    platform = "tiktok"
    tables = ("orders", "order_lines")
    envelope_keys = frozenset({"code", "message", "data"})
    # Lazada's envelope has code/data/request_id too: tell them apart by what is inside.
    markers = frozenset(
        {
            "data.orders.line_items",
            "data.orders.line_items.sku_id",
            "data.orders.rts_sla_time",
            "data.orders.recipient_address.region_code",
            "data.orders.payment.sub_total",
            "data.next_page_token",
        }
    )

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if envelope_error(node, error_keys=("code",), ok=(0, "0")):
            return
        data = node.child("data")
        if data is None or not data.has("orders"):
            node.problem(
                "data", None, "a 'data' object with 'orders' (Get Order Detail / Search Orders)"
            )
            return
        for order in data.children("orders"):
            self._read_order(order.at(counter.next()), facts)

    def _read_order(self, order: Node, facts: FactRows) -> None:
        order_id = order.text("id", "order_id", required=True)
        created = order.instant("create_time", required=True)
        status = order.status(TIKTOK_ORDER_STATUS, "status", "order_status")
        payment = order.child("payment")
        currency = (payment.text("currency") if payment else None) or order.ctx.currency
        if order_id is None or created is None or status is None:
            return
        address = order.child("recipient_address")
        fulfilment = order.text("fulfillment_type")
        facts.add(
            "orders",
            order_id=order_id,
            purchase_ts=created,
            status=status,
            fulfillment_channel=None
            if fulfilment is None
            else "FBT"
            if fulfilment == "FULFILLMENT_BY_TIKTOK"
            else "seller",
            currency=currency,
            buyer_ref=order.text("user_id", "buyer_email"),
            ship_country=address.text("region_code", "country") if address else None,
            ship_postal_code=address.text("postal_code", "zip_code") if address else None,
            promised_ship_by_ts=order.instant("rts_sla_time", "shipping_due_time"),
            shipped_ts=order.instant("rts_time"),
            delivered_ts=order.instant("delivery_time"),
        )
        shipping = payment.money("shipping_fee") if payment else None
        for index, line in enumerate(order.children("line_items")):
            line_id = line.text("id", required=True)
            quantity = line.integer("quantity") or 1
            if line_id is None:
                continue
            taxes = [t.money("tax_amount") for t in line.children("item_tax")]
            discount = line_total(line.money("seller_discount"), quantity)
            facts.add(
                "order_lines",
                order_id=order_id,
                line_id=line_id,
                sku=line.text("seller_sku"),
                platform_item_id=line.text("sku_id"),
                quantity=quantity,
                item_price=line_total(line.money("original_price", required=True), quantity),
                item_tax=sum((t for t in taxes if t is not None), Decimal(0)) if taxes else None,
                shipping_price=shipping if index == 0 else None,
                promotion_discount=positive(discount) or None,
                currency=line.text("currency") or currency,
            )


FORMATS = (TikTokApi(),)
