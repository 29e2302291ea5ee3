"""Fake Lazada Open Platform: token create/refresh, GetOrders, GetMultipleOrderItems,
QueryTransactionDetails, GetReverseOrdersForSeller, GetProducts.

Every call is checked as Lazada does: ``app_key`` known, ``sign_method=sha256``,
``timestamp`` (ms) within 10 minutes, ``sign`` = UPPER hex HMAC-SHA256(app_secret,
api_path + sorted name/value pairs except ``sign``). GetOrders filters by ``updated_at``
(``update_after`` ≤ t < ``update_before``, ISO 8601 with offset), sorts ascending and
pages by ``offset``/``limit``, refusing an offset over ``max_offset`` (5000 on Lazada).
A dead token is answered ``code = IllegalAccessToken`` with HTTP 200, as Lazada does.

The other calls answer with the documented payloads (Lazada's API reference):
QueryTransactionDetails takes ``start_time``/``end_time`` as days (both included, at most
180 days apart: error 1000012), ``limit`` ≤ 500, and answers ``data[]`` with no total;
GetReverseOrdersForSeller filters lines by ``ReverseOrderLineModifiedTimeRange{Start,End}``
(ms, both included) and pages reverse orders by ``page_no``/``page_size`` with
``result.total``; GetProducts wants ``filter`` and refuses ``limit`` > 50 (E019) and an
``offset`` over ``max_product_offset`` (10000, E014).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fake_platforms import FakePlatform, Reply, Request, json_reply

MYT = dt.timezone(dt.timedelta(hours=8))


def lazada_sign(secret: str, path: str, params: dict[str, str]) -> str:
    message = path + "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(MYT).strftime("%Y-%m-%d %H:%M:%S %z")


def make_orders(seller: str, count: int, start: dt.datetime) -> list[dict[str, Any]]:
    """``count`` orders one per hour from ``start`` (aware): each 2 units of SKU-A at
    30.00 and 1 of SKU-B at 12.50 (one item row per unit), MYR; every 4th cancelled."""
    orders = []
    for n in range(count):
        created = start + dt.timedelta(hours=n)
        status = "canceled" if n % 4 == 3 else "delivered"
        order_id = 7_000_000 + int(seller[-3:]) * 10_000 + n
        items = [
            {
                "order_item_id": order_id * 10 + i,
                "order_id": order_id,
                "sku": sku,
                "shop_sku": f"{sku}-MY",
                "name": f"product {sku}",
                "item_price": price,
                "paid_price": price,
                "tax_amount": "0.00",
                "shipping_amount": "0.00",
                "voucher_seller": "1.00" if sku == "SKU-B" else "0.00",
                "voucher_platform": "0.00",
                "currency": "MYR",
                "status": status,
                "is_fbl": 0,
                "buyer_id": 55_000 + n,
                "created_at": _local(created),
                "updated_at": _local(created + dt.timedelta(minutes=30)),
            }
            for i, (sku, price) in enumerate(
                (("SKU-A", "30.00"), ("SKU-A", "30.00"), ("SKU-B", "12.50"))
            )
        ]
        orders.append(
            {
                "order_id": order_id,
                "order_number": order_id,
                "created_at": _local(created),
                "updated_at": _local(created + dt.timedelta(minutes=30)),
                "statuses": [status],
                "price": "72.50",
                "items_count": 3,
                "payment_method": "COD",
                "address_shipping": {"country": "Malaysia", "post_code": "50450"},
                "_items": items,
            }
        )
    return orders


OPERATIONS = {
    "/orders/get": "GetOrders",
    "/orders/items/get": "GetMultipleOrderItems",
    "/finance/transaction/details/get": "QueryTransactionDetails",
    "/reverse/getreverseordersforseller": "GetReverseOrdersForSeller",
    "/products/get": "GetProducts",
}
MAX_REVERSE_PAGE = 100  # not documented: the connector's own choice is 50


def _instant(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return dt.datetime.fromisoformat(text)


@dataclass
class FakeLazada(FakePlatform):
    app_key: str = "123456"
    app_secret: str = "lazada-app-secret"
    page_size: int = 100
    max_offset: int = 5000
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # seller → orders
    codes: dict[str, str] = field(default_factory=dict)  # code → seller id
    token_seller: dict[str, str] = field(default_factory=dict)
    offsets: list[int] = field(default_factory=list)  # every GetOrders offset, in order
    transactions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # seller → rows
    reverse_orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    products: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    max_product_offset: int = 10000
    # What each call asked for, in order: (start_time, end_time, offset) / (start ms,
    # end ms, page_no) / offset.
    transaction_queries: list[tuple[str, str, int]] = field(default_factory=list)
    reverse_queries: list[tuple[int, int, int]] = field(default_factory=list)
    product_offsets: list[int] = field(default_factory=list)

    def grant(self, seller: str) -> str:
        access, refresh = self.issue_tokens()
        self.token_seller[access] = self.token_seller[refresh] = seller
        return refresh

    def _error(self, code: str, message: str, status: int = 200) -> Reply:
        return json_reply(
            status, {"code": code, "type": "ISV", "message": message, "request_id": "r"}
        )

    def handle(self, request: Request) -> Reply:
        q = request.query
        if (
            q.get("app_key") != self.app_key
            or q.get("sign_method") != "sha256"
            or abs(time.time() * 1000 - int(q.get("timestamp") or 0)) > 600_000
            or q.get("sign") != lazada_sign(self.app_secret, request.path, q)
            or len(q) != len(request.query_list)  # a parameter sent twice
        ):
            self.bad_signatures += 1
            return self._error("IncompleteSignature", "The request signature does not conform")
        if request.path.startswith("/auth/token/"):
            return self._token(request.path, q)
        token = q.get("access_token", "")
        seller = self.token_seller.get(token, "")
        operation = OPERATIONS.get(request.path, request.path)
        throttled = self.admit(operation, seller)
        if throttled is not None:
            return throttled
        if token not in self.access_tokens:
            return self._error(
                "IllegalAccessToken", "The specified access token is invalid or expired"
            )
        if operation == "GetOrders":
            return self._get_orders(q, seller)
        if operation == "GetMultipleOrderItems":
            return self._get_items(q, seller)
        if operation == "QueryTransactionDetails":
            return self._transactions(q, seller)
        if operation == "GetReverseOrdersForSeller":
            return self._reverse_orders(q, seller)
        if operation == "GetProducts":
            return self._products(q, seller)
        return self._error("InvalidApiPath", request.path, 404)

    def _token(self, path: str, q: dict[str, str]) -> Reply:
        if path == "/auth/token/create":
            seller = self.codes.pop(q.get("code", ""), None)
            if seller is None:
                return self._error("InvalidCode", "invalid auth code")
        else:
            refresh = q.get("refresh_token", "")
            seller = self.token_seller.get(refresh)
            if self.revoked or seller is None or refresh not in self.refresh_tokens:
                return self._error("IllegalRefreshToken", "refresh token invalid or expired")
            self.refreshes += 1
        refresh = self.grant(seller)
        access = next(
            t for t, s in reversed(self.token_seller.items()) if s == seller and t.startswith("at-")
        )
        return json_reply(
            200,
            {
                "code": "0",
                "request_id": "r",
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": 604800,
                "refresh_expires_in": 2592000,
                "country": "my",
                "account_platform": "seller_center",
                "account": f"{seller}@example.com",
                "country_user_info": [
                    {
                        "country": "sg",
                        "seller_id": "SG" + seller,
                        "user_id": "1",
                        "short_code": "SGX",
                    },
                    {"country": "my", "seller_id": seller, "user_id": "2", "short_code": "MYX"},
                ],
            },
        )

    def _get_orders(self, q: dict[str, str], seller: str) -> Reply:
        offset, limit = int(q["offset"]), min(int(q["limit"]), 100, self.page_size)
        self.offsets.append(offset)
        if offset > self.max_offset:
            return self._error("InvalidParameter", f"offset must not exceed {self.max_offset}")
        if q.get("sort_by") != "updated_at" or q.get("sort_direction") != "ASC":
            return self._error("InvalidParameter", "expected sort_by=updated_at ASC in this fake")
        after, before = _instant(q["update_after"]), _instant(q["update_before"])
        found = sorted(
            (o for o in self.orders.get(seller, []) if after <= _instant(o["updated_at"]) < before),
            key=lambda o: (_instant(o["updated_at"]), o["order_id"]),
        )
        page = [
            {k: v for k, v in o.items() if k != "_items"} for o in found[offset : offset + limit]
        ]
        return json_reply(
            200,
            {
                "code": "0",
                "request_id": "r",
                "data": {"count": len(page), "countTotal": len(found), "orders": page},
            },
        )

    def _get_items(self, q: dict[str, str], seller: str) -> Reply:
        wanted = json.loads(q["order_ids"])
        if not isinstance(wanted, list) or len(wanted) > 50:
            return self._error("InvalidParameter", "order_ids: a JSON array of at most 50 ids")
        by_id = {o["order_id"]: o for o in self.orders.get(seller, [])}
        data = [
            {"order_id": i, "order_number": i, "order_items": by_id[i]["_items"]}
            for i in wanted
            if i in by_id
        ]
        return json_reply(200, {"code": "0", "request_id": "r", "data": data})

    def _transactions(self, q: dict[str, str], seller: str) -> Reply:
        try:
            start = dt.date.fromisoformat(q["start_time"])
            end = dt.date.fromisoformat(q["end_time"])
        except (KeyError, ValueError):
            return self._error("InvalidParameter", "start_time/end_time: YYYY-MM-DD")
        offset, limit = int(q.get("offset", "0")), int(q.get("limit", "100"))
        self.transaction_queries.append((q["start_time"], q["end_time"], offset))
        if (end - start).days > 180:
            return self._error("1000012", "endTime - startTime must should be less than 180 days")
        if limit > 500:
            return self._error("InvalidParameter", "limit: the supported maximum number is 500")
        found = sorted(
            (
                r
                for r in self.transactions.get(seller, [])
                if start <= _transaction_day(r["transaction_date"]) <= end
            ),
            key=lambda r: (_transaction_day(r["transaction_date"]), r["transaction_number"]),
        )
        page = found[offset : offset + limit]
        return json_reply(200, {"code": "0", "request_id": "r", "data": page})

    def _reverse_orders(self, q: dict[str, str], seller: str) -> Reply:
        try:
            page_no, size = int(q["page_no"]), int(q["page_size"])
            start = int(q["ReverseOrderLineModifiedTimeRangeStart"])
            end = int(q["ReverseOrderLineModifiedTimeRangeEnd"])
        except (KeyError, ValueError):
            return self._error("InvalidParameter", "page_no, page_size and the time range")
        self.reverse_queries.append((start, end, page_no))
        if page_no < 1 or not 1 <= size <= MAX_REVERSE_PAGE:
            return self._error("InvalidParameter", "page_no ≥ 1, 1 ≤ page_size ≤ 100")
        found = []
        for reverse in sorted(self.reverse_orders.get(seller, []), key=_reverse_id):
            lines = [
                line
                for line in reverse["reverse_order_lines"]
                if start <= int(line["return_order_line_gmt_modified"]) <= end
            ]
            if lines:
                found.append({**reverse, "reverse_order_lines": lines})
        page = found[(page_no - 1) * size : page_no * size]
        result = {
            "page_no": page_no,
            "page_size": size,
            "total": len(found),
            "success": True,
            "items": page,
        }
        return json_reply(200, {"code": "0", "request_id": "r", "result": result})

    def _products(self, q: dict[str, str], seller: str) -> Reply:
        offset, limit = int(q.get("offset", "0")), int(q.get("limit", "10"))
        self.product_offsets.append(offset)
        if q.get("filter") != "all":
            return self._error("36", 'E036: Invalid status filter (this fake serves "all")')
        if limit > 50:
            return self._error("19", "E019: Invalid Limit")
        if offset > self.max_product_offset:
            return self._error("14", f'E014: "{offset}" Invalid Offset')
        found = self.products.get(seller, [])
        data = {"total_products": len(found), "products": found[offset : offset + limit]}
        return json_reply(200, {"code": "0", "request_id": "r", "data": data})


def _transaction_day(text: str) -> dt.date:
    """``17 May 2016``, as QueryTransactionDetails writes ``transaction_date``."""
    return dt.datetime.strptime(text, "%d %b %Y").date()


def _reverse_id(reverse: dict[str, Any]) -> int:
    return int(reverse["reverse_order_id"])
