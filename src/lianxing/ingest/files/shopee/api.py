"""Shopee Open Platform v2 responses saved as JSON (platform-formats.md §5.2-5.4, verified).

A file holds one response envelope (``request_id``, ``error``, ``message``, ``response``)
or a JSON array of them, from any of these calls, in any mix:

* ``get_order_detail`` → ``orders`` and ``order_lines``. ``item_price`` is
  ``model_discounted_price`` x ``model_quantity_purchased`` (the price after the seller's
  own item discount). Shopee returns 0 for bundle-deal items; then the line's
  ``discounted_price`` from an escrow detail in the same file is used, else the price is
  left NULL (unpriced), never 0.
* ``get_escrow_detail`` → ``fees`` (commission, service, transaction, campaign,
  affiliate, seller-borne shipping) and the seller-voucher share of each line as its
  ``promotion_discount``. Escrow detail has no date: fees are dated by the order's
  ``escrow_release_time`` from a ``get_escrow_list`` response in the file, else by the
  order's ``create_time`` from its order detail in the file, else the file is rejected.
* ``get_escrow_list`` → release times only.
* ``get_return_list`` / ``get_return_detail`` → ``returns`` (one row per returned item,
  only when goods are sent back) and ``refunds`` (``REFUND_PAID`` returns).

Times are Unix seconds (UTC); amounts are in the order's ``currency``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.marketplace import (
    SHOPEE_ORDER_STATUS,
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    envelope_error,
    line_total,
    positive,
)

# order_income field → fee_type. Each is a cost to the seller, stored positive.
ESCROW_FEES: dict[str, str] = {
    "commission_fee": "commission",
    "service_fee": "service",
    "seller_transaction_fee": "transaction",
    "campaign_fee": "campaign",
    "order_ams_commission_fee": "affiliate_commission",
    "reverse_shipping_fee": "reverse_shipping",
}


class ShopeeApi(ApiPayloadFormat):
    id = "shopee.api"
    name_zh = "Shopee 开放平台 API 数据 (订单/结算/退货)"
    name_en = "Shopee Open Platform API responses (orders, escrow, returns)"
    platform = "shopee"
    tables = ("orders", "order_lines", "fees", "refunds", "returns")
    envelope_keys = frozenset({"request_id", "error", "response"})

    def begin(self, facts: FactRows) -> None:
        self._escrows: list[tuple[Node, str]] = []
        self._release: dict[str, dt.datetime] = {}
        self._created: dict[str, tuple[dt.datetime, str]] = {}

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if envelope_error(node, error_keys=("error",), ok=("",)):
            return
        response = node.child("response")
        if response is None:
            node.problem("response", None, "a 'response' object (Shopee v2 envelope)")
            return
        if response.has("order_income"):
            order_sn = response.text("order_sn", required=True)
            if order_sn is not None:
                self._escrows.append((response.at(counter.next()), order_sn))
        elif response.has("escrow_list"):
            for entry in response.children("escrow_list"):
                sn = entry.text("order_sn", required=True)
                released = entry.instant("escrow_release_time", required=True)
                if sn is not None and released is not None:
                    self._release[sn] = released
        elif response.has("return"):
            for item in response.children("return"):
                self._read_return(item.at(counter.next()), facts)
        elif response.has("return_sn"):
            self._read_return(response.at(counter.next()), facts)
        elif response.has("order_list"):
            for order in response.children("order_list"):
                self._read_order(order.at(counter.next()), facts)
        else:
            keys = ", ".join(sorted(response.data)) or "nothing"
            node.problem(
                "response",
                keys,
                "the response of get_order_detail, get_escrow_detail, "
                "get_escrow_list, get_return_list or get_return_detail",
            )

    def _read_order(self, order: Node, facts: FactRows) -> None:
        order_sn = order.text("order_sn", required=True)
        created = order.instant("create_time", required=True)
        status = order.status(SHOPEE_ORDER_STATUS, "order_status")
        currency = order.text("currency", required=True)
        if order_sn is None or created is None or status is None or currency is None:
            return
        self._created[order_sn] = (created, currency)
        address = order.child("recipient_address")
        flag = order.text("fulfillment_flag")
        facts.add(
            "orders",
            order_id=order_sn,
            purchase_ts=created,
            status=status,
            fulfillment_channel="FBS"
            if flag == "fulfilled_by_shopee"
            else "seller"
            if flag
            else None,
            currency=currency,
            buyer_ref=order.text("buyer_user_id", "buyer_username"),
            ship_country=(address.text("region") if address else None) or order.text("region"),
            ship_postal_code=address.text("zipcode") if address else None,
            promised_ship_by_ts=order.instant("ship_by_date"),
            shipped_ts=order.instant("pickup_done_time"),
            delivered_ts=None,
        )
        for item in order.children("item_list"):
            quantity = item.integer("model_quantity_purchased", required=True)
            unit = item.money("model_discounted_price", required=True)
            item_id = item.text("item_id")
            model_id = item.text("model_id")
            line_id = item.text("order_item_id") or item_id
            if quantity is None or line_id is None:
                continue
            # model_id tells models of one item apart (order_item_id repeats across them).
            facts.add(
                "order_lines",
                order_id=order_sn,
                line_id=f"{line_id}:{model_id}" if model_id and model_id != "0" else line_id,
                sku=item.text("model_sku") or item.text("item_sku"),
                platform_item_id=item_id,
                quantity=quantity,
                item_price=line_total(unit, quantity) if unit else None,
                currency=currency,
            )

    def _read_return(self, ret: Node, facts: FactRows) -> None:
        return_sn = ret.text("return_sn", required=True)
        order_sn = ret.text("order_sn", required=True)
        created = ret.instant("create_time", required=True)
        status = (ret.text("status") or "").upper()
        currency = ret.text("currency") or self.ctx_currency(order_sn)
        if return_sn is None or order_sn is None or created is None:
            return
        reason = ret.text("reason")
        items = ret.children("item")
        if status == "REFUND_PAID":
            amount = ret.money("refund_amount", required=True)
            updated = ret.instant("update_time") or created
            if amount is not None and currency is not None:
                skus = {i.text("variation_sku") or i.text("item_sku") for i in items}
                facts.add(
                    "refunds",
                    refund_id=return_sn,
                    order_id=order_sn,
                    sku=skus.pop() if len(skus) == 1 else None,
                    refund_ts=updated,
                    amount=positive(amount),
                    currency=currency,
                    reason=reason,
                )
            elif currency is None:
                ret.problem("currency", None, "the return's currency")
        if ret.raw("needs_logistics") is not True or status == "CANCELLED":
            return
        for item in items:
            quantity = item.integer("amount", required=True)
            if quantity is None:
                continue
            facts.add(
                "returns",
                return_id=f"{return_sn}:{item.text('item_id')}:{item.text('model_id') or 0}",
                order_id=order_sn,
                sku=item.text("variation_sku") or item.text("item_sku"),
                return_ts=created,
                quantity=quantity,
                reason=reason,
                disposition=status.lower() or None,
            )

    def ctx_currency(self, order_sn: str | None) -> str | None:
        known = self._created.get(order_sn or "")
        return known[1] if known else None

    def finish(self, facts: FactRows, ctx: ImportContext) -> None:
        for income_node, order_sn in self._escrows:
            self._read_escrow(income_node, order_sn, facts)

    def _read_escrow(self, response: Node, order_sn: str, facts: FactRows) -> None:
        income = response.child("order_income")
        if income is None:
            return
        known = self._created.get(order_sn)
        posted = self._release.get(order_sn) or (known[0] if known else None)
        if posted is None:
            response.problem(
                "order_sn",
                order_sn,
                "the order's get_order_detail or get_escrow_list response in the same file "
                "(escrow detail has no date to post its fees on) / 需同时提供订单详情或结算列表",
            )
            return
        currency = known[1] if known else response.ctx.currency
        for field, fee_type in ESCROW_FEES.items():
            amount = income.money(field)
            if amount:
                facts.add(
                    "fees",
                    fee_id=f"{order_sn}:{fee_type}",
                    posted_ts=posted,
                    order_id=order_sn,
                    fee_type=fee_type,
                    amount=positive(amount),
                    currency=currency,
                )
        # final_shipping_fee: what the seller bears for shipping; negative = a cost.
        shipping = income.money("final_shipping_fee")
        if shipping is not None and shipping < 0:
            facts.add(
                "fees",
                fee_id=f"{order_sn}:shipping",
                posted_ts=posted,
                order_id=order_sn,
                fee_type="shipping",
                amount=-shipping,
                currency=currency,
            )
        for item in income.children("items"):
            self._escrow_line(item, order_sn, facts)

    @staticmethod
    def _escrow_line(item: Node, order_sn: str, facts: FactRows) -> None:
        item_id, model_id = item.text("item_id"), item.text("model_id")
        for line in _lines_of(facts, order_sn):
            if line.get("platform_item_id") != item_id:
                continue
            if model_id and model_id != "0" and not str(line["line_id"]).endswith(f":{model_id}"):
                continue
            update: dict[str, Any] = {}
            voucher = item.money("discount_from_voucher_seller")
            if voucher:
                update["promotion_discount"] = positive(voucher)
            if line.get("item_price") is None:
                update["item_price"] = item.money("discounted_price")
            if update:
                facts.add("order_lines", order_id=order_sn, line_id=line["line_id"], **update)
            return


def _lines_of(facts: FactRows, order_sn: str) -> list[dict[str, Any]]:
    return [row for row in facts.rows("order_lines") if row.get("order_id") == order_sn]


FORMATS = (ShopeeApi(),)
