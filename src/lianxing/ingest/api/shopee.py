"""Shopee Open Platform v2 (platform-formats.md §5): orders, escrow (fees), returns,
listings, ads.

Every call carries ``partner_id``, ``timestamp`` and ``sign``; shop calls add
``access_token`` and ``shop_id``. ``sign`` is lower-case hex HMAC-SHA256 with the partner
key over ``partner_id + path + timestamp`` (public calls: authorisation and tokens) or
``partner_id + path + timestamp + access_token + shop_id`` (shop calls).

Authorisation: the seller opens ``/api/v2/shop/auth_partner`` and is sent back to the
redirect URL with ``code`` and ``shop_id``; ``/api/v2/auth/token/get`` trades them for an
access token (4 h) and a refresh token (30 days); ``/api/v2/auth/access_token/get``
refreshes. A rejected token is answered with ``error = invalid_acceess_token`` (sic) or
``error_auth``.

Streams (all queries are capped at 15 days, so windows are sliced):

* ``orders``: ``get_order_list`` by ``update_time`` (cursor paging) →
  ``get_order_detail`` in batches of 50 → the Shopee importer (orders, order_lines).
* ``finances``: ``get_escrow_list`` by release time (page paging) → ``get_escrow_detail``
  per order → the Shopee importer (fees, seller-voucher discounts), with the list in the
  same payload set so fees are posted at release time.
* ``returns``: ``get_return_list`` by ``update_time`` → the Shopee importer (refunds of
  ``REFUND_PAID`` returns, returned items).
* ``listings``: every item each run (a snapshot, see ``mapping.snapshot_context``):
  ``get_item_list`` (``item_status`` NORMAL, UNLIST, BANNED, REVIEWING repeated, paged by
  ``offset``/``next_offset``) → ``get_item_base_info`` (50 ``item_id`` a call) →
  ``get_model_list`` for each item with variations → ``ShopeeItems``: one listing per
  model, or per item without models. Deleted items are not asked for: a deleted item is
  no listing.
* ``ads``: ``get_all_cpc_ads_daily_performance`` (the shop's CPC ads, every ad type, one
  record per shop-local day; ``start_date``/``end_date`` as DD-MM-YYYY) → ``ShopeeCpcAds``:
  ``ad_daily``, one row a day. Shopee refuses a range over a month, a range of one day
  (``start_date`` = ``end_date``: that is the hourly call's), days in the future and days
  over 6 months back, so the window's local days are cut into 28-day pieces, a one-day
  piece asks from the day before, and the first day is at most 180 days before the last.
  Attribution keeps moving for 7 days after a click, so each run re-reads 7 days.

Shopee publishes no per-call limit in the reference (its doc pages give none for these
calls); every bucket (10 requests/s per shop and call) is a conservative assumption, to
be replaced by the limit in the partner's console.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
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
    slices,
    unix,
)
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec, json_of
from lianxing.ingest.api.mapping import (
    add_listing,
    listing_status,
    map_payloads,
    snapshot_context,
    window_days,
)
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.marketplace import (
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    envelope_error,
)

MAX_SPAN = dt.timedelta(days=15)
DETAIL_BATCH = 50
DETAIL_FIELDS = (
    "buyer_user_id,buyer_username,item_list,pickup_done_time,recipient_address,"
    "fulfillment_flag,total_amount,currency,ship_by_date"
)
TOKEN_ERRORS = frozenset({"invalid_acceess_token", "invalid_access_token", "error_auth"})
ITEM_PAGE_SIZE = 100  # get_item_list's maximum
# item_status → listing status. Asked for: all but the deleted ones (no listing any more).
ITEM_STATUS: dict[str, ListingStatus | None] = {
    "NORMAL": ListingStatus.ACTIVE,
    "UNLIST": ListingStatus.INACTIVE,
    # Listed but not sellable: taken down by Shopee, or under its review.
    "BANNED": ListingStatus.SUPPRESSED,
    "REVIEWING": ListingStatus.SUPPRESSED,
    "SELLER_DELETE": None,
    "SHOPEE_DELETE": None,
}
LISTED_STATUSES = tuple(k for k, v in ITEM_STATUS.items() if v is not None)
# The ads performance calls refuse a range "longer than 1 month" (28 days is shorter than
# every month) and dates "earlier than 6 months ago" (180 days is within 6 months).
ADS_SPAN = dt.timedelta(days=28)
ADS_HISTORY = dt.timedelta(days=180)
ADS_DATE = "%d-%m-%Y"


def shopee_sign(partner_key: str, *parts: str | int) -> str:
    base = "".join(str(p) for p in parts)
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


class ShopeeItems(ApiPayloadFormat):
    """``get_item_base_info`` and ``get_model_list`` responses → ``listings`` on the
    snapshot day (``period_to``).

    One row per model of an item with variations (``sku`` = ``model_sku``), else per item
    (``item_sku``); ``platform_item_id`` is the item id, as on order lines. The price is
    ``original_price`` (the seller's price; ``current_price`` is a promotion's), the stock
    ``stock_info_v2.summary_info.total_available_stock``. A model that is
    ``MODEL_UNAVAILABLE`` cannot be bought: inactive. ``get_model_list`` does not name its
    item, so the connector adds the ``item_id`` it asked for to each response.
    """

    id = "shopee.api_items"
    name_zh = "Shopee 开放平台商品 API 数据 (get_item_base_info / get_model_list)"
    name_en = "Shopee Open Platform item responses (get_item_base_info, get_model_list)"
    platform = "shopee"
    tables = ("listings",)
    envelope_keys = frozenset({"request_id", "error", "response"})

    def begin(self, facts: FactRows) -> None:
        self._items: list[Node] = []
        self._models: dict[str, list[Node]] = {}

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if envelope_error(node, error_keys=("error",), ok=("",)):
            return
        response = node.child("response")
        if response is not None and response.has("item_list"):
            self._items += [i.at(counter.next()) for i in response.children("item_list")]
        elif response is not None and response.has("model"):
            item_id = response.text("item_id", required=True)
            if item_id is not None:
                self._models[item_id] = response.children("model")
        else:
            node.problem("response", None, "get_item_base_info or get_model_list response")

    def finish(self, facts: FactRows, ctx: ImportContext) -> None:
        for item in self._items:
            item_id = item.text("item_id", required=True)
            if item_id is None:
                continue
            if item.raw("has_model") is not True:
                self._add(facts, item, item, item_id, item.text("item_sku") or item_id)
                continue
            models = self._models.get(item_id)
            if models is None:
                item.problem("item_id", item_id, "the item's get_model_list response")
            for model in models or []:
                model_id = model.text("model_id", required=True)
                sku = model.text("model_sku") or f"{item_id}:{model_id}"
                self._add(facts, item, model, item_id, sku)

    @staticmethod
    def _add(facts: FactRows, item: Node, offer: Node, item_id: str, sku: str) -> None:
        """One listing: ``offer`` is the item itself or one of its models."""
        stock = offer.child("stock_info_v2")
        summary = stock.child("summary_info") if stock else None
        available = summary.integer("total_available_stock") if summary else None
        status = listing_status(item, ITEM_STATUS, "item_status", stock=available)
        if status is None:
            return
        if (offer.text("model_status") or "").upper() == "MODEL_UNAVAILABLE":
            status = ListingStatus.INACTIVE
        prices = offer.children("price_info")
        add_listing(
            facts,
            item,
            prices[0] if prices else None,
            sku=sku,
            platform_item_id=item_id,
            status=status,
            title="item_name",
            prices=("original_price", "current_price"),
        )


ITEMS_FORMAT = ShopeeItems()


class ShopeeCpcAds(ApiPayloadFormat):
    """``get_all_cpc_ads_daily_performance`` responses → ``ad_daily``, one row per day.

    The call gives the shop's totals over all its CPC ads, not campaigns: the row's
    campaign is ``all_cpc_ads`` (ad type ``shopee_cpc``). ``date`` is a shop-local day
    (DD-MM-YYYY), amounts are in the shop's currency. Cost is ``expense``; attributed
    sales, orders and units are the *broad* figures (``broad_gmv``, ``broad_order``,
    ``broad_item_sold``: anything bought from the shop within 7 days of a click, what
    Seller Centre shows as GMV and Conversions), as Amazon's ``sales7d`` counts any of the
    advertiser's products bought after a click, not the advertised one only (Shopee's
    ``direct_*``, Amazon's ``attributedSalesSameSku7d``); so ROAS means the same on both.
    """

    id = "shopee.api_cpc_ads"
    name_zh = "Shopee 开放平台 CPC 广告每日表现 (get_all_cpc_ads_daily_performance)"
    name_en = "Shopee Open Platform CPC ads daily performance (get_all_cpc_ads_daily_performance)"
    platform = "shopee"
    tables = ("ad_daily",)
    envelope_keys = frozenset({"request_id", "response"})
    campaign_id = "all_cpc_ads"
    campaign_name = "All CPC ads (shop total)"
    ad_type = "shopee_cpc"
    attribution_days = 7

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if envelope_error(node, error_keys=("error",), ok=("",)):
            return
        for record in node.children("response"):
            counter.next()
            day = self._day(record)
            if day is None:
                continue
            facts.add(
                "ad_daily",
                date=day,
                campaign_id=self.campaign_id,
                ad_type=self.ad_type,
                campaign_name=self.campaign_name,
                impressions=record.integer("impression"),
                clicks=record.integer("clicks"),
                cost=record.money("expense", required=True),
                attributed_sales=record.money("broad_gmv"),
                attributed_orders=record.integer("broad_order"),
                attributed_units=record.integer("broad_item_sold"),
                currency=record.ctx.currency,
                attribution_days=self.attribution_days,
            )

    @staticmethod
    def _day(record: Node) -> dt.date | None:
        text = record.text("date", required=True)
        if text is None:
            return None
        try:
            return dt.datetime.strptime(text, ADS_DATE).date()
        except ValueError:
            record.problem("date", text, "a day as DD-MM-YYYY, e.g. 17-03-2021")
            return None


CPC_ADS_FORMAT = ShopeeCpcAds()


class Shopee(Connector):
    id = "shopee"
    platform = "shopee"
    name_zh = "Shopee 开放平台"
    name_en = "Shopee Open Platform v2"
    default_api_base = "https://partner.shopeemobile.com"
    default_auth_base = "https://partner.shopeemobile.com"
    account_key = "shop_id"
    streams = (
        StreamSpec("orders", ("orders", "order_lines")),
        StreamSpec("finances", ("fees", "order_lines"), overlap=dt.timedelta(days=1)),
        StreamSpec("returns", ("refunds", "returns"), overlap=dt.timedelta(hours=6)),
        StreamSpec("listings", ("listings",), overlap=dt.timedelta(0)),
        StreamSpec(
            "ads", ("ad_daily",), overlap=dt.timedelta(days=7), lookback=dt.timedelta(days=60)
        ),
    )
    # Assumed (Shopee publishes none): 10 requests/s per shop for each call.
    limits: ClassVar[Mapping[str, Limit]] = {
        operation: Limit(10.0, 10)
        for operation in (
            "*",
            "order/get_order_list",
            "order/get_order_detail",
            "payment/get_escrow_list",
            "payment/get_escrow_detail",
            "returns/get_return_list",
            "product/get_item_list",
            "product/get_item_base_info",
            "product/get_model_list",
            "ads/get_all_cpc_ads_daily_performance",
        )
    }

    @property
    def partner_id(self) -> str:
        return self.credentials.app_key

    @property
    def shop_id(self) -> str:
        shop = self.credentials.account.get("shop_id")
        if shop is None:
            raise ApiError("shopee: the connection has no shop_id / 缺少 shop_id")
        return str(shop)

    # -- authorisation ---------------------------------------------------------------
    def _public_params(self, path: str) -> dict[str, str]:
        ts = int(time.time())
        sign = shopee_sign(self.credentials.app_secret, self.partner_id, path, ts)
        return {"partner_id": self.partner_id, "timestamp": str(ts), "sign": sign}

    def authorisation_url(self, *, redirect_uri: str, state: str) -> str:
        path = "/api/v2/shop/auth_partner"
        # Shopee passes the redirect back untouched: carry our state in it.
        redirect = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}state={state}"
        params = {**self._public_params(path), "redirect": redirect}
        return f"{self.auth_base}{path}?{urllib.parse.urlencode(params)}"

    def _token_call(self, path: str, body: dict[str, Any]) -> TokenSet:
        content = json.dumps(body).encode()
        response = self.auth_http.request(
            lambda: RequestSpec(
                "POST",
                path,
                self._public_params(path),
                {"content-type": "application/json"},
                content,
            )
        )
        data = json_of(response)
        if data.get("error") or "access_token" not in data:
            error = str(data.get("error") or "")
            message = f"shopee: {error}: {data.get('message')} / Shopee 授权失效，请重新授权店铺"
            if "expire" in (error + str(data.get("message", ""))).lower():
                raise AuthorisationExpired(message)
            raise AuthorisationRevoked(message)
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            access_expires_at=expires_in(data.get("expire_in")),
            refresh_expires_at=expires_in(30 * 24 * 3600),
        )

    def exchange_code(self, code: str, *, redirect_uri: str, params: Mapping[str, str]) -> TokenSet:
        shop_id = params.get("shop_id") or self.credentials.account.get("shop_id")
        if not shop_id:
            raise ApiError("shopee: the callback has no shop_id / 回调缺少 shop_id")
        tokens = self._token_call(
            "/api/v2/auth/token/get",
            {"code": code, "shop_id": int(shop_id), "partner_id": int(self.partner_id)},
        )
        tokens.account["shop_id"] = str(shop_id)
        return tokens

    def refresh_tokens(self) -> TokenSet:
        return self._token_call(
            "/api/v2/auth/access_token/get",
            {
                "refresh_token": self.credentials.refresh_token,
                "shop_id": int(self.shop_id),
                "partner_id": int(self.partner_id),
            },
        )

    def check_credentials(self) -> dict[str, Any]:
        data = self.call("get_shop_info", RequestSpec("GET", "/api/v2/shop/get_shop_info"))
        return {"shop_name": data.get("shop_name"), "region": data.get("region")}

    # -- signing ---------------------------------------------------------------------
    def sign(self, spec: RequestSpec) -> RequestSpec:
        token = self.credentials.access_token or ""
        ts = int(time.time())
        sign = shopee_sign(
            self.credentials.app_secret, self.partner_id, spec.path, ts, token, self.shop_id
        )
        common = [
            ("partner_id", self.partner_id),
            ("timestamp", str(ts)),
            ("access_token", token),
            ("shop_id", self.shop_id),
            ("sign", sign),
        ]
        params = list(spec.params.items()) if isinstance(spec.params, dict) else list(spec.params)
        return RequestSpec(spec.method, spec.path, [*params, *common], spec.headers, spec.content)

    def token_rejected(self, response: httpx.Response) -> bool:
        if response.status_code not in (200, 401, 403):
            return False
        try:
            data = response.json()
        except ValueError:
            return False
        error = str(data.get("error") or "")
        return error in TOKEN_ERRORS and (
            error != "error_auth" or "token" in str(data.get("message", "")).lower()
        )

    def check_response(self, response: httpx.Response, operation: str) -> Any:
        data = json_of(response)
        if response.status_code >= 400 or data.get("error"):
            raise ApiError(
                f"shopee {operation}: HTTP {response.status_code} "
                f"{data.get('error')}: {data.get('message')}"
            )
        return data

    def get(self, operation: str, params: dict[str, str] | Sequence[tuple[str, str]]) -> Any:
        return self.call(operation, RequestSpec("GET", f"/api/v2/{operation}", params))

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
            "finances": self._escrow,
            "returns": self._returns,
            "listings": self._listings,
            "ads": self._ads,
        }
        yield from read[self.stream(stream).name](window, position or {}, ctx)

    @staticmethod
    def _resume_start(position: Mapping[str, Any]) -> dt.datetime | None:
        start = position.get("slice_start")
        return dt.datetime.fromisoformat(start) if start else None

    def _orders(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        cursor = str(position.get("cursor", ""))
        for piece in slices(window, MAX_SPAN, self._resume_start(position)):
            while True:
                listed = self.get(
                    "order/get_order_list",
                    {
                        "time_range_field": "update_time",
                        "time_from": str(unix(piece.start)),
                        "time_to": str(unix(piece.end)),
                        "page_size": "100",
                        "cursor": cursor,
                        "response_optional_fields": "order_status",
                    },
                )
                response = listed.get("response", {})
                numbers = [o["order_sn"] for o in response.get("order_list", [])]
                details = [
                    self.get(
                        "order/get_order_detail",
                        {
                            "order_sn_list": ",".join(numbers[i : i + DETAIL_BATCH]),
                            "response_optional_fields": DETAIL_FIELDS,
                        },
                    )
                    for i in range(0, len(numbers), DETAIL_BATCH)
                ]
                chunks, _ = (
                    map_payloads("shopee.api", details, "get_order_detail", ctx)
                    if details
                    else ([], 0)
                )
                cursor = str(response.get("next_cursor") or "") if response.get("more") else ""
                position_next = self._next(piece, window, cursor=cursor)
                yield Page(chunks, position_next, len(numbers))
                if not cursor:
                    break

    @staticmethod
    def _next(piece: Window, window: Window, **paging: Any) -> dict[str, Any] | None:
        """Where to go after a page: more pages of this slice, the next slice, or done."""
        if any(v not in ("", None, 0) for v in paging.values()):
            return {"slice_start": piece.start.isoformat(), **paging}
        if piece.end >= window.end:
            return None
        return {"slice_start": piece.end.isoformat()}

    def _paged(
        self,
        operation: str,
        list_key: str,
        time_params: tuple[str, str],
        window: Window,
        position: Mapping[str, Any],
    ) -> Iterator[tuple[Window, int, Any, list[Any]]]:
        """Pages of a ``page_no``/``more`` listing: (slice, next page, response, items)."""
        page_no = int(position.get("page_no", 1) or 1)
        for piece in slices(window, MAX_SPAN, self._resume_start(position)):
            while True:
                data = self.get(
                    operation,
                    {
                        time_params[0]: str(unix(piece.start)),
                        time_params[1]: str(unix(piece.end)),
                        "page_size": "100",
                        "page_no": str(page_no),
                    },
                )
                response = data.get("response", {})
                more = bool(response.get("more"))
                page_no = page_no + 1 if more else 1
                yield piece, page_no if more else 0, data, response.get(list_key, [])
                if not more:
                    break

    def _escrow(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        listing = self._paged(
            "payment/get_escrow_list",
            "escrow_list",
            ("release_time_from", "release_time_to"),
            window,
            position,
        )
        for piece, next_page, data, entries in listing:
            details = [
                self.get("payment/get_escrow_detail", {"order_sn": e["order_sn"]}) for e in entries
            ]
            chunks, _ = map_payloads("shopee.api", [data, *details], "get_escrow_detail", ctx)
            yield Page(chunks, self._next(piece, window, page_no=next_page), len(entries))

    def _returns(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        listing = self._paged(
            "returns/get_return_list",
            "return",
            ("update_time_from", "update_time_to"),
            window,
            position,
        )
        for piece, next_page, data, entries in listing:
            chunks, _ = map_payloads("shopee.api", [data], "get_return_list", ctx)
            yield Page(chunks, self._next(piece, window, page_no=next_page), len(entries))

    def _listings(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        """Every listed item, dated the store's local day; resumes at an offset."""
        snapshot = snapshot_context(ctx, window)
        statuses = [("item_status", status) for status in LISTED_STATUSES]
        offset = int(position.get("offset", 0) or 0)
        while True:
            listed = self.get(
                "product/get_item_list",
                [("offset", str(offset)), ("page_size", str(ITEM_PAGE_SIZE)), *statuses],
            )
            response = listed.get("response", {})
            ids = [str(item["item_id"]) for item in response.get("item", [])]
            infos = [
                self.get(
                    "product/get_item_base_info",
                    {"item_id_list": ",".join(ids[i : i + DETAIL_BATCH])},
                )
                for i in range(0, len(ids), DETAIL_BATCH)
            ]
            models = [
                self._models(str(item["item_id"]))
                for info in infos
                for item in info.get("response", {}).get("item_list", [])
                if item.get("has_model")
            ]
            chunks, _ = (
                map_payloads(ITEMS_FORMAT, [*infos, *models], "get_item_base_info", snapshot)
                if infos
                else ([], 0)
            )
            more = bool(response.get("has_next_page"))
            offset = int(response.get("next_offset") or 0)
            yield Page(chunks, {"offset": offset} if more else None, len(ids))
            if not more:
                return

    def _ads(
        self, window: Window, position: Mapping[str, Any], ctx: ImportContext
    ) -> Iterator[Page]:
        """The shop's daily CPC ads totals for the window's shop-local days, 28 at a time."""
        first, last = window_days(window, ctx.timezone)
        first = max(first, last - ADS_HISTORY)
        start = dt.date.fromisoformat(position["day"]) if position.get("day") else first
        while start <= last:
            end = min(start + ADS_SPAN - dt.timedelta(days=1), last)
            # A one-day range is refused (it is the hourly call's): ask from the day before.
            asked_from = min(start, end - dt.timedelta(days=1))
            data = self.get(
                "ads/get_all_cpc_ads_daily_performance",
                {"start_date": f"{asked_from:{ADS_DATE}}", "end_date": f"{end:{ADS_DATE}}"},
            )
            days = data.get("response") or []
            chunks, _ = (
                map_payloads(CPC_ADS_FORMAT, [data], "get_all_cpc_ads_daily_performance", ctx)
                if days
                else ([], 0)
            )
            start = end + dt.timedelta(days=1)
            yield Page(chunks, {"day": start.isoformat()} if start <= last else None, len(days))

    def _models(self, item_id: str) -> Any:
        """``get_model_list`` of one item, with the item's id added (the answer lacks it)."""
        data = self.get("product/get_model_list", {"item_id": item_id})
        return {**data, "response": {**data.get("response", {}), "item_id": item_id}}


CONNECTOR = Shopee
