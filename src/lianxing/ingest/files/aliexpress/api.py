"""AliExpress order data as returned by its order APIs (UNVERIFIED, platform-formats.md §9).

No official sample was confirmed. Two shapes are read, key case-insensitively (camelCase
and snake_case spellings of one field are the same key here):

* the order-list record documented in the reference: a JSON array of orders with
  ``orderId``, ``gmtCreate``, ``orderStatus``, ``fundStatus``, ``payAmount {amount,
  currencyCode}``, ``productList[] {productId, childId, productCount, productUnitPrice,
  totalProductAmount, skuCode, logisticsAmount}``;
* a ``aliexpress_trade_new_redefining_findorderbyid_response`` envelope (one public
  capture): ``target {id, gmt_create, order_status, order_amount, receipt_address,
  child_order_list.aeop_tp_child_order_dto[] {child_order_id, product_id, product_count,
  product_price, sku_code, logistics_amount}}``.

``gmt*`` times are China time (Asia/Shanghai, presumed: the gateway's own ``time_stamp`` is
China time in that capture). ``FINISH`` orders that were never paid (``fundStatus``
``NOT_PAY``) or ended by a cancel/timeout reason are ``cancelled``; other ``FINISH``
orders are ``delivered``. ``item_price`` is ``totalProductAmount`` (else unit price x
count).
"""

from __future__ import annotations

from lianxing.domain.facts import OrderStatus
from lianxing.ingest.files.marketplace import (
    ALIEXPRESS_ORDER_STATUS,
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    line_total,
)
from lianxing.ingest.files.reading import FileHead

SOURCE_TIMEZONE = "Asia/Shanghai"


class AliExpressApi(ApiPayloadFormat):
    id = "aliexpress.api"
    name_zh = "速卖通订单 API 数据 (未经官方样本核实)"
    name_en = "AliExpress order API data (layout not officially verified)"
    platform = "aliexpress"
    tables = ("orders", "order_lines")
    envelope_keys = frozenset({"orderId", "gmtCreate", "orderStatus"})

    def sniff(self, head: FileHead) -> float:
        if head.container == "json" and any(
            k.startswith("aliexpress_") and k.endswith("_response") for k in head.json_keys
        ):
            return 0.9
        return super().sniff(head)

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        wrapper = next((k for k in node.data if k.endswith("_response")), None)
        if wrapper is not None:
            response = node.child(wrapper)
            if response is None:
                return
            if response.has("target"):
                target = response.child("target")
                if target is not None:
                    self._read_order(target.at(counter.next()), facts)
                return
            result = response.child("result")
            orders = result.children("target_list", "order_list") if result else []
            if not orders:
                node.problem(wrapper, None, "'target' (one order) or 'result.target_list' (orders)")
            for order in orders:
                self._read_order(order.at(counter.next()), facts)
            return
        self._read_order(node.at(counter.next()), facts)

    def _read_order(self, order: Node, facts: FactRows) -> None:
        order_id = order.text("orderId", "order_id", "id", required=True)
        created = order.instant("gmtCreate", timezone=SOURCE_TIMEZONE, required=True)
        status = order.status(ALIEXPRESS_ORDER_STATUS, "orderStatus")
        amount = order.child("payAmount", "order_amount", "new_order_amount")
        currency = (amount.text("currencyCode") if amount else None) or order.ctx.currency
        if order_id is None or created is None or status is None:
            return
        if status is OrderStatus.DELIVERED and _ended_unsold(order):
            status = OrderStatus.CANCELLED
        address = order.child("receipt_address", "orderAddress")
        facts.add(
            "orders",
            order_id=order_id,
            purchase_ts=created,
            status=status,
            currency=currency,
            buyer_ref=order.text("buyerLoginId", "buyerloginid"),
            ship_country=address.text("country") if address else None,
            ship_postal_code=address.text("zip") if address else None,
        )
        for line in order.children("productList", "child_order_list"):
            line_id = line.text("childId", "child_order_id", "id", required=True)
            quantity = line.integer("productCount", "product_count", required=True)
            if line_id is None or quantity is None:
                continue
            total = line.money("totalProductAmount")
            if total is None:
                total = line_total(
                    line.money("productUnitPrice", "product_price", required=True), quantity
                )
            price_node = line.child("productUnitPrice", "product_price", "totalProductAmount")
            facts.add(
                "order_lines",
                order_id=order_id,
                line_id=line_id,
                sku=line.text("skuCode", "sku_code"),
                platform_item_id=line.text("productId", "product_id"),
                quantity=quantity,
                item_price=total,
                shipping_price=line.money("logisticsAmount", "logistics_amount"),
                currency=(price_node.text("currencyCode") if price_node else None) or currency,
            )


def _ended_unsold(order: Node) -> bool:
    if (order.text("fundStatus") or "").upper() == "NOT_PAY":
        return True
    reason = (order.text("endReason", "order_end_reason") or "").lower()
    return "cancel" in reason or "timeout" in reason


FORMATS = (AliExpressApi(),)
