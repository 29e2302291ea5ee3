"""Fake Shopee Open Platform v2: auth, orders (list + detail), escrow, returns, products
(item list, item base info, model list), shop CPC ads daily performance.

Every call is checked as Shopee does: ``timestamp`` within 5 minutes and ``sign`` =
hex HMAC-SHA256(partner_key, partner_id + path + timestamp [+ access_token + shop_id]).
Time ranges over 15 days are refused (``error_param``); ``get_order_list`` pages with a
cursor, ``get_item_list`` with ``offset``/``next_offset`` (``item_status`` required,
repeatable), the others with ``page_no``/``more``; ``get_item_base_info`` takes at most
50 ids. ``get_all_cpc_ads_daily_performance`` takes ``start_date``/``end_date`` as
DD-MM-YYYY shop-local days and refuses what Shopee's doc page lists: equal dates, a start
after the end, a range over one month, an end after the shop's today, a start over 6
months back. An expired token is answered ``error = invalid_acceess_token`` (Shopee's
spelling).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import zoneinfo
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


def _offer(price: float, stock: int) -> dict[str, Any]:
    """The price and stock fields an item without models, or a model, has."""
    return {
        "price_info": [
            {"currency": "MYR", "original_price": price, "current_price": round(price * 0.9, 2)}
        ],
        "stock_info_v2": {
            "summary_info": {"total_reserved_stock": 0, "total_available_stock": stock},
            "seller_stock": [{"location_id": "MYZ", "stock": stock, "if_saleable": True}],
        },
    }


def make_items(start: int, fillers: int) -> list[dict[str, Any]]:
    """Items created a day apart from ``start`` (Unix s): SKU-1 (25.50, 10 in stock);
    SKU-2 with models L (10.00, 3), M (12.00, sold out), S (12.00, unavailable); SKU-3
    unlisted, SKU-4 banned, SKU-5 deleted by the seller; then ``fillers`` items FILL-nn at
    5.00 with nn % 3 in stock."""

    def model(model_id: int, sku: str, status: str, price: float, stock: int) -> dict[str, Any]:
        return {
            "model_id": model_id,
            "model_sku": sku,
            "model_status": status,
            **_offer(price, stock),
        }

    special: list[tuple[int, str, str, dict[str, Any]]] = [
        (100, "NORMAL", "SKU-1", _offer(25.5, 10)),
        (200, "NORMAL", "SKU-2", {"models": [
            model(7, "SKU-2-L", "MODEL_NORMAL", 10.0, 3),
            model(8, "SKU-2-M", "MODEL_NORMAL", 12.0, 0),
            model(9, "SKU-2-S", "MODEL_UNAVAILABLE", 12.0, 5),
        ]}),
        (300, "UNLIST", "SKU-3", _offer(30.0, 2)),
        (400, "BANNED", "SKU-4", _offer(40.0, 1)),
        (500, "SELLER_DELETE", "SKU-5", _offer(50.0, 1)),
    ]  # fmt: skip
    special += [(1000 + n, "NORMAL", f"FILL-{n:02d}", _offer(5.0, n % 3)) for n in range(fillers)]
    items = []
    for number, (identifier, status, sku, offer) in enumerate(special):
        created = start + number * DAY
        items.append(
            {
                "item_id": identifier,
                "category_id": 100017,
                "item_name": f"item {sku}",
                "item_sku": sku,
                "item_status": status,
                "create_time": created,
                "update_time": created + 3600,
                "has_model": "models" in offer,
                **offer,
            }
        )
    return items


def make_ads(first: dt.date, days: int) -> dict[dt.date, dict[str, Any]]:
    """Daily CPC ads totals for ``days`` days from ``first`` (day n = 0, 1, ...):
    impression 1000 + 10n, clicks 20 + n, expense 5 + 0.25n, broad_gmv 20 + 1.5n,
    broad_order 2 + n % 2, broad_item_sold 4; direct (advertised item only) figures
    smaller: direct_gmv 10 + n, direct_order 1, direct_item_sold 1."""
    found = {}
    for n in range(days):
        impression, clicks, expense, broad_gmv = 1000 + 10 * n, 20 + n, 5 + 0.25 * n, 20 + 1.5 * n
        direct_gmv, broad_order = 10.0 + n, 2 + n % 2
        found[first + dt.timedelta(days=n)] = {
            "impression": impression,
            "clicks": clicks,
            "ctr": round(100 * clicks / impression, 2),
            "direct_order": 1,
            "broad_order": broad_order,
            "direct_conversions": round(100 / clicks, 2),
            "broad_conversions": round(100 * broad_order / clicks, 2),
            "direct_item_sold": 1,
            "broad_item_sold": 4,
            "direct_gmv": direct_gmv,
            "broad_gmv": broad_gmv,
            "expense": expense,
            "cost_per_conversion": round(expense / broad_order, 2),
            "direct_roas": round(direct_gmv / expense, 2),
            "broad_roas": round(broad_gmv / expense, 2),
        }
    return found


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def shopee_sign(key: str, *parts: Any) -> str:
    return hmac.new(key.encode(), "".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeShopee(FakePlatform):
    partner_id: str = "2001234"
    partner_key: str = "shopee-partner-key"
    page_size: int = 100
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop → orders
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop → items
    ads: dict[str, dict[dt.date, dict[str, Any]]] = field(default_factory=dict)  # shop → days
    timezone: str = "Asia/Kuala_Lumpur"  # the shops' (ads dates are shop-local days)
    today: dt.date | None = None  # the shops' today; None: the clock's
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
        if operation == "product/get_item_list":  # item_status repeats: needs every pair
            return self._item_list(request.query_list, shop)
        handler = getattr(self, "_" + operation.replace("/", "_"), None)
        if handler is None:
            return self._error(404, "error_not_found", operation)
        reply: Reply = handler(q, shop)
        return reply

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

    def _item_list(self, pairs: list[tuple[str, str]], shop: str) -> Reply:
        q = dict(pairs)
        statuses = {v for k, v in pairs if k == "item_status"}
        if not statuses or "offset" not in q or not 1 <= int(q.get("page_size") or 0) <= 100:
            return self._error(400, "error_param", "item_status, offset, page_size (1-100)")
        start, end = int(q.get("update_time_from") or 0), int(q.get("update_time_to") or 2**40)
        found = sorted(
            (
                i
                for i in self.items.get(shop, [])
                if i["item_status"] in statuses and start <= i["update_time"] <= end
            ),
            key=lambda i: i["item_id"],
        )
        offset = int(q["offset"])
        size = min(int(q["page_size"]), self.page_size)
        page = found[offset : offset + size]
        more = offset + size < len(found)
        return self._ok(
            {
                "item": [
                    {"item_id": i["item_id"], "item_status": i["item_status"],
                     "update_time": i["update_time"]}
                    for i in page
                ],
                "total_count": len(found),
                "has_next_page": more,
                "next_offset": offset + size if more else 0,
            }
        )  # fmt: skip

    def _product_get_item_base_info(self, q: dict[str, str], shop: str) -> Reply:
        wanted = [int(i) for i in q["item_id_list"].split(",")]
        if len(wanted) > 50:
            return self._error(400, "error_param", "item_id_list: at most 50")
        by_id = {i["item_id"]: i for i in self.items.get(shop, [])}
        # The models come from get_model_list only.
        found = [{k: v for k, v in by_id[i].items() if k != "models"} for i in wanted if i in by_id]
        return self._ok({"item_list": found})

    def _product_get_model_list(self, q: dict[str, str], shop: str) -> Reply:
        item = next(
            (i for i in self.items.get(shop, []) if str(i["item_id"]) == q["item_id"]), None
        )
        if item is None:
            return self._error(400, "error_item_not_found", "item not found")
        models = item.get("models", [])
        return self._ok(
            {
                "tier_variation": [
                    {"name": "size", "option_list": [{"option": m["model_sku"]} for m in models]}
                ],
                "model": [{**m, "tier_index": [n]} for n, m in enumerate(models)],
            }
        )

    def _ads_get_all_cpc_ads_daily_performance(self, q: dict[str, str], shop: str) -> Reply:
        texts = [q.get("start_date", ""), q.get("end_date", "")]
        try:
            if not all(re.fullmatch(r"\d\d-\d\d-\d{4}", t) for t in texts):
                raise ValueError(texts)
            start, end = (dt.datetime.strptime(t, "%d-%m-%Y").date() for t in texts)
        except ValueError:
            return self._error(400, "error_param", "start_date, end_date: DD-MM-YYYY")
        today = self.today or dt.datetime.now(zoneinfo.ZoneInfo(self.timezone)).date()
        refused = (
            (start == end, "ads.performance.error_same_start_end_dates"),
            (start > end, "ads.performance.error_start_later_than_end"),
            (end > today, "ads.performance.error_date_in_future"),
            (start < _months_before(today, 6), "ads.performance.error_date_too_old"),
            (_months_before(end, 1) > start, "ads.performance.error_date_range_too_long"),
        )
        for wrong, error in refused:
            if wrong:
                return self._error(400, error, f"{q['start_date']}..{q['end_date']}")
        days = sorted(d for d in self.ads.get(shop, {}) if start <= d <= end)
        return json_reply(
            200,
            {
                "request_id": "r",
                "error": "",
                "message": "",
                "warning": "",
                "response": [{"date": f"{d:%d-%m-%Y}", **self.ads[shop][d]} for d in days],
            },
        )
