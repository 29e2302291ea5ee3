"""Fake Shopee Open Platform v2: auth, orders (list + detail), escrow, returns.

Every call is checked as Shopee does: ``timestamp`` within 5 minutes and ``sign`` =
hex HMAC-SHA256(partner_key, partner_id + path + timestamp [+ access_token + shop_id]).
Time ranges over 15 days are refused (``error_param``); ``get_order_list`` pages with a
cursor, the others with ``page_no``/``more``. An expired token is answered
``error = invalid_acceess_token`` (Shopee's spelling).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fake_platforms import FakePlatform, Reply, Request, json_reply

DAY = 24 * 3600


def make_orders(shop_id: str, count: int, start: int) -> list[dict[str, Any]]:
    """``count`` orders, one per hour from ``start`` (Unix s): 2 lines each, MYR."""
    orders = []
    for n in range(count):
        created = start + n * 3600
        orders.append(
            {
                "order_sn": f"{shop_id}-{n:05d}",
                "region": "MY",
                "currency": "MYR",
                "order_status": "COMPLETED" if n % 5 else "CANCELLED",
                "create_time": created,
                "update_time": created + 1800,
                "buyer_user_id": 9000 + n,
                "fulfillment_flag": "fulfilled_by_cb_seller",
                "ship_by_date": created + 2 * DAY,
                "pickup_done_time": created + DAY,
                "item_list": [
                    {
                        "item_id": 100,
                        "item_sku": "SKU-1",
                        "model_id": 0,
                        "model_sku": "SKU-1",
                        "model_quantity_purchased": 1,
                        "model_discounted_price": 25.5,
                        "order_item_id": 100,
                    },
                    {
                        "item_id": 200,
                        "item_sku": "SKU-2",
                        "model_id": 7,
                        "model_sku": "SKU-2-L",
                        "model_quantity_purchased": 2,
                        "model_discounted_price": 10.0,
                        "order_item_id": 200,
                    },
                ],
            }
        )
    return orders


def shopee_sign(key: str, *parts: Any) -> str:
    return hmac.new(key.encode(), "".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeShopee(FakePlatform):
    partner_id: str = "2001234"
    partner_key: str = "shopee-partner-key"
    page_size: int = 100
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop → orders
    codes: dict[str, str] = field(default_factory=dict)  # code → shop id
    token_shop: dict[str, str] = field(default_factory=dict)
    refresh_shop: dict[str, str] = field(default_factory=dict)

    def grant(self, shop_id: str) -> str:
        access, refresh = self.issue_tokens()
        self.token_shop[access] = self.refresh_shop[refresh] = shop_id
        return refresh

    def _error(self, status: int, error: str, message: str) -> Reply:
        return json_reply(status, {"request_id": "r", "error": error, "message": message})

    def handle(self, request: Request) -> Reply:
        q = request.query
        ts = q.get("timestamp", "0")
        if q.get("partner_id") != self.partner_id or abs(time.time() - int(ts)) > 300:
            self.bad_signatures += 1
            return self._error(403, "error_sign", "Wrong partner_id or timestamp expired.")
        if request.path.startswith(("/api/v2/auth/", "/api/v2/shop/auth_partner")):
            expected = shopee_sign(self.partner_key, self.partner_id, request.path, ts)
            if q.get("sign") != expected:
                self.bad_signatures += 1
                return self._error(403, "error_sign", "Wrong sign.")
            return self._auth(request)
        token, shop = q.get("access_token", ""), q.get("shop_id", "")
        expected = shopee_sign(self.partner_key, self.partner_id, request.path, ts, token, shop)
        if q.get("sign") != expected:
            self.bad_signatures += 1
            return self._error(403, "error_sign", "Wrong sign.")
        operation = request.path.removeprefix("/api/v2/")
        throttled = self.admit(operation, shop)
        if throttled is not None:
            return throttled
        if token not in self.access_tokens or self.token_shop.get(token) != shop:
            return self._error(403, "invalid_acceess_token", "Invalid access_token.")
        handler = getattr(self, "_" + operation.replace("/", "_"), None)
        if handler is None:
            return self._error(404, "error_not_found", operation)
        return handler(q, shop)

    def _auth(self, request: Request) -> Reply:
        body = json.loads(request.body or b"{}")
        if request.path == "/api/v2/auth/token/get":
            shop = self.codes.pop(body.get("code", ""), None)
            if shop is None or str(body.get("shop_id")) != shop:
                return self._error(403, "error_auth", "Invalid code.")
        else:
            shop = self.refresh_shop.get(body.get("refresh_token", ""))
            if self.revoked or shop is None or body.get("refresh_token") not in self.refresh_tokens:
                return self._error(403, "error_auth", "Invalid refresh_token.")
            self.refreshes += 1
            self.refresh_tokens.discard(body["refresh_token"])  # single use, as on Shopee
        refresh = self.grant(shop)
        access = next(t for t, s in reversed(self.token_shop.items()) if s == shop)
        return json_reply(
            200,
            {
                "request_id": "r",
                "error": "",
                "message": "",
                "access_token": access,
                "refresh_token": refresh,
                "expire_in": 14400,
                "shop_id": int(shop),
            },
        )

    def _window(self, q: dict[str, str], a: str, b: str) -> tuple[int, int] | Reply:
        start, end = int(q[a]), int(q[b])
        if end - start > 15 * DAY or end < start:
            return self._error(400, "error_param", f"{a}/{b} must be at most 15 days apart.")
        return start, end

    def _ok(self, response: dict[str, Any]) -> Reply:
        return json_reply(
            200, {"request_id": "r", "error": "", "message": "", "response": response}
        )

    def _order_get_order_list(self, q: dict[str, str], shop: str) -> Reply:
        window = self._window(q, "time_from", "time_to")
        if not isinstance(window, tuple):
            return window
        field = q["time_range_field"]
        found = sorted(
            (o for o in self.orders.get(shop, []) if window[0] <= o[field] < window[1]),
            key=lambda o: (o[field], o["order_sn"]),
        )
        offset = int(q.get("cursor") or 0)
        size = min(int(q["page_size"]), self.page_size)
        page = found[offset : offset + size]
        more = offset + size < len(found)
        return self._ok(
            {
                "more": more,
                "next_cursor": str(offset + size) if more else "",
                "order_list": [
                    {"order_sn": o["order_sn"], "order_status": o["order_status"]} for o in page
                ],
            }
        )

    def _order_get_order_detail(self, q: dict[str, str], shop: str) -> Reply:
        wanted = q["order_sn_list"].split(",")
        if len(wanted) > 50:
            return self._error(400, "error_param", "order_sn_list: at most 50")
        by_sn = {o["order_sn"]: o for o in self.orders.get(shop, [])}
        return self._ok({"order_list": [by_sn[sn] for sn in wanted if sn in by_sn]})

    def _payment_get_escrow_list(self, q: dict[str, str], shop: str) -> Reply:
        window = self._window(q, "release_time_from", "release_time_to")
        if not isinstance(window, tuple):
            return window
        released = [
            o
            for o in self.orders.get(shop, [])
            if o["order_status"] == "COMPLETED"
            and window[0] <= o["create_time"] + 3 * DAY < window[1]
        ]
        return self._paged(
            q,
            released,
            "escrow_list",
            lambda o: {
                "order_sn": o["order_sn"],
                "payout_amount": 40.0,
                "escrow_release_time": o["create_time"] + 3 * DAY,
            },
        )

    def _payment_get_escrow_detail(self, q: dict[str, str], shop: str) -> Reply:
        return self._ok(
            {
                "order_sn": q["order_sn"],
                "order_income": {
                    "escrow_amount": 40.0,
                    "commission_fee": 2.75,
                    "service_fee": 1.5,
                    "seller_transaction_fee": 0.9,
                    "final_shipping_fee": -3.0,
                    "items": [],
                },
            }
        )

    def _returns_get_return_list(self, q: dict[str, str], shop: str) -> Reply:
        window = self._window(q, "update_time_from", "update_time_to")
        if not isinstance(window, tuple):
            return window
        cancelled = [o for o in self.orders.get(shop, []) if o["order_status"] == "CANCELLED"]
        returned = [o for o in cancelled if window[0] <= o["update_time"] + DAY < window[1]]
        return self._paged(
            q,
            returned,
            "return",
            lambda o: {
                "return_sn": f"R{o['order_sn']}",
                "order_sn": o["order_sn"],
                "status": "REFUND_PAID",
                "reason": "NOT_RECEIPT",
                "refund_amount": 45.5,
                "currency": "MYR",
                "create_time": o["update_time"],
                "update_time": o["update_time"] + DAY,
                "needs_logistics": False,
                "item": [
                    {
                        "item_id": 100,
                        "model_id": 0,
                        "item_sku": "SKU-1",
                        "variation_sku": "SKU-1",
                        "amount": 1,
                    }
                ],
            },
        )

    def _paged(self, q: dict[str, str], rows: list[dict[str, Any]], key: str, shape: Any) -> Reply:
        size = min(int(q["page_size"]), self.page_size)
        page_no = int(q["page_no"])
        page = rows[(page_no - 1) * size : page_no * size]
        return self._ok({"more": page_no * size < len(rows), key: [shape(o) for o in page]})

    def _shop_get_shop_info(self, q: dict[str, str], shop: str) -> Reply:
        return json_reply(
            200,
            {
                "request_id": "r",
                "error": "",
                "message": "",
                "shop_name": f"shop {shop}",
                "region": "MY",
            },
        )
