"""Fake TikTok Shop Partner API 202309: token get/refresh, authorized shops, Search Orders,
Get Order Detail.

Shop calls are checked as TikTok does: ``app_key`` known, ``timestamp`` within 5 minutes,
``sign`` = hex HMAC-SHA256(secret, secret + path + sorted name/value pairs without
``sign``/``access_token`` + raw body + secret), ``x-tts-access-token`` live, and
``shop_cipher`` the shop's. Search pages by an opaque ``page_token`` over orders with
``update_time_ge`` ≤ update_time < ``update_time_lt``, ascending. A dead token is
answered HTTP 401 ``code`` 105002.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fake_platforms import FakePlatform, Reply, Request, json_reply


def tiktok_sign(secret: str, path: str, params: dict[str, str], body: bytes) -> str:
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in ("sign", "access_token"))
    message = secret.encode() + (path + pairs).encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def make_orders(count: int, start: dt.datetime) -> list[dict[str, Any]]:
    """``count`` orders one per hour from ``start`` (aware), USD: line A list 20.00 with a
    2.00 seller discount, line B 15.50; shipping 3.00; every 5th cancelled."""
    orders = []
    for n in range(count):
        created = int((start + dt.timedelta(hours=n)).timestamp())
        order_id = str(576_000_000_000_000_000 + n)
        orders.append(
            {
                "id": order_id,
                "status": "CANCELLED" if n % 5 == 4 else "COMPLETED",
                "create_time": created,
                "update_time": created + 900,
                "paid_time": created + 60,
                "user_id": f"u{n}",
                "fulfillment_type": "FULFILLMENT_BY_SELLER",
                "rts_sla_time": created + 2 * 86400,
                "rts_time": created + 86400,
                "payment": {
                    "currency": "USD",
                    "sub_total": "33.50",
                    "shipping_fee": "3.00",
                    "seller_discount": "2.00",
                    "platform_discount": "0",
                    "total_amount": "36.50",
                    "tax": "0",
                },
                "recipient_address": {"region_code": "US", "postal_code": "94107"},
                "line_items": [
                    {
                        "id": f"{order_id}1",
                        "product_id": "1729",
                        "sku_id": "1729001",
                        "seller_sku": "TT-A",
                        "product_name": "product A",
                        "original_price": "20.00",
                        "sale_price": "18.00",
                        "seller_discount": "2.00",
                        "platform_discount": "0",
                        "currency": "USD",
                    },
                    {
                        "id": f"{order_id}2",
                        "product_id": "1730",
                        "sku_id": "1730001",
                        "seller_sku": "TT-B",
                        "product_name": "product B",
                        "original_price": "15.50",
                        "sale_price": "15.50",
                        "seller_discount": "0",
                        "platform_discount": "0",
                        "currency": "USD",
                    },
                ],
            }
        )
    return orders


@dataclass
class FakeTikTok(FakePlatform):
    app_key: str = "6abcdefg"
    app_secret: str = "tiktok-app-secret"
    page_size: int = 100
    shops: list[dict[str, str]] = field(default_factory=list)  # id, name, region, cipher
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop id → orders
    codes: dict[str, str] = field(default_factory=dict)  # auth code → open_id
    token_owner: dict[str, str] = field(default_factory=dict)
    page_tokens_seen: list[str] = field(default_factory=list)

    def grant(self, owner: str = "open-1") -> str:
        access, refresh = self.issue_tokens()
        self.token_owner[access] = self.token_owner[refresh] = owner
        return refresh

    def _error(self, status: int, code: int, message: str) -> Reply:
        return json_reply(status, {"code": code, "message": message, "request_id": "r"})

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/api/v2/token/"):
            return self._token(request)
        q = request.query
        if (
            q.get("app_key") != self.app_key
            or abs(time.time() - int(q.get("timestamp") or 0)) > 300
            or q.get("sign") != tiktok_sign(self.app_secret, request.path, q, request.body)
        ):
            self.bad_signatures += 1
            return self._error(401, 106001, "Invalid signature")
        token = request.headers.get("x-tts-access-token", "")
        if request.path == "/authorization/202309/shops":
            if token not in self.access_tokens:
                return self._error(401, 105002, "Expired credentials")
            return json_reply(200, {"code": 0, "message": "Success", "data": {"shops": self.shops}})
        shop = next((s for s in self.shops if s["cipher"] == q.get("shop_cipher")), None)
        if shop is None:
            return self._error(400, 106011, "Invalid shop_cipher")
        operation = {
            "/order/202309/orders/search": "SearchOrders",
            "/order/202309/orders": "GetOrderDetail",
        }.get(request.path, request.path)
        throttled = self.admit(operation, shop["id"])
        if throttled is not None:
            return throttled
        if token not in self.access_tokens:
            return self._error(401, 105002, "Expired credentials")
        orders = self.orders.get(shop["id"], [])
        if operation == "SearchOrders":
            return self._search(q, json.loads(request.body), orders)
        if operation == "GetOrderDetail":
            ids = q["ids"].split(",")
            if len(ids) > 50:
                return self._error(400, 36009003, "ids: at most 50")
            by_id = {o["id"]: o for o in orders}
            found = [by_id[i] for i in ids if i in by_id]
            return json_reply(200, {"code": 0, "message": "Success", "data": {"orders": found}})
        return self._error(404, 36009004, "not found")

    def _token(self, request: Request) -> Reply:
        q = request.query
        if q.get("app_key") != self.app_key or q.get("app_secret") != self.app_secret:
            return self._error(200, 36004004, "invalid app_key or app_secret")
        if request.path == "/api/v2/token/get":
            owner = self.codes.pop(q.get("auth_code", ""), None)
            if owner is None or q.get("grant_type") != "authorized_code":
                return self._error(200, 36004004, "invalid auth_code")
        else:
            refresh = q.get("refresh_token", "")
            owner = self.token_owner.get(refresh)
            if self.revoked or owner is None or refresh not in self.refresh_tokens:
                return self._error(200, 36004005, "invalid refresh_token")
            self.refreshes += 1
        refresh = self.grant(owner)
        access = next(
            t for t, o in reversed(self.token_owner.items()) if o == owner and t.startswith("at-")
        )
        now = int(time.time())
        return json_reply(
            200,
            {
                "code": 0,
                "message": "success",
                "data": {
                    "access_token": access,
                    "access_token_expire_in": now + 7 * 86400,
                    "refresh_token": refresh,
                    "refresh_token_expire_in": now + 365 * 86400,
                    "open_id": owner,
                    "seller_name": "Test Seller",
                    "seller_base_region": "US",
                    "user_type": 0,
                },
            },
        )

    def _search(
        self, q: dict[str, str], body: dict[str, Any], orders: list[dict[str, Any]]
    ) -> Reply:
        if q.get("sort_field") != "update_time" or q.get("sort_order") != "ASC":
            return self._error(400, 36009003, "expected sort_field=update_time ASC in this fake")
        size = min(int(q["page_size"]), 100, self.page_size)
        found = sorted(
            (
                o
                for o in orders
                if body["update_time_ge"] <= o["update_time"] < body["update_time_lt"]
            ),
            key=lambda o: (o["update_time"], o["id"]),
        )
        token = q.get("page_token", "")
        self.page_tokens_seen.append(token)
        offset = int(base64.b64decode(token)) if token else 0
        page = found[offset : offset + size]
        more = offset + size < len(found)
        return json_reply(
            200,
            {
                "code": 0,
                "message": "Success",
                "data": {
                    # Only ids and status here: the connector reads details with Get Order Detail.
                    "orders": [{"id": o["id"], "status": o["status"]} for o in page],
                    "next_page_token": base64.b64encode(str(offset + size).encode()).decode()
                    if more
                    else "",
                    "total_count": len(found),
                },
            },
        )
