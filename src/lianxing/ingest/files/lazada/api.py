"""Lazada Open Platform order responses saved as JSON (platform-formats.md §6.2, good).

A file holds one response envelope (``code``, ``request_id``, ``data``) or a JSON array of
them, from:

* ``GetOrders`` (``/orders/get``: ``data.orders[]``) or ``GetOrder`` (``data`` is one
  order) → ``orders``. The order's status is its ``statuses[]`` combined (cancelled only
  when every item is; otherwise the least advanced). Datetimes carry their offset
  (``2024-03-01 10:15:22 +0800``) and are converted to UTC.
* ``GetMultipleOrderItems`` (``/orders/items/get``: ``data[]`` of ``{order_id,
  order_items[]}``) or ``GetOrderItems`` (``data[]`` of items) → ``order_lines``. Lazada
  has one item row per unit, so ``quantity`` is 1 and ``item_price`` the unit price;
  ``promotion_discount`` is the seller-funded voucher (``voucher_seller``); platform
  vouchers are paid back to the seller and do not reduce the sale.

Detected by the envelope plus keys inside it that only these calls have (``statuses``,
``order_items``, ``address_shipping`` ...), since TikTok Shop's envelope looks the same.

Orders carry no currency: it comes from their items in the same file, else the store's.
``fulfillment_channel`` is ``FBL`` when an item ``is_fbl``, else ``seller``.
"""

from __future__ import annotations

from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.marketplace import (
    LAZADA_STATUS,
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    envelope_error,
    overall_status,
)

# address_shipping.country holds the venture's English name.
COUNTRIES: dict[str, str] = {
    "singapore": "SG", "malaysia": "MY", "thailand": "TH", "vietnam": "VN", "viet nam": "VN",
    "philippines": "PH", "indonesia": "ID",
}  # fmt: skip


class LazadaApi(ApiPayloadFormat):
    id = "lazada.api"
    name_zh = "Lazada 开放平台 API 数据 (订单/订单商品)"
    name_en = "Lazada Open Platform API responses (orders, order items)"
    platform = "lazada"
    tables = ("orders", "order_lines")
    envelope_keys = frozenset({"code", "data", "request_id"})
    # TikTok Shop's envelope has the same keys: tell them apart by what is inside.
    markers = frozenset(
        {
            "data.orders.statuses",  # GetOrders
            "data.orders.order_number",
            "data.orders.address_shipping",
            "data.statuses",  # GetOrder
            "data.address_shipping",
            "data.order_items",  # GetMultipleOrderItems
            "data.order_items.order_item_id",
            "data.order_item_id",  # GetOrderItems
            "data.shop_sku",
        }
    )

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if envelope_error(node, error_keys=("code",), ok=("0", 0)):
            return
        data = node.raw("data")
        if isinstance(data, list):
            holder = Node({"data": data}, node.path, node.ctx, None)
            for entry in holder.children("data"):
                if entry.has("order_items"):
                    for item in entry.children("order_items"):
                        self._read_item(item.at(counter.next()), facts)
                else:
                    self._read_item(entry.at(counter.next()), facts)
            return
        body = node.child("data")
        if body is None:
            node.problem("data", None, "a 'data' object or array (Lazada envelope)")
        elif body.has("orders"):
            for order in body.children("orders"):
                self._read_order(order.at(counter.next()), facts)
        elif body.has("order_id"):
            self._read_order(body.at(counter.next()), facts)
        else:
            keys = ", ".join(sorted(body.data)) or "nothing"
            node.problem(
                "data",
                keys,
                "the data of GetOrders, GetOrder, GetOrderItems or GetMultipleOrderItems",
            )

    def _read_order(self, order: Node, facts: FactRows) -> None:
        order_id = order.text("order_id", required=True)
        created = order.instant("created_at", required=True)
        status = overall_status(order.statuses(LAZADA_STATUS, "statuses"))
        if order_id is None or created is None or status is None or order.ctx.problems.full:
            return
        address = order.child("address_shipping")
        country = address.text("country") if address else None
        facts.add(
            "orders",
            order_id=order_id,
            purchase_ts=created,
            status=status,
            ship_country=COUNTRIES.get(country.lower(), country if len(country) == 2 else None)
            if country
            else None,
            ship_postal_code=address.text("post_code", "postcode") if address else None,
            promised_ship_by_ts=order.instant("promised_shipping_times"),
        )

    def _read_item(self, item: Node, facts: FactRows) -> None:
        order_id = item.text("order_id", required=True)
        line_id = item.text("order_item_id", required=True)
        currency = item.text("currency") or item.ctx.currency
        if order_id is None or line_id is None:
            return
        facts.add(
            "order_lines",
            order_id=order_id,
            line_id=line_id,
            sku=item.text("sku"),
            platform_item_id=item.text("shop_sku"),
            quantity=1,
            item_price=item.money("item_price", required=True),
            item_tax=item.money("tax_amount"),
            shipping_price=item.money("shipping_amount"),
            promotion_discount=abs(item.money("voucher_seller") or 0) or None,
            currency=currency,
        )
        self._item_facts.setdefault(order_id, []).append(
            (
                currency,
                item.raw("is_fbl") in (1, "1", True),
                item.text("buyer_id"),
                item.instant("promised_shipping_time"),
            )
        )

    def begin(self, facts: FactRows) -> None:
        self._item_facts: dict[str, list[tuple[str, bool, str | None, object]]] = {}

    def finish(self, facts: FactRows, ctx: ImportContext) -> None:
        for order in facts.rows("orders"):
            items = self._item_facts.get(order["order_id"], [])
            currencies = {c for c, _, _, _ in items}
            update: dict[str, object] = {
                "currency": currencies.pop() if len(currencies) == 1 else ctx.currency,
                "fulfillment_channel": ("FBL" if any(f for _, f, _, _ in items) else "seller")
                if items
                else None,
                "buyer_ref": next((b for _, _, b, _ in items if b), None),
            }
            if order.get("promised_ship_by_ts") is None:
                update["promised_ship_by_ts"] = min(
                    (p for _, _, _, p in items if p is not None),
                    default=None,  # type: ignore[type-var]
                )
            facts.add("orders", order_id=order["order_id"], **update)


FORMATS = (LazadaApi(),)
