"""The HTTP layer every connector shares: token buckets, 429/Retry-After, retries.

``TokenBucket`` holds one published limit (``rate`` requests per second refilled, up to
``burst``). Buckets are shared process-wide by key (``bucket(key, limit)``) so that every
thread syncing the same seller account draws from the same bucket: the limit is the
platform's per account (and per app), not per thread.

``HttpClient.request`` takes a *builder* rather than a finished request, because a retry
must be signed again (Shopee and TikTok sign a timestamp; a refreshed access token
changes the signature). A 429 pauses the request's buckets for ``Retry-After`` seconds
(or the backoff when the header is absent), so other threads on the same account wait
too; 5xx answers and connection errors are retried with exponential backoff and jitter.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


class ApiError(Exception):
    """A call failed for good (after retries), or the platform answered with an error."""


@dataclass(frozen=True, slots=True)
class Limit:
    """A published rate limit: ``rate`` requests per second sustained, ``burst`` at once."""

    rate: float
    burst: int

    def scaled(self, factor: float) -> Limit:
        return Limit(self.rate * factor, self.burst)


class TokenBucket:
    """Blocks callers so that no more than the limit's requests start per interval."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._updated = clock()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds callers spent waiting, for benchmarks

    def _refill(self, now: float) -> None:
        if now < self._updated:  # paused: nothing refills before the pause ends
            return
        elapsed = now - self._updated
        self._tokens = min(float(self.limit.burst), self._tokens + elapsed * self.limit.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                if now >= self._blocked_until and self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self.waited += waited
                    return waited
                delay = max(
                    self._blocked_until - now, (1.0 - self._tokens) / self.limit.rate, 0.001
                )
            time.sleep(delay)
            waited += delay

    def pause(self, seconds: float) -> None:
        """The platform said "too many": start nothing for ``seconds``, then one request
        (what ``Retry-After`` allows), then the sustained rate again."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._blocked_until = max(self._blocked_until, now + seconds)
            self._tokens = min(self._tokens, 1.0)
            self._updated = max(self._updated, self._blocked_until)


_BUCKETS: dict[tuple[str, ...], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket(key: tuple[str, ...], limit: Limit) -> TokenBucket:
    """The process-wide bucket for ``key`` (platform, account, operation)."""
    with _BUCKETS_LOCK:
        found = _BUCKETS.get(key)
        if found is None or found.limit != limit:
            found = _BUCKETS[key] = TokenBucket(limit)
        return found


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request as a connector builds it (path relative to the client's base URL)."""

    method: str
    path: str
    params: Sequence[tuple[str, str]] | dict[str, str] = ()
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass
class CallStats:
    requests: int = 0
    throttled: int = 0  # 429 answers
    retried: int = 0  # 5xx answers and connection errors retried
    token_refreshes: int = 0


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class HttpClient:
    """An ``httpx.Client`` with rate limiting and retries (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats = CallStats()
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: up to base * 2^(attempt-1), capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def request(
        self, build: Callable[[], RequestSpec], buckets: Sequence[TokenBucket] = ()
    ) -> httpx.Response:
        """Send the request ``build()`` makes, rate limited, retried; the final response.

        Returns any answer that is not 429/5xx (the connector judges 4xx); raises
        ``ApiError`` when every attempt was throttled, failed or errored.
        """
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            for b in buckets:
                b.acquire()
            spec = build()
            self.stats.requests += 1
            try:
                response = self._client.request(
                    spec.method,
                    spec.path,
                    params=httpx.QueryParams(
                        list(spec.params.items())
                        if isinstance(spec.params, dict)
                        else list(spec.params)
                    )
                    if spec.params
                    else None,
                    headers=spec.headers,
                    content=spec.content,
                )
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                self.stats.retried += 1
                time.sleep(self.backoff(attempt))
                continue
            if response.status_code == 429:
                self.stats.throttled += 1
                delay = retry_after_seconds(response)
                delay = self.backoff(attempt) if delay is None else delay
                for b in buckets:
                    b.pause(delay)
                if not buckets:
                    time.sleep(delay)
                last_problem = "HTTP 429 Too Many Requests"
                continue
            if response.status_code >= 500:
                self.stats.retried += 1
                last_problem = f"HTTP {response.status_code}: {response.text[:200]}"
                time.sleep(self.backoff(attempt))
                continue
            return response
        raise ApiError(
            f"{self.base_url}: gave up after {self.max_attempts} attempts ({last_problem}) "
            "/ 多次重试后仍失败"
        )

    def get_bytes(self, url: str) -> bytes:
        """Download a pre-signed document URL (absolute; no auth headers), with retries."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.get(url)
            except httpx.TransportError:
                time.sleep(self.backoff(attempt))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                time.sleep(retry_after_seconds(response) or self.backoff(attempt))
                continue
            if response.status_code != 200:
                raise ApiError(f"{url}: HTTP {response.status_code} downloading a document")
            return response.content
        raise ApiError(f"{url}: download failed after {self.max_attempts} attempts")

    def close(self) -> None:
        self._client.close()


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ApiError(
            f"{response.request.url.path}: HTTP {response.status_code}, not JSON: "
            f"{response.text[:200]!r}"
        ) from exc
