"""Lazada Open Platform (platform-formats.md §6): orders, finances, returns, listings.

Every call carries ``app_key``, ``timestamp`` (milliseconds), ``sign_method=sha256`` and
``sign``; seller calls add ``access_token``. ``sign`` is UPPER-case hex HMAC-SHA256 with
the app secret over the API path followed by every other parameter sorted by name, each
written as name then value (``/orders/getaccess_tokenX app_keyY ...`` without spaces).

Authorisation: the seller opens ``auth.lazada.com/oauth/authorize`` and is sent back to
the redirect URL with ``code``; ``/auth/token/create`` trades it for tokens and
``/auth/token/refresh`` refreshes (both on the auth gateway, signed like any call). The
token answer names the seller's ``country`` and ``country_user_info[]`` (``seller_id``).
A rejected token is answered ``code = IllegalAccessToken``.

API hosts are per venture (``api.lazada.com.my/rest`` ...): taken from the platform
catalog's ``api_host`` for the store's site unless the connection names one.

Streams (every list call pages by ``offset``/``limit`` or ``page_no``/``page_size``; the
position saved after each page is that offset or page):

* ``orders``: ``GetOrders`` (``/orders/get``) by ``update_after``/``update_before``,
  sorted by ``updated_at`` ascending, paged by ``offset``/``limit`` (100). Lazada refuses
  an ``offset`` beyond 5000, so past it the query restarts at the last order's
  ``updated_at`` with offset 0 (the orders at that instant are read twice and merge by
  key). Each page's items come from ``GetMultipleOrderItems`` (``/orders/items/get``, 50
  order ids a call); orders and items are mapped together by the Lazada importer
  (``lazada.api``), which takes the order's currency and fulfilment channel from its items.
* ``finances``: ``QueryTransactionDetails`` (``/finance/transaction/details/get``) by
  ``start_time``/``end_time``, calendar days in the venture's time (both included; at most
  180 days a query, so windows are cut into 90-day pieces), ``limit`` ≤ 500 → fees and
  refunds (``lazada_formats.LazadaTransactions``). The call gives no total: a short page
  is the last. Postings are re-read for 3 days (the overlap), as they arrive late.
* ``returns``: ``GetReverseOrdersForSeller`` (``/reverse/getreverseordersforseller``) by
  ``ReverseOrderLineModifiedTimeRange{Start,End}`` (ms), ``page_no``/``page_size`` against
  ``result.total`` → returns and refunds (``lazada_formats.LazadaReverseOrders``).
* ``listings``: ``GetProducts`` (``/products/get``, ``filter=all``, ``limit`` ≤ 50) → one
  listing per seller SKU on the snapshot date, the store's local day when it is taken
  (``mapping.snapshot_context``; ``lazada_formats.LazadaProducts``). Every run reads the
  whole catalogue, not ``update_after``: a snapshot holds every listing, or "live SKUs"
  would count only the changed ones. GetProducts refuses an ``offset`` beyond 10000: a
  larger catalogue (``total_products`` on the first page) fails before anything is
  written, rather than leaving a partial snapshot.

Lazada publishes no per-call limit in the reference; the bucket (10 requests/s per
seller, every call) is an assumption, as for Shopee.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import httpx

from lianxing.ingest.api.base import (
    AuthorisationExpired,
    AuthorisationRevoked,
    Connector,
    Credentials,
    Page,
    StreamSpec,
    TokenListener,
    TokenSet,
    Window,
    expires_in,
    slices,
    utc_now,
)
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec, json_of
from lianxing.ingest.api.lazada_formats import PRODUCTS, REVERSE_ORDERS, TRANSACTIONS
from lianxing.ingest.api.mapping import TICK, local_day, map_payloads, snapshot_context
from lianxing.ingest.files.base import FactChunk, ImportContext, ReportFormat
from lianxing.platforms.catalog import load_catalog

PAGE_SIZE = 100
ITEMS_BATCH = 50
FINANCE_SPAN = dt.timedelta(days=90)  # QueryTransactionDetails refuses more than 180 days
TOKEN_ERRORS = frozenset({"IllegalAccessToken", "MissingAccessToken"})


def lazada_sign(app_secret: str, api_path: str, params: Mapping[str, str]) -> str:
    message = api_path + "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hmac.new(app_secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def lazada_time(moment: dt.datetime) -> str:
    """A naive-UTC moment as Lazada's ISO 8601 with offset (``...T16:00:00+00:00``)."""
    return moment.replace(microsecond=0, tzinfo=dt.UTC).isoformat()


def parse_lazada_time(text: str) -> dt.datetime:
    """``2024-03-01 10:15:22 +0800`` (or ISO 8601) → naive UTC."""
    text = text.strip()
    try:
        moment = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ApiError(f"lazada: updated_at {text!r} has no UTC offset")
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _params(spec: RequestSpec) -> dict[str, str]:
    return dict(spec.params.items()) if isinstance(spec.params, dict) else dict(spec.params)


class Lazada(Connector):
    id = "lazada"
    platform = "lazada"
    name_zh = "Lazada 开放平台"
    name_en = "Lazada Open Platform"
    default_api_base = "https://api.lazada.sg/rest"
    default_auth_base = "https://auth.lazada.com/rest"
    streams = (
        StreamSpec("orders", ("orders", "order_lines")),
        StreamSpec("finances", ("fees", "refunds"), overlap=dt.timedelta(days=3)),
        StreamSpec("returns", ("returns", "refunds"), overlap=dt.timedelta(hours=6)),
        StreamSpec("listings", ("listings",), overlap=dt.timedelta(0)),
    )
    limits: ClassVar[Mapping[str, Limit]] = {"*": Limit(10.0, 10)}
    max_offset: ClassVar[int] = 5000  # GetOrders refuses a larger offset
    max_product_offset: ClassVar[int] = 10000  # GetProducts refuses a larger offset
    # Rows asked for per call: the documented maxima (reverse orders: none documented).
    page_limits: ClassVar[Mapping[str, int]] = {"finances": 500, "returns": 50, "listings": 50}

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_base: str | None = None,
        auth_base: str | None = None,
        on_tokens: TokenListener | None = None,
        limit_scale: float = 1.0,
        http_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            credentials,
            api_base=api_base or self._venture_base(credentials),
            auth_base=auth_base,
            on_tokens=on_tokens,
            limit_scale=limit_scale,
            http_options=http_options,
        )

    @classmethod
    def _venture_base(cls, credentials: Credentials) -> str | None:
        """The REST gateway of the store's venture (site), from the platform catalog."""
        site = credentials.account.get("site") or credentials.account.get("country")
        if not site:
            return None
        try:
            host = load_catalog().platform("lazada").site(str(site)).api_host
        except LookupError:
            return None
        return f"https://{host}/rest" if host else None

    # -- authorisation ---------------------------------------------------------------
    def authorisation_url(self, *, redirect_uri: str, state: str) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "force_auth": "true",
                "redirect_uri": redirect_uri,
                "client_id": self.credentials.app_key,
                "state": state,
            }
        )
        return f"{self.auth_base.removesuffix('/rest')}/oauth/authorize?{query}"

    def _system_params(self) -> dict[str, str]:
        return {
            "app_key": self.credentials.app_key,
            "timestamp": str(int(time.time() * 1000)),
            "sign_method": "sha256",
        }

    def _signed(self, path: str, params: Mapping[str, str]) -> list[tuple[str, str]]:
        full = {**params, **self._system_params()}
        full["sign"] = lazada_sign(self.credentials.app_secret, path, full)
        return list(full.items())

    def _token_call(self, path: str, params: dict[str, str]) -> TokenSet:
        response = self.auth_http.request(
            lambda: RequestSpec("POST", path, self._signed(path, params))
        )
        data = json_of(response)
        if str(data.get("code", "0")) != "0" or "access_token" not in data:
            code = str(data.get("code") or "")
            message = f"lazada: {code}: {data.get('message')} / Lazada 授权失效，请重新授权店铺"
            # Lazada answers IllegalRefreshToken both when it ran out and when the grant
            # was withdrawn: the refresh token's own lifetime tells them apart.
            ends = self.credentials.refresh_expires_at
            if ends is not None and ends <= utc_now():
                raise AuthorisationExpired(message)
            raise AuthorisationRevoked(message)
        account: dict[str, Any] = {}
        if data.get("country"):
            account["country"] = str(data["country"])
        for info in data.get("country_user_info") or []:
            # A cross-border seller is authorised for several ventures; keep the store's.
            wanted = str(self.credentials.account.get("site") or "").lower()
            if not wanted or str(info.get("country", "")).lower() == wanted:
                account["seller_id"] = str(info.get("seller_id"))
                account["short_code"] = info.get("short_code")
                break
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            access_expires_at=expires_in(data.get("expires_in")),
            refresh_expires_at=expires_in(data.get("refresh_expires_in")),
            account=account,
        )

    def exchange_code(self, code: str, *, redirect_uri: str, params: Mapping[str, str]) -> TokenSet:
        return self._token_call("/auth/token/create", {"code": code})

    def refresh_tokens(self) -> TokenSet:
        assert self.credentials.refresh_token is not None
        return self._token_call(
            "/auth/token/refresh", {"refresh_token": self.credentials.refresh_token}
        )

    # -- signing ---------------------------------------------------------------------
    def sign(self, spec: RequestSpec) -> RequestSpec:
        params = {**_params(spec), "access_token": self.credentials.access_token or ""}
        return RequestSpec(
            spec.method, spec.path, self._signed(spec.path, params), spec.headers, spec.content
        )

    def token_rejected(self, response: httpx.Response) -> bool:
        try:
            data = response.json()
        except ValueError:
            return False
        return isinstance(data, dict) and str(data.get("code")) in TOKEN_ERRORS

    def check_response(self, response: httpx.Response, operation: str) -> Any:
        data = json_of(response)
        if response.status_code >= 400 or str(data.get("code", "0")) != "0":
            raise ApiError(
                f"lazada {operation}: HTTP {response.status_code} "
                f"{data.get('code')}: {data.get('message')}"
            )
        return data

    def get(self, operation: str, path: str, params: dict[str, str]) -> Any:
        return self.call(operation, RequestSpec("GET", path, params))

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
            "finances": self._transactions,
            "returns": self._reverse_orders,
            "listings": self._products,
        }
        yield from read[self.stream(stream).name](window, position or {}, ctx)

    def _orders(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        after = dt.datetime.fromisoformat(position["update_after"]) if position else window.start
        offset = int(position.get("offset", 0))
        while True:
            listed = self.get(
                "GetOrders",
                "/orders/get",
                {
                    "update_after": lazada_time(after),
                    "update_before": lazada_time(window.end),
                    "sort_by": "updated_at",
                    "sort_direction": "ASC",
                    "offset": str(offset),
                    "limit": str(PAGE_SIZE),
                },
            )
            data = listed.get("data") or {}
            orders = data.get("orders") or []
            ids = [str(o["order_id"]) for o in orders]
            items = [
                self.get(
                    "GetMultipleOrderItems",
                    "/orders/items/get",
                    # order_ids is a JSON array of numbers.
                    {"order_ids": "[" + ",".join(ids[n : n + ITEMS_BATCH]) + "]"},
                )
                for n in range(0, len(ids), ITEMS_BATCH)
            ]
            chunks = _facts("lazada.api", [listed, *items], "GetOrders", ctx, orders)
            offset += len(orders)
            if "countTotal" in data:
                more = bool(orders) and offset < int(data["countTotal"])
            else:
                more = len(orders) == PAGE_SIZE
            if more and offset > self.max_offset:
                # Past Lazada's offset cap: restart the query at the last order read (a
                # second early, in case update_after is exclusive; re-reads merge by key).
                last = parse_lazada_time(str(orders[-1]["updated_at"]))
                after = last - dt.timedelta(seconds=1)
                offset = 0
            nxt = {"update_after": after.isoformat(), "offset": offset} if more else None
            yield Page(chunks, nxt, len(orders))
            if not more:
                return

    def _transactions(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        limit = self.page_limits["finances"]
        resume = position.get("slice_start")
        offset = int(position.get("offset", 0))
        start = dt.datetime.fromisoformat(resume) if resume else None
        for piece in slices(window, FINANCE_SPAN, start):
            while True:
                data = self.get(
                    "QueryTransactionDetails",
                    "/finance/transaction/details/get",
                    {
                        "start_time": local_day(piece.start, ctx.timezone).isoformat(),
                        # end_time is a day included; the window's end is exclusive.
                        "end_time": local_day(piece.end - TICK, ctx.timezone).isoformat(),
                        "offset": str(offset),
                        "limit": str(limit),
                    },
                )
                rows = data.get("data") or []
                chunks = _facts(TRANSACTIONS, [data], "QueryTransactionDetails", ctx, rows)
                offset = offset + len(rows) if len(rows) >= limit else 0
                yield Page(chunks, _next_position(piece, window, offset=offset), len(rows))
                if not offset:
                    break

    def _reverse_orders(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        size = self.page_limits["returns"]
        page_no = int(position.get("page_no", 1))
        while True:
            data = self.get(
                "GetReverseOrdersForSeller",
                "/reverse/getreverseordersforseller",
                {
                    "ReverseOrderLineModifiedTimeRangeStart": str(unix_ms(window.start)),
                    # Both bounds are included; the window's end is not.
                    "ReverseOrderLineModifiedTimeRangeEnd": str(unix_ms(window.end) - 1),
                    "page_no": str(page_no),
                    "page_size": str(size),
                },
            )
            result = data.get("result") or {}
            items = result.get("items") or []
            chunks = _facts(REVERSE_ORDERS, [data], "GetReverseOrdersForSeller", ctx, items)
            more = bool(items) and page_no * size < int(result.get("total") or 0)
            page_no += 1
            yield Page(chunks, {"page_no": page_no} if more else None, len(items))
            if not more:
                return

    def _products(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        ctx = snapshot_context(ctx, window)  # one snapshot per run, one day
        limit = self.page_limits["listings"]
        offset = int(position.get("offset", 0))
        while True:
            data = self.get(
                "GetProducts",
                "/products/get",
                {"filter": "all", "offset": str(offset), "limit": str(limit)},
            )
            body = data.get("data") or {}
            products = body.get("products") or []
            total = int(body.get("total_products") or 0)
            if total > self.max_product_offset + limit:
                raise ApiError(
                    f"lazada GetProducts: {total} products, more than can be paged "
                    f"(offset ≤ {self.max_product_offset}); no snapshot written / "
                    f"商品数 {total} 超出 Lazada 分页上限，未写入快照"
                )
            chunks = _facts(PRODUCTS, [data], "GetProducts", ctx, products)
            offset += len(products)
            more = bool(products) and offset < total
            yield Page(chunks, {"offset": offset} if more else None, len(products))
            if not more:
                return


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _facts(
    fmt: ReportFormat | str,
    payloads: list[Any],
    call: str,
    ctx: ImportContext,
    records: list[Any],
) -> list[FactChunk]:
    """The facts of a page's responses; none for a page without records."""
    return map_payloads(fmt, payloads, call, ctx)[0] if records else []


def unix_ms(moment: dt.datetime) -> int:
    """Unix milliseconds of a naive-UTC moment."""
    return (moment.replace(tzinfo=dt.UTC) - EPOCH) // dt.timedelta(milliseconds=1)


def _next_position(piece: Window, window: Window, *, offset: int) -> dict[str, Any] | None:
    """After a page: more of this piece, the next piece, or done."""
    if offset:
        return {"slice_start": piece.start.isoformat(), "offset": offset}
    if piece.end >= window.end:
        return None
    return {"slice_start": piece.end.isoformat()}


CONNECTOR = Lazada
