"""Real HTTP servers on loopback standing in for the platforms' APIs (one module each).

``FakePlatform`` is the shared part: a ``ThreadingHTTPServer`` on 127.0.0.1 (free port)
in a thread, a request log, server-side rate limits (a request beyond the limit is a
*violation*, counted and answered 429), scripted throttling (``throttle_next``), token
expiry mid-sync (``expire_tokens_after``), a revoked grant (``revoke``) and a hang that
lets a test kill a client mid-sync (``hang_after``). Subclasses implement ``handle``
and check each request's signature exactly as the platform specifies; a bad signature
is counted in ``bad_signatures`` and refused.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], bytes]
JITTER = 0.05


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return (
        status,
        {"content-type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]  # last value of each parameter
    query_list: list[tuple[str, str]]  # as sent, in order
    headers: dict[str, str]
    body: bytes


class ServerBucket:
    """The platform's own view of a limit: refill ``rate``/s up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        # The client counts at sending, we at arrival: transit jitter up to JITTER seconds
        # (one request slower than the one before it) is not a violation.
        if self.tokens >= 1.0 - self.rate * JITTER:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class FakePlatform(ABC):
    """Base for the fake platforms (see the module docstring)."""

    limits: dict[str, tuple[float, int]] = field(default_factory=dict)  # operation → rate, burst
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    operations: Counter[str] = field(default_factory=Counter)
    violations: int = 0
    bad_signatures: int = 0
    throttled_on_purpose: int = 0
    token_expiries: int = 0
    refreshes: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], ServerBucket] = {}
        self._throttle: list[float] = []
        self._expire_after: int | None = None
        self._hang_after: int | None = None
        self.release = threading.Event()
        self.hanging = threading.Event()
        self.revoked = False
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self._serial = 0

    # -- scripting -----------------------------------------------------------------------
    def throttle_next(self, count: int = 1, retry_after: float = 1) -> None:
        self._throttle.extend([retry_after] * count)

    def expire_tokens_after(self, data_requests: int) -> None:
        self._expire_after = data_requests

    def hang_after(self, data_requests: int) -> None:
        self._hang_after = data_requests

    def revoke(self) -> None:
        self.revoked = True
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def issue_tokens(self) -> tuple[str, str]:
        with self._lock:
            self._serial += 1
            access, refresh = f"at-{self._serial}", f"rt-{self._serial}"
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
            return access, refresh

    def count(self, operation: str) -> int:
        return self.operations[operation]

    # -- the pieces a subclass uses ----------------------------------------------------------
    def admit(self, operation: str, account: str) -> Reply | None:
        """Rate limit, scripted 429 and token expiry for one data call; None = go ahead."""
        with self._lock:
            self.operations[operation] += 1
            if self._hang_after is not None:
                self._hang_after -= 1
                if self._hang_after < 0:
                    self.hanging.set()
                    hang = True
                else:
                    hang = False
            else:
                hang = False
        if hang:
            self.release.wait(30)
            return json_reply(503, {"error": "gone"})
        with self._lock:
            if self._throttle:
                delay = self._throttle.pop(0)
                self.throttled_on_purpose += 1
                return self.throttled(delay)
            limit = self.limits.get(operation) or self.limits.get("*")
            if limit is not None:
                key = (account, operation)
                bucket = self._buckets.setdefault(key, ServerBucket(*limit))
                if not bucket.take():
                    self.violations += 1
                    return self.throttled(1)
            if self._expire_after is not None:
                self._expire_after -= 1
                if self._expire_after < 0:
                    self._expire_after = None
                    self.token_expiries += 1
                    self.access_tokens.clear()
        return None

    def throttled(self, retry_after: float) -> Reply:
        return json_reply(429, {"error": "too many requests"}, {"Retry-After": f"{retry_after:g}"})

    @abstractmethod
    def handle(self, request: Request) -> Reply:
        """Answer one request (after checking its signature)."""

    # -- serving -----------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator[FakePlatform]:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                pairs = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    self.command,
                    split.path,
                    dict(pairs),
                    pairs,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with platform._lock:
                    platform.requests.append(request)
                status, headers, body = platform.handle(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client was killed (crash tests)
                    self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            server.shutdown()
            server.server_close()
