"""Lazada Open Platform (platform-formats.md §6): orders and their items.

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

Stream ``orders``: ``GetOrders`` (``/orders/get``) by ``update_after``/``update_before``,
sorted by ``updated_at`` ascending, paged by ``offset``/``limit`` (100). Lazada refuses an
``offset`` beyond 5000, so past it the query restarts at the last order's ``updated_at``
with offset 0 (the orders at that instant are read twice and merge by key). Each page's
items come from ``GetMultipleOrderItems`` (``/orders/items/get``, 50 order ids a call);
orders and items are mapped together by the Lazada importer (``lazada.api``), which takes
the order's currency and fulfilment channel from its items.

Returns (reverse orders) are not read: no importer maps them yet and the reference
documents the endpoints, not the fields of a reverse-order line.

Lazada publishes no per-call limit in the reference; the bucket (10 requests/s per
seller) is an assumption, as for Shopee.
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
    utc_now,
)
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec, json_of
from lianxing.ingest.api.mapping import map_payloads
from lianxing.ingest.files.base import ImportContext
from lianxing.platforms.catalog import load_catalog

PAGE_SIZE = 100
ITEMS_BATCH = 50
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
    streams = (StreamSpec("orders", ("orders", "order_lines")),)
    limits: ClassVar[Mapping[str, Limit]] = {"*": Limit(10.0, 10)}
    max_offset: ClassVar[int] = 5000  # GetOrders refuses a larger offset

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
        self.stream(stream)  # the only stream: orders
        after = dt.datetime.fromisoformat(position["update_after"]) if position else window.start
        offset = int(position.get("offset", 0)) if position else 0
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
            chunks, _ = (
                map_payloads("lazada.api", [listed, *items], "GetOrders", ctx)
                if orders
                else ([], 0)
            )
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


CONNECTOR = Lazada
