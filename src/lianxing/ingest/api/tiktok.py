"""TikTok Shop Partner API 202309 (platform-formats.md §7): orders.

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

Stream ``orders``: ``Search Orders`` (``POST /order/202309/orders/search``) by
``update_time`` (``update_time_ge``/``update_time_lt`` in the body), sorted ascending,
paged by ``page_token``; the ids found are read with ``Get Order Detail``
(``GET /order/202309/orders?ids=``, 50 at a time) and mapped by the TikTok importer
(``tiktok.api``). Returns and finance statements are not read: the reference could not
confirm their shapes.

TikTok publishes no per-call limit in the reference; the bucket (10 requests/s per shop)
is an assumption, as for Shopee and Lazada.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import httpx

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
from lianxing.ingest.api.mapping import map_payloads
from lianxing.ingest.files.base import ImportContext

PAGE_SIZE = 100
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


class TikTokShop(Connector):
    id = "tiktok"
    platform = "tiktok"
    name_zh = "TikTok Shop 开放平台"
    name_en = "TikTok Shop Partner API (202309)"
    default_api_base = "https://open-api.tiktokglobalshop.com"
    default_auth_base = "https://auth.tiktok-shops.com"
    authorise_base: ClassVar[str] = "https://services.tiktokshop.com"
    account_key = "shop_id"
    streams = (StreamSpec("orders", ("orders", "order_lines")),)
    limits: ClassVar[Mapping[str, Limit]] = {"*": Limit(10.0, 10)}

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
        self.stream(stream)  # the only stream: orders
        if "shop_cipher" not in self.credentials.account:
            raise ApiError("tiktok: the connection has no shop_cipher / 缺少 shop_cipher")
        token = str(position.get("page_token", "")) if position else ""
        body = json.dumps(
            {"update_time_ge": unix(window.start), "update_time_lt": unix(window.end)},
            separators=(",", ":"),
        ).encode()
        while True:
            query = {"page_size": str(PAGE_SIZE), "sort_field": "update_time", "sort_order": "ASC"}
            if token:
                query["page_token"] = token
            found = self.call(
                "SearchOrders",
                RequestSpec("POST", "/order/202309/orders/search", query, content=body),
            )
            data = found.get("data") or {}
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
            token = str(data.get("next_page_token") or "")
            yield Page(chunks, {"page_token": token} if token else None, len(ids))
            if not token:
                return


CONNECTOR = TikTokShop
