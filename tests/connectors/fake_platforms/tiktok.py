"""Fake TikTok Shop Partner API 202309: token get/refresh, authorized shops, Search Orders,
Get Order Detail, Search Returns, Get Statements, Get Statement Transactions, Search
Products.

Shop calls are checked as TikTok does: ``app_key`` known, ``timestamp`` within 5 minutes,
``sign`` = hex HMAC-SHA256(secret, secret + path + sorted name/value pairs without
``sign``/``access_token`` + raw body + secret), ``x-tts-access-token`` live, and
``shop_cipher`` the shop's. Every listing pages by an opaque ``page_token`` and refuses a
``page_size`` above TikTok's (100; Search Returns 50) and a missing or unsupported
``sort_field``. Searches filter by ``update_time_ge`` ≤ update_time < ``update_time_lt``
(orders, returns; body), statements by ``statement_time_ge``/``_lt`` (query). A dead
token is answered HTTP 401 ``code`` 105002.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fake_platforms import FakePlatform, Reply, Request, json_reply

STATEMENTS_PATH = "/finance/202309/statements"
OPERATIONS = {
    "/order/202309/orders/search": "SearchOrders",
    "/order/202309/orders": "GetOrderDetail",
    "/return_refund/202309/returns/search": "SearchReturns",
    STATEMENTS_PATH: "GetStatements",
    "/product/202309/products/search": "SearchProducts",
}


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


DAY = 86400

# (order number, return_type, return_status, returned line items by index)
RETURN_CASES: tuple[tuple[int, str, str, tuple[int, ...]], ...] = (
    (1, "RETURN_AND_REFUND", "RETURN_OR_REFUND_REQUEST_COMPLETE", (0, 1)),
    (6, "REFUND", "RETURN_OR_REFUND_REQUEST_COMPLETE", (0,)),
    (11, "RETURN_AND_REFUND", "AWAITING_BUYER_SHIP", (1,)),
    (16, "RETURN_AND_REFUND", "RETURN_OR_REFUND_REQUEST_CANCEL", (0,)),
    (21, "REFUND", "REFUND_OR_RETURN_REQUEST_REJECT", (1,)),
)


def make_returns(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search Returns records for ``RETURN_CASES`` of ``make_orders`` orders: opened 3 days
    after the order, last updated a day later; the items' refund is the lines' sale price,
    the order's 3.00 shipping is refunded too when every line goes back."""
    found = []
    for number, kind, status, picked in RETURN_CASES:
        order = orders[number]
        lines = [order["line_items"][i] for i in picked]
        subtotal = sum(Decimal(line["sale_price"]) for line in lines)
        shipping = Decimal("3.00") if len(lines) == len(order["line_items"]) else Decimal(0)
        return_id = f"4035{number:06d}"
        created = order["create_time"] + 3 * DAY
        found.append(
            {
                "return_id": return_id,
                "order_id": order["id"],
                "return_type": kind,
                "return_status": status,
                "role": "BUYER",
                "return_reason": "ecom_order_delivered_refund_and_return_reason_wrong_item",
                "return_reason_text": "Wrong item",
                "create_time": created,
                "update_time": created + DAY,
                "refund_amount": {
                    "currency": "USD",
                    "refund_subtotal": f"{subtotal:.2f}",
                    "refund_shipping_fee": f"{shipping:.2f}",
                    "refund_tax": "0.00",
                    "refund_total": f"{subtotal + shipping:.2f}",
                },
                "return_line_items": [
                    {
                        "return_line_item_id": f"{return_id}{k}",
                        "order_line_item_id": line["id"],
                        "sku_id": line["sku_id"],
                        "seller_sku": line["seller_sku"],
                        "product_name": line["product_name"],
                        "refund_amount": {
                            "currency": "USD",
                            "refund_subtotal": line["sale_price"],
                            "refund_total": line["sale_price"],
                        },
                    }
                    for k, line in enumerate(lines)
                ],
            }
        )
    return found


def make_statements(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Daily statements (00:00 UTC) settling each non-cancelled order 7 days after it was
    placed: one ORDER transaction each (referral -2.84, transaction fee -1.06, shipping
    -4.20, platform commission 0 as in the US; affiliate commission -3.55 on even-numbered
    orders). The first statement also has three adjustments: a PLATFORM_PENALTY of -5.00
    on order 2, a GMV_PAYMENT_FOR_ADS of -20.00 and a LOGISTICS_REIMBURSEMENT of 7.00."""
    by_day: dict[int, list[dict[str, Any]]] = {}
    for number, order in enumerate(orders):
        if order["status"] == "CANCELLED":
            continue
        day = (order["create_time"] + 7 * DAY) // DAY * DAY + DAY  # the next 00:00 UTC
        by_day.setdefault(day, []).append(
            {
                "id": f"T{number:04d}",
                "type": "ORDER",
                "order_id": order["id"],
                "order_create_time": order["create_time"],
                "currency": "USD",
                "gross_sales_amount": "35.50",
                "net_sales_amount": "33.50",
                "platform_commission_amount": "0",
                "referral_fee_amount": "-2.84",
                "transaction_fee_amount": "-1.06",
                "affiliate_commission_amount": "-3.55" if number % 2 == 0 else "0",
                "shipping_cost_amount": "-4.20",
                "fee_amount": "-7.45" if number % 2 == 0 else "-3.90",
                "settlement_amount": "21.85" if number % 2 == 0 else "25.40",
            }
        )
    statements = []
    for index, (day, transactions) in enumerate(sorted(by_day.items())):
        if index == 0:
            adjustments = [
                ("A0001", "PLATFORM_PENALTY", orders[2]["id"], "-5.00"),
                ("A0002", "GMV_PAYMENT_FOR_ADS", "0", "-20.00"),
                ("A0003", "LOGISTICS_REIMBURSEMENT", "0", "7.00"),
            ]
            transactions += [
                {
                    "id": tx_id,
                    "type": kind,
                    "order_id": "0",
                    "adjustment_id": tx_id,
                    "adjustment_order_id": order_id,
                    "order_create_time": day - DAY,
                    "currency": "USD",
                    "adjustment_amount": amount,
                    "settlement_amount": amount,
                }
                for tx_id, kind, order_id, amount in adjustments
            ]
        statements.append(
            {
                "id": f"S{index + 1}",
                "statement_time": day,
                "currency": "USD",
                "payment_status": "PAID",
                "payment_id": f"P{index + 1}",
                "transactions": transactions,
            }
        )
    return statements


def _sku(sku_id: str, seller_sku: str, price: str, stock: list[int]) -> dict[str, Any]:
    return {
        "id": sku_id,
        "seller_sku": seller_sku,
        "price": {"currency": "USD", "sale_price": price, "tax_exclusive_price": price},
        "inventory": [{"warehouse_id": f"W{n}", "quantity": q} for n, q in enumerate(stock)],
    }


def make_products(created: int) -> list[dict[str, Any]]:
    """Search Products records: TT-A active (stock 7 + 3), TT-B out of stock and TT-B2
    in stock on one active product, TT-C seller-deactivated, a platform-deactivated SKU
    without seller SKU, a draft, a frozen product."""
    rows = [
        ("1729", "ACTIVATE", "product A", [_sku("1729001", "TT-A", "20.00", [7, 3])]),
        (
            "1730",
            "ACTIVATE",
            "product B",
            [_sku("1730001", "TT-B", "15.50", [0]), _sku("1730002", "TT-B2", "16.50", [2])],
        ),
        ("1731", "SELLER_DEACTIVATED", "product C", [_sku("1731001", "TT-C", "9.99", [4])]),
        ("1732", "PLATFORM_DEACTIVATED", "product D", [_sku("1732001", "", "5.00", [1])]),
        ("1733", "DRAFT", "product E", [_sku("1733001", "TT-E", "1.00", [0])]),
        ("1734", "FREEZE", "product F", [_sku("1734001", "TT-F", "12.00", [1])]),
    ]
    return [
        {
            "id": product_id,
            "title": title,
            "status": status,
            "create_time": created + n * DAY,
            "update_time": created + n * DAY + 60,
            "sales_regions": ["US"],
            "skus": skus,
        }
        for n, (product_id, status, title, skus) in enumerate(rows)
    ]


@dataclass
class FakeTikTok(FakePlatform):
    app_key: str = "6abcdefg"
    app_secret: str = "tiktok-app-secret"
    page_size: int = 100
    page_sizes: dict[str, int] = field(default_factory=dict)  # per listing key, else page_size
    shops: list[dict[str, str]] = field(default_factory=list)  # id, name, region, cipher
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop id → orders
    returns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop id → returns
    # shop id → statements, each with its "transactions" (served by the transactions call)
    statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    products: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # shop id → products
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
        operation = OPERATIONS.get(request.path, request.path)
        if request.path.startswith(STATEMENTS_PATH + "/"):
            operation = "GetStatementTransactions"
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
        body = json.loads(request.body) if request.body else {}
        if operation == "SearchReturns":
            return self._search_returns(q, body, self.returns.get(shop["id"], []))
        if operation == "GetStatements":
            return self._statements(q, self.statements.get(shop["id"], []))
        if operation == "GetStatementTransactions":
            statement_id = request.path.removeprefix(STATEMENTS_PATH + "/").split("/")[0]
            return self._transactions(q, self.statements.get(shop["id"], []), statement_id)
        if operation == "SearchProducts":
            return self._search_products(q, body, self.products.get(shop["id"], []))
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

    # -- returns, finance, products --------------------------------------------------------
    def _page(self, q: dict[str, str], rows: list[dict[str, Any]], cap: int, key: str) -> Reply:
        """One page of ``rows`` under ``key``, with TikTok's page_size cap and page_token."""
        size = int(q.get("page_size") or 0)
        if not 1 <= size <= cap:
            return self._error(400, 36009003, f"page_size must be within [1, {cap}]")
        size = min(size, self.page_sizes.get(key, self.page_size))
        token = q.get("page_token", "")
        offset = int(base64.b64decode(token)) if token else 0
        more = offset + size < len(rows)
        data = {
            key: rows[offset : offset + size],
            "next_page_token": base64.b64encode(str(offset + size).encode()).decode()
            if more
            else "",
            "total_count": len(rows),
        }
        return json_reply(200, {"code": 0, "message": "Success", "data": data})

    def _search_returns(
        self, q: dict[str, str], body: dict[str, Any], returns: list[dict[str, Any]]
    ) -> Reply:
        if q.get("sort_field", "create_time") not in ("create_time", "update_time"):
            return self._error(400, 36009003, "sort_field: create_time or update_time")
        field = q.get("sort_field", "create_time")
        found = sorted(
            (
                r
                for r in returns
                if body.get("update_time_ge", 0)
                <= r["update_time"]
                < body.get("update_time_lt", 2**40)
            ),
            key=lambda r: (r[field], r["return_id"]),
        )
        return self._page(q, found, 50, "return_orders")

    def _statements(self, q: dict[str, str], statements: list[dict[str, Any]]) -> Reply:
        if q.get("sort_field") != "statement_time":
            return self._error(400, 36009003, "sort_field: only statement_time")
        start, end = int(q.get("statement_time_ge") or 0), int(q.get("statement_time_lt") or 2**40)
        found = [
            {k: v for k, v in s.items() if k != "transactions"}
            for s in sorted(statements, key=lambda s: s["statement_time"])
            if start <= s["statement_time"] < end
        ]
        return self._page(q, found, 100, "statements")

    def _transactions(
        self, q: dict[str, str], statements: list[dict[str, Any]], statement_id: str
    ) -> Reply:
        if q.get("sort_field") != "order_create_time":
            return self._error(400, 36009003, "sort_field: only order_create_time")
        statement = next((s for s in statements if s["id"] == statement_id), None)
        if statement is None:
            return self._error(404, 36009004, f"no statement {statement_id}")
        reply = self._page(q, statement["transactions"], 100, "statement_transactions")
        # The statement's own summary comes with every page of its transactions.
        status, headers, content = reply
        envelope = json.loads(content)
        if status == 200:
            envelope["data"].update(
                statement_id=statement_id,
                statement_time=statement["statement_time"],
                currency=statement["currency"],
            )
        return json_reply(status, envelope, headers)

    def _search_products(
        self, q: dict[str, str], body: dict[str, Any], products: list[dict[str, Any]]
    ) -> Reply:
        wanted = body.get("status", "ALL")
        found = [p for p in products if wanted in ("ALL", p["status"])]
        return self._page(q, found, 100, "products")
