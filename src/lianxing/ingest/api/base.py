"""The connector interface, and the registry that finds connectors.

A connector is one module in ``lianxing.ingest.api`` defining ``CONNECTOR = <class>``;
adding a platform is adding that module (``connectors()`` finds it). The class says:

* who it is: ``id`` (``"shopee"``), ``platform`` (the store platform it serves:
  ``"amazon"`` for both Amazon connectors), names, default hosts;
* how a seller grants access: ``authorisation_url``, ``exchange_code``,
  ``refresh_tokens`` (the platform's OAuth / authorisation-code flow);
* how it signs a request: ``sign`` (turns a ``RequestSpec`` into the signed one);
* when the platform rejected the access token (``token_rejected``: refresh and retry);
* what it can read: ``streams`` (``StreamSpec``: name, fact tables, overlap window) and
  ``read_stream(stream, window, position, ctx)``, which yields ``Page``\\ s. Each page
  carries its facts (mapped by the *file importers'* code, see ``mapping.py``) and the
  position to resume from after it.

Everything else — buckets, retries, token refresh and persistence, checkpoints, writes —
is shared: ``Connector.call`` here, ``HttpClient`` in ``http.py``, the sync in
``lianxing.ingest.sync``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import httpx

from lianxing.ingest.api.http import (
    ApiError,
    HttpClient,
    Limit,
    RequestSpec,
    TokenBucket,
    bucket,
    json_of,
)
from lianxing.ingest.files.base import FactChunk, ImportContext


class AuthorisationError(Exception):
    """The seller's authorisation cannot be used; they must authorise again."""

    status = "revoked"


class AuthorisationExpired(AuthorisationError):
    """The refresh token has run out (Shopee: 30 days; Lazada/TikTok: per grant)."""

    status = "expired"


class AuthorisationRevoked(AuthorisationError):
    """The platform refused the grant (seller revoked the app, wrong app, disabled shop)."""

    status = "revoked"


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    access_expires_at: dt.datetime | None  # naive UTC
    refresh_expires_at: dt.datetime | None = None
    account: dict[str, Any] = field(default_factory=dict)  # ids learned: shop_id, seller_id ...
    scopes: list[str] = field(default_factory=list)


@dataclass
class Credentials:
    """What a connector needs to act for one seller account (decrypted, in memory only)."""

    app_key: str
    app_secret: str
    access_token: str | None = None
    refresh_token: str | None = None
    access_expires_at: dt.datetime | None = None
    refresh_expires_at: dt.datetime | None = None
    account: dict[str, Any] = field(default_factory=dict)

    def apply(self, tokens: TokenSet) -> None:
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token or self.refresh_token
        self.access_expires_at = tokens.access_expires_at
        self.refresh_expires_at = tokens.refresh_expires_at or self.refresh_expires_at
        self.account.update(tokens.account)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One thing a connector reads incrementally.

    ``overlap``: each run re-reads this much before the cursor, because platforms update
    records late (a status change, a refund posted later) and clocks differ; the re-read
    rows are merged by key, so the overlap costs requests, never duplicates.
    ``lookback``: how far back the first run starts when no ``--since`` is given.
    """

    name: str
    tables: tuple[str, ...]
    overlap: dt.timedelta = dt.timedelta(hours=2)
    lookback: dt.timedelta = dt.timedelta(days=30)
    settle: dt.timedelta = dt.timedelta(minutes=2)  # the window ends this long before now


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.datetime  # naive UTC, inclusive
    end: dt.datetime  # naive UTC, exclusive


@dataclass
class Page:
    """Facts read by one step of a stream, and where to continue after it.

    ``position`` is JSON (it is saved as the checkpoint); ``None`` means the window is
    finished. ``records`` counts the platform records read (orders, report rows ...).
    """

    chunks: list[FactChunk]
    position: dict[str, Any] | None
    records: int = 0


TokenListener = Callable[[TokenSet], None]


class Connector(ABC):
    """One platform API (see the module docstring). Instances serve one seller account."""

    id: ClassVar[str]
    platform: ClassVar[str]
    name_zh: ClassVar[str]
    name_en: ClassVar[str]
    default_api_base: ClassVar[str]
    default_auth_base: ClassVar[str]
    streams: ClassVar[tuple[StreamSpec, ...]]
    # Published per-account limits by operation name; "*" applies to operations not listed.
    limits: ClassVar[Mapping[str, Limit]]
    account_key: ClassVar[str] = "seller_id"  # which account id names the rate-limit bucket
    # The connector a store of ``platform`` gets when none is named (Amazon: SP-API, not Ads).
    primary: ClassVar[bool] = True
    refresh_margin: ClassVar[dt.timedelta] = dt.timedelta(minutes=5)

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
        self.credentials = credentials
        self.api_base = (api_base or self.default_api_base).rstrip("/")
        self.auth_base = (auth_base or self.default_auth_base).rstrip("/")
        self.on_tokens = on_tokens
        self.limit_scale = limit_scale
        options = dict(http_options or {})
        self.http = HttpClient(self.api_base, **options)
        self.auth_http = (
            self.http if self.auth_base == self.api_base else HttpClient(self.auth_base, **options)
        )

    # -- authorisation ---------------------------------------------------------------
    @abstractmethod
    def authorisation_url(self, *, redirect_uri: str, state: str) -> str:
        """Where the seller goes to grant this app access to their account."""

    @abstractmethod
    def exchange_code(self, code: str, *, redirect_uri: str, params: Mapping[str, str]) -> TokenSet:
        """Trade the code from the callback (and its other query params) for tokens."""

    @abstractmethod
    def refresh_tokens(self) -> TokenSet:
        """New access token from the refresh token; ``AuthorisationError`` when refused."""

    def check_credentials(self) -> dict[str, Any]:
        """One cheap authenticated call; the account facts it returned. Raises
        ``AuthorisationError`` when the grant is gone."""
        self.ensure_token()
        return dict(self.credentials.account)

    # -- signing and calling -----------------------------------------------------------
    @abstractmethod
    def sign(self, spec: RequestSpec) -> RequestSpec:
        """The request with the platform's auth parameters/headers and signature added."""

    @abstractmethod
    def token_rejected(self, response: httpx.Response) -> bool:
        """True when the platform refused the access token (expired or invalid)."""

    def check_response(self, response: httpx.Response, operation: str) -> Any:
        """The parsed body of a successful answer; ``ApiError`` otherwise."""
        if response.status_code >= 400:
            raise ApiError(
                f"{self.id} {operation}: HTTP {response.status_code}: {response.text[:300]}"
            )
        return json_of(response)

    def buckets(self, operation: str) -> list[TokenBucket]:
        limit = self.limits.get(operation) or self.limits["*"]
        account = str(self.credentials.account.get(self.account_key, self.credentials.app_key))
        return [bucket((self.id, account, operation), limit.scaled(self.limit_scale))]

    def ensure_token(self) -> None:
        creds = self.credentials
        expires = creds.access_expires_at
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if creds.access_token is None or (
            expires is not None and expires - self.refresh_margin <= now
        ):
            self.refresh()

    def refresh(self) -> None:
        if not self.credentials.refresh_token:
            raise AuthorisationExpired(
                f"{self.id}: no refresh token; authorise the store again / 请重新授权店铺"
            )
        tokens = self.refresh_tokens()
        self.credentials.apply(tokens)
        self.http.stats.token_refreshes += 1
        if self.on_tokens is not None:
            self.on_tokens(tokens)

    def call(self, operation: str, spec: RequestSpec) -> Any:
        """Send ``spec`` signed and rate limited; refresh the token once if rejected."""
        self.ensure_token()
        buckets = self.buckets(operation)
        response = self.http.request(lambda: self.sign(spec), buckets)
        if self.token_rejected(response):
            self.refresh()
            response = self.http.request(lambda: self.sign(spec), buckets)
            if self.token_rejected(response):
                raise AuthorisationRevoked(
                    f"{self.id} {operation}: the platform rejects a freshly refreshed token "
                    f"({response.text[:200]}) / 平台拒绝授权，请重新授权店铺"
                )
        return self.check_response(response, operation)

    # -- reading ----------------------------------------------------------------------
    def list_streams(self) -> tuple[StreamSpec, ...]:
        return self.streams

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.streams)
        raise KeyError(f"{self.id} has no stream {name!r}; known: {known}")

    @abstractmethod
    def read_stream(
        self,
        stream: str,
        window: Window,
        position: Mapping[str, Any] | None,
        ctx: ImportContext,
    ) -> Iterator[Page]:
        """Pages of ``stream`` for records updated in ``window``, from ``position`` on."""

    def close(self) -> None:
        self.http.close()
        if self.auth_http is not self.http:
            self.auth_http.close()


@cache
def connectors() -> dict[str, type[Connector]]:
    """Every connector class by id, found in the modules of this package."""
    import lianxing.ingest.api as package

    found: dict[str, type[Connector]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        connector = getattr(module, "CONNECTOR", None)
        if connector is not None:
            if connector.id in found:
                raise RuntimeError(f"connector id {connector.id!r} is defined twice")
            found[connector.id] = connector
    return found


def get_connector(connector_id: str) -> type[Connector]:
    try:
        return connectors()[connector_id]
    except KeyError:
        known = ", ".join(sorted(connectors()))
        raise KeyError(f"unknown connector {connector_id!r}; known: {known}") from None


def connectors_for_platform(platform: str) -> list[type[Connector]]:
    return [c for c in connectors().values() if c.platform == platform]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def expires_in(seconds: Any) -> dt.datetime | None:
    """Naive UTC moment ``seconds`` from now (None when the platform gave no lifetime)."""
    if seconds is None or seconds == "":
        return None
    return utc_now() + dt.timedelta(seconds=int(seconds))


def slices(
    window: Window, span: dt.timedelta, start: dt.datetime | None = None
) -> Iterator[Window]:
    """``window`` cut into pieces of at most ``span`` (platforms cap a query's range),
    beginning at ``start`` when resuming."""
    cursor = start or window.start
    while cursor < window.end:
        end = min(cursor + span, window.end)
        yield Window(cursor, end)
        cursor = end


def unix(moment: dt.datetime) -> int:
    """Unix seconds of a naive-UTC moment."""
    return int(moment.replace(tzinfo=dt.UTC).timestamp())


def from_unix(seconds: int | float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)
