"""TikTok Shop Partner API 202309 (platform-formats.md §7): orders, returns, finances,
listings.

Every shop call carries the query parameters ``app_key``, ``timestamp`` (Unix seconds),
``shop_cipher`` and ``sign``, and the access token in the header ``x-tts-access-token``.
``sign`` is hex HMAC-SHA256 with the app secret over ``secret + path + name/value pairs
(sorted by name, without sign and access_token) + body + secret``; the body is the JSON
exactly as sent.

Authorisation: the seller opens ``services.tiktokshop.com/open/authorize`` and comes back
with ``code``; the auth host's ``/api/v2/token/get`` trades it (with app key and secret)
for tokens, ``/api/v2/token/refresh`` refreshes. The token lifetimes
(``access_token_expire_in``) are moments (Unix seconds), not durations. Shop calls need the
shop's ``cipher``, read once from ``/authorization/202309/shops`` after authorising (the
shop named by ``shop_id`` when the grant covers several). A rejected token is answered
with ``code`` 105001 (invalid) or 105002 (expired).

Every listing call pages with an opaque ``page_token`` (``data.next_page_token``, empty
on the last page); the token is the stream's checkpoint. Streams:

* ``orders``: ``Search Orders`` (``POST /order/202309/orders/search``) by ``update_time``
  (``update_time_ge``/``update_time_lt`` in the body), sorted ascending; the ids found are
  read with ``Get Order Detail`` (``GET /order/202309/orders?ids=``, 50 at a time) and
  mapped by the TikTok importer (``tiktok.api``).
* ``returns``: ``Search Returns`` (``POST /return_refund/202309/returns/search``, body
  ``update_time_ge``/``update_time_lt``, ``sort_field=update_time``, at most 50 a page)
  → ``TikTokReturns``: refunds and returned units.
* ``finances``: ``Get Statements`` (``GET /finance/202309/statements`` by
  ``statement_time_ge``/``statement_time_lt``, ``sort_field=statement_time``) and, for each
  statement, ``Get Statement Transactions``
  (``GET /finance/202309/statements/{id}/statement_transactions``,
  ``sort_field=order_create_time``) → ``TikTokStatementTransactions``: fees. TikTok
  serves these transactions to UK and US local sellers only.
* ``listings``: ``Search Products`` (``POST /product/202309/products/search``), every
  product each run (a snapshot, see ``mapping.snapshot_context``) → ``TikTokProducts``.

Field names of returns, statements and products: the 202309 models of TikTok's own
generated Node SDK and the field descriptions of TikTok's OpenAPI toolkit (docs/connectors.md
names them); status semantics marked "assumed" below are our reading, not TikTok's words.

TikTok publishes no per-call limit in the reference; every bucket (10 requests/s per shop
and operation) is an assumption, as for Shopee and Lazada.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import httpx

from lianxing.domain.facts import ListingStatus
from lianxing.ingest.api.base import (
    AuthorisationExpired,
    AuthorisationRevoked,
    Connector,
    Page,
    StreamSpec,
    TokenSet,
    Window,
    expires_in,
    from_unix,
    unix,
    utc_now,
)
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec, json_of
from lianxing.ingest.api.mapping import (
    add_listing,
    listing_status,
    map_payloads,
    snapshot_context,
)
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.marketplace import (
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    envelope_error,
    positive,
)

PAGE_SIZE = 100
RETURNS_PAGE_SIZE = 50  # Search Returns' upper limit
DETAIL_BATCH = 50
TOKEN_ERRORS = frozenset({105001, 105002})  # access token invalid / expired
UNSIGNED = frozenset({"sign", "access_token"})


def tiktok_sign(app_secret: str, path: str, params: Mapping[str, str], body: bytes) -> str:
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in UNSIGNED)
    message = app_secret.encode() + (path + pairs).encode() + body + app_secret.encode()
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


def _moment(value: Any) -> Any:
    """A token lifetime: TikTok sends the Unix second it ends (a duration if small)."""
    if value in (None, ""):
        return None
    number = int(value)
    return from_unix(number) if number > 10**9 else expires_in(number)


# -- payloads → facts ------------------------------------------------------------------------
# Return statuses after which the buyer has the money back (REPLACEMENT_REQUEST_REFUND_SUCCESS:
# a replacement that ran out of stock was refunded instead).
REFUNDED_RETURNS = frozenset(
    {"RETURN_OR_REFUND_REQUEST_COMPLETE", "REPLACEMENT_REQUEST_REFUND_SUCCESS"}
)
# The request ended before any goods went back: a unit counted earlier is withdrawn (0).
WITHDRAWN_RETURNS = frozenset(
    {"RETURN_OR_REFUND_REQUEST_CANCEL", "REFUND_OR_RETURN_REQUEST_REJECT"}
)

# Statement transaction field → fee_type. TikTok writes charges negative; a fee is stored
# as the amount charged (a fee given back is negative), as the Amazon settlement importer
# does. ``shipping_cost_amount`` is the seller's net shipping (label cost less TikTok's
# shipping subsidies and incentives, which are in it).
STATEMENT_FEES: dict[str, str] = {
    "platform_commission_amount": "commission",
    "referral_fee_amount": "referral",
    "transaction_fee_amount": "transaction",
    "refund_administration_fee_amount": "refund_administration",
    "affiliate_commission_amount": "affiliate_commission",
    "affiliate_partner_commission_amount": "affiliate_partner_commission",
    "affiliate_ads_commission_amount": "affiliate_ads_commission",
    "shipping_cost_amount": "shipping",
}
# Adjustment transactions (``type`` other than ORDER) that are fees or give fees back.
# Not here: compensations and reimbursements (money for losses), charge-backs (refunds)
# and GMV_PAYMENT_FOR_ADS (ad spend, counted from the ads data).
FEE_ADJUSTMENTS = frozenset(
    {
        "PLATFORM_PENALTY",
        "SAMPLE_SHIPPING_FEE",
        "SHIPPING_FEE_ADJUSTMENT",
        "PLATFORM_COMMISSION_ADJUSTMENT",
        "FBT_WAREHOUSE_SERVICE_FEE",
    }
)

# Product status (Search Products 202309) → listing status; None: not a listing.
PRODUCT_STATUS: dict[str, ListingStatus | None] = {
    "ACTIVATE": ListingStatus.ACTIVE,
    "SELLER_DEACTIVATED": ListingStatus.INACTIVE,
    # Listed but not sellable: under or failed review, taken down or frozen by TikTok.
    "PENDING": ListingStatus.SUPPRESSED,
    "FAILED": ListingStatus.SUPPRESSED,
    "PLATFORM_DEACTIVATED": ListingStatus.SUPPRESSED,
    "FREEZE": ListingStatus.SUPPRESSED,
    "DRAFT": None,
    "DELETED": None,
}


class TikTokPayloads(ApiPayloadFormat):
    """What the TikTok 202309 payload formats share: the envelope and its ``data``."""

    platform = "tiktok"
    envelope_keys = frozenset({"code", "message", "data"})
    data_keys: ClassVar[tuple[str, ...]]

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if envelope_error(node, error_keys=("code",), ok=(0, "0")):
            return
        data = node.child("data")
        if data is None or not data.has(*self.data_keys):
            node.problem("data", None, f"a 'data' object with {self.data_keys[0]!r}")
            return
        self.read_data(data, facts, counter)

    def read_data(self, data: Node, facts: FactRows, counter: OrderCounter) -> None:
        """Read the envelope's ``data`` (present, the call succeeded): each record of
        ``data_keys[0]``."""
        for record in data.children(self.data_keys[0]):
            self.read_record(record.at(counter.next()), facts)

    @abstractmethod
    def read_record(self, record: Node, facts: FactRows) -> None:
        """Read one record of the page into ``facts``."""


class TikTokReturns(TikTokPayloads):
    """Search Returns → ``refunds`` (one per refunded return, its items' amount) and
    ``returns`` (units sent back, per SKU)."""

    id = "tiktok.api_returns"
    name_zh = "TikTok Shop 退货退款 API 数据 (Search Returns 202309)"
    name_en = "TikTok Shop Search Returns responses (202309)"
    tables = ("refunds", "returns")
    markers = frozenset({"data.return_orders"})
    data_keys = ("return_orders",)

    def read_record(self, ret: Node, facts: FactRows) -> None:
        return_id = ret.text("return_id", required=True)
        order_id = ret.text("order_id", required=True)
        created = ret.instant("create_time", required=True)
        if return_id is None or order_id is None or created is None:
            return
        status = (ret.text("return_status") or "").upper()
        reason = ret.text("return_reason", "return_reason_text")
        lines = ret.children("return_line_items")
        skus = {line.text("seller_sku") for line in lines}
        if status in REFUNDED_RETURNS:
            money = ret.child("refund_amount")
            # The items' refund (assumed to be what refund_rate compares with GMV, which has
            # no shipping); the total when the subtotal is missing.
            amount = (
                money.money("refund_subtotal", "refund_total", required=True) if money else None
            )
            if money is None:
                ret.problem("refund_amount", None, "the refund's amounts")
            if amount is not None:
                facts.add(
                    "refunds",
                    refund_id=return_id,
                    order_id=order_id,
                    sku=next(iter(skus)) if len(skus) == 1 else None,
                    refund_ts=ret.instant("update_time") or created,
                    amount=positive(amount),
                    currency=(money.text("currency") if money else None) or ret.ctx.currency,
                    reason=reason,
                )
        if (ret.text("return_type") or "").upper() != "RETURN_AND_REFUND":
            return  # a refund without return, or a replacement: no goods come back
        # 202309 return lines are single units (like order lines): count them per SKU.
        units = Counter(line.text("sku_id", required=True) for line in lines)
        seller_sku = {line.text("sku_id"): line.text("seller_sku") for line in lines}
        for sku_id, count in units.items():
            if sku_id is None:
                continue
            facts.add(
                "returns",
                return_id=f"{return_id}:{sku_id}",
                order_id=order_id,
                sku=seller_sku.get(sku_id),
                return_ts=created,
                quantity=0 if status in WITHDRAWN_RETURNS else count,
                reason=reason,
                disposition=status.lower() or None,
            )


class TikTokStatementTransactions(TikTokPayloads):
    """Get Statement Transactions → ``fees`` posted at the statement's time, keyed by the
    transaction id (TikTok's unique key of a transaction) and fee type."""

    id = "tiktok.api_statement_transactions"
    name_zh = "TikTok Shop 结算明细 API 数据 (Statement Transactions 202309)"
    name_en = "TikTok Shop statement transactions responses (202309)"
    tables = ("fees",)
    markers = frozenset({"data.statement_transactions"})
    data_keys = ("statement_transactions",)

    def begin(self, facts: FactRows) -> None:
        self._posted: dt.datetime | None = None  # the statement's time, for its transactions
        self._currency = ""

    def read_data(self, data: Node, facts: FactRows, counter: OrderCounter) -> None:
        self._posted = data.instant("statement_time", required=True)
        self._currency = data.text("currency") or data.ctx.currency
        if self._posted is not None:
            super().read_data(data, facts, counter)

    def read_record(self, tx: Node, facts: FactRows) -> None:
        tx_id = tx.text("id", required=True)
        if tx_id is None or self._posted is None:
            return
        kind = (tx.text("type") or "ORDER").upper()
        order_id = next(
            (
                v
                for v in (tx.text("order_id"), tx.text("adjustment_order_id"))
                if v not in (None, "0")
            ),
            None,
        )
        money = tx.text("currency") or self._currency
        if kind == "ORDER":
            charged = [(fee_type, tx.money(field)) for field, fee_type in STATEMENT_FEES.items()]
        elif kind in FEE_ADJUSTMENTS:
            charged = [(kind.lower(), tx.money("adjustment_amount"))]
        else:
            return
        for fee_type, amount in charged:
            if amount:
                facts.add(
                    "fees",
                    fee_id=f"{tx_id}:{fee_type}",
                    posted_ts=self._posted,
                    order_id=order_id,
                    fee_type=fee_type,
                    amount=-amount,
                    currency=money,
                )


class TikTokProducts(TikTokPayloads):
    """Search Products → ``listings``: one row per SKU on the snapshot day (``period_to``).

    ``sku`` is the seller SKU (the SKU id when the seller gave none), ``platform_item_id``
    the SKU id (as on order lines), the price ``sale_price`` (what the buyer pays; else the
    ``tax_exclusive_price`` the seller entered), the stock the sum over warehouses."""

    id = "tiktok.api_products"
    name_zh = "TikTok Shop 商品 API 数据 (Search Products 202309)"
    name_en = "TikTok Shop Search Products responses (202309)"
    tables = ("listings",)
    markers = frozenset({"data.products.skus"})
    data_keys = ("products", "total_count")

    def read_record(self, product: Node, facts: FactRows) -> None:
        product_id = product.text("id", required=True)
        if product_id is None:
            return
        for sku in product.children("skus"):
            sku_id = sku.text("id", required=True)
            stock = sum(i.integer("quantity") or 0 for i in sku.children("inventory"))
            status = listing_status(
                product, PRODUCT_STATUS, "status", stock=stock if sku.has("inventory") else None
            )
            if sku_id is None or status is None:
                continue
            add_listing(
                facts,
                product,
                sku.child("price"),
                sku=sku.text("seller_sku") or sku_id,
                platform_item_id=sku_id,
                status=status,
                title="title",
                prices=("sale_price", "tax_exclusive_price"),
            )


RETURNS_FORMAT = TikTokReturns()
STATEMENT_FORMAT = TikTokStatementTransactions()
PRODUCTS_FORMAT = TikTokProducts()


def _by_update_time(path: str, page_size: int, window: Window) -> RequestSpec:
    """A search (Search Orders, Search Returns) for records updated in ``window``, oldest
    first; the body is signed exactly as sent."""
    body = {"update_time_ge": unix(window.start), "update_time_lt": unix(window.end)}
    return RequestSpec(
        "POST",
        path,
        {"page_size": str(page_size), "sort_field": "update_time", "sort_order": "ASC"},
        content=json.dumps(body, separators=(",", ":")).encode(),
    )


class TikTokShop(Connector):
    id = "tiktok"
    platform = "tiktok"
    name_zh = "TikTok Shop 开放平台"
    name_en = "TikTok Shop Partner API (202309)"
    default_api_base = "https://open-api.tiktokglobalshop.com"
    default_auth_base = "https://auth.tiktok-shops.com"
    authorise_base: ClassVar[str] = "https://services.tiktokshop.com"
    account_key = "shop_id"
    streams = (
        StreamSpec("orders", ("orders", "order_lines")),
        # Return statuses keep moving for weeks; a status change updates update_time.
        StreamSpec("returns", ("refunds", "returns"), overlap=dt.timedelta(hours=6)),
        # Statements are made daily at 00:00 UTC for the day before.
        StreamSpec("finances", ("fees",), overlap=dt.timedelta(days=1)),
        StreamSpec("listings", ("listings",), overlap=dt.timedelta(0)),
    )
    # Assumed (TikTok publishes none): 10 requests/s per shop for each operation.
    limits: ClassVar[Mapping[str, Limit]] = {
        operation: Limit(10.0, 10)
        for operation in (
            "*",
            "SearchOrders",
            "GetOrderDetail",
            "SearchReturns",
            "GetStatements",
            "GetStatementTransactions",
            "SearchProducts",
        )
    }

    # -- authorisation ---------------------------------------------------------------
    def authorisation_url(self, *, redirect_uri: str, state: str) -> str:
        # The redirect is registered with the app in Partner Center; it is not a parameter.
        service = self.credentials.account.get("service_id", self.credentials.app_key)
        query = urllib.parse.urlencode({"service_id": service, "state": state})
        return f"{self.authorise_base}/open/authorize?{query}"

    def _token_call(self, path: str, params: dict[str, str]) -> TokenSet:
        query = {
            "app_key": self.credentials.app_key,
            "app_secret": self.credentials.app_secret,
            **params,
        }
        response = self.auth_http.request(lambda: RequestSpec("GET", path, query))
        body = json_of(response)
        data = body.get("data") or {}
        if body.get("code") != 0 or "access_token" not in data:
            message = (
                f"tiktok: {body.get('code')}: {body.get('message')} "
                "/ TikTok 授权失效，请重新授权店铺"
            )
            ends = self.credentials.refresh_expires_at
            if ends is not None and ends <= utc_now():
                raise AuthorisationExpired(message)
            raise AuthorisationRevoked(message)
        account = {
            k: data[k] for k in ("open_id", "seller_name", "seller_base_region") if data.get(k)
        }
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            access_expires_at=_moment(data.get("access_token_expire_in")),
            refresh_expires_at=_moment(data.get("refresh_token_expire_in")),
            account=account,
        )

    def exchange_code(self, code: str, *, redirect_uri: str, params: Mapping[str, str]) -> TokenSet:
        tokens = self._token_call(
            "/api/v2/token/get", {"auth_code": code, "grant_type": "authorized_code"}
        )
        self.credentials.apply(tokens)
        tokens.account.update(self._shop())
        return tokens

    def refresh_tokens(self) -> TokenSet:
        assert self.credentials.refresh_token is not None
        tokens = self._token_call(
            "/api/v2/token/refresh",
            {"refresh_token": self.credentials.refresh_token, "grant_type": "refresh_token"},
        )
        if "shop_cipher" not in self.credentials.account:  # connected with a refresh token
            self.credentials.apply(tokens)
            tokens.account.update(self._shop())
        return tokens

    def _shop(self) -> dict[str, Any]:
        """The authorised shop's id, name, region and cipher."""
        data = self.call("GetAuthorizedShops", RequestSpec("GET", "/authorization/202309/shops"))
        shops = (data.get("data") or {}).get("shops") or []
        wanted = self.credentials.account.get("shop_id")
        found = [s for s in shops if wanted is None or str(s.get("id")) == str(wanted)]
        if len(found) != 1:
            known = ", ".join(f"{s.get('id')} ({s.get('name')})" for s in shops) or "none"
            raise ApiError(
                f"tiktok: the grant covers shops {known}; "
                + ("none is" if wanted else "name one with")
                + f" --account shop_id={wanted or '...'} / 请指定店铺 shop_id"
            )
        shop = found[0]
        return {
            "shop_id": str(shop["id"]),
            "shop_cipher": shop["cipher"],
            "shop_name": shop.get("name"),
            "region": shop.get("region"),
        }

    # -- signing ---------------------------------------------------------------------
    def sign(self, spec: RequestSpec) -> RequestSpec:
        params = dict(spec.params.items()) if isinstance(spec.params, dict) else dict(spec.params)
        params["app_key"] = self.credentials.app_key
        params["timestamp"] = str(int(time.time()))
        cipher = self.credentials.account.get("shop_cipher")
        if cipher and not spec.path.startswith("/authorization/"):
            params["shop_cipher"] = str(cipher)
        params["sign"] = tiktok_sign(
            self.credentials.app_secret, spec.path, params, spec.content or b""
        )
        headers = {
            **spec.headers,
            "x-tts-access-token": self.credentials.access_token or "",
            "content-type": "application/json",
        }
        return RequestSpec(spec.method, spec.path, list(params.items()), headers, spec.content)

    def token_rejected(self, response: httpx.Response) -> bool:
        try:
            data = response.json()
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("code") in TOKEN_ERRORS

    def check_response(self, response: httpx.Response, operation: str) -> Any:
        data = json_of(response)
        if response.status_code >= 400 or data.get("code") != 0:
            raise ApiError(
                f"tiktok {operation}: HTTP {response.status_code} "
                f"{data.get('code')}: {data.get('message')}"
            )
        return data

    # -- reading ----------------------------------------------------------------------
    def read_stream(
        self,
        stream: str,
        window: Window,
        position: Mapping[str, Any] | None,
        ctx: ImportContext,
    ) -> Iterator[Page]:
        read = {
            "orders": self._orders,
            "returns": self._returns,
            "finances": self._finances,
            "listings": self._listings,
        }[self.stream(stream).name]
        if "shop_cipher" not in self.credentials.account:
            raise ApiError("tiktok: the connection has no shop_cipher / 缺少 shop_cipher")
        yield from read(window, position or {}, ctx)

    def _pages(
        self, operation: str, spec: RequestSpec, token: str
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
        """Pages of a ``page_token`` listing from ``token`` on: (response, its ``data``,
        next token), the next token empty on the last page."""
        while True:
            query = dict(spec.params)
            if token:
                query["page_token"] = token
            found = self.call(
                operation, RequestSpec(spec.method, spec.path, query, content=spec.content)
            )
            data = found.get("data") or {}
            token = str(data.get("next_page_token") or "")
            yield found, data, token
            if not token:
                return

    def _mapped(
        self,
        operation: str,
        spec: RequestSpec,
        fmt: ApiPayloadFormat,
        position: Mapping[str, Any],
        ctx: ImportContext,
    ) -> Iterator[Page]:
        """The pages of a listing whose responses ``fmt`` maps as they are."""
        start = str(position.get("page_token", ""))
        for response, _, token in self._pages(operation, spec, start):
            chunks, rows = map_payloads(fmt, [response], operation, ctx)
            yield Page(chunks, {"page_token": token} if token else None, rows)

    def _orders(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        search = _by_update_time("/order/202309/orders/search", PAGE_SIZE, window)
        start = str(position.get("page_token", ""))
        for _, data, token in self._pages("SearchOrders", search, start):
            ids = [str(o["id"]) for o in data.get("orders") or []]
            details = [
                self.call(
                    "GetOrderDetail",
                    RequestSpec(
                        "GET", "/order/202309/orders", {"ids": ",".join(ids[n : n + DETAIL_BATCH])}
                    ),
                )
                for n in range(0, len(ids), DETAIL_BATCH)
            ]
            chunks, _ = (
                map_payloads("tiktok.api", details, "GetOrderDetail", ctx) if details else ([], 0)
            )
            yield Page(chunks, {"page_token": token} if token else None, len(ids))

    def _returns(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        search = _by_update_time("/return_refund/202309/returns/search", RETURNS_PAGE_SIZE, window)
        yield from self._mapped("SearchReturns", search, RETURNS_FORMAT, position, ctx)

    def _finances(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        """Statements of the window, then each one's transactions. The position names the
        statements page (by the token that fetched it), the statement on it and the
        transactions page within that statement."""
        statements = RequestSpec(
            "GET",
            "/finance/202309/statements",
            {
                "statement_time_ge": str(unix(window.start)),
                "statement_time_lt": str(unix(window.end)),
                "sort_field": "statement_time",
                "sort_order": "ASC",
                "page_size": str(PAGE_SIZE),
            },
        )
        list_token = str(position.get("list_token", ""))
        first, resume = int(position.get("index", 0)), str(position.get("page_token", ""))
        for _, listed, next_list in self._pages("GetStatements", statements, list_token):
            found = [str(s["id"]) for s in listed.get("statements") or []]
            if not found[first:]:
                yield Page([], {"list_token": next_list} if next_list else None, 0)
            for index in range(first, len(found)):
                transactions = RequestSpec(
                    "GET",
                    f"/finance/202309/statements/{found[index]}/statement_transactions",
                    {
                        "sort_field": "order_create_time",
                        "sort_order": "ASC",
                        "page_size": str(PAGE_SIZE),
                    },
                )
                for response, _, token in self._pages(
                    "GetStatementTransactions", transactions, resume
                ):
                    chunks, rows = map_payloads(
                        STATEMENT_FORMAT, [response], "GetStatementTransactions", ctx
                    )
                    if token:
                        here: dict[str, Any] | None = {
                            "list_token": list_token,
                            "index": index,
                            "page_token": token,
                        }
                    elif index + 1 < len(found):
                        here = {"list_token": list_token, "index": index + 1}
                    else:
                        here = {"list_token": next_list} if next_list else None
                    yield Page(chunks, here, rows)
                resume = ""
            list_token, first = next_list, 0

    def _listings(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        """Every product (no time filter: a snapshot), dated the store's local day."""
        snapshot = snapshot_context(ctx, window)
        search = RequestSpec(
            "POST", "/product/202309/products/search", {"page_size": str(PAGE_SIZE)}, content=b"{}"
        )
        yield from self._mapped("SearchProducts", search, PRODUCTS_FORMAT, position, snapshot)


CONNECTOR = TikTokShop
