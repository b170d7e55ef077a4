"""What one caller may cost the daemon: a cap on request bodies and token-bucket rate limits.

* Bodies: a request whose ``Content-Length`` is over ``max_body_bytes`` is answered 413 before a byte of it is read;
  one without (chunked) is counted chunk by chunk and refused as soon as it goes over, so nothing larger than the cap
  is ever held in memory (a 100 MB body used to be read whole, +44 MB of resident memory).
* Requests: every TCP request takes a token from its peer's bucket (the peer is the client address, whoever it
  claims to be) before authentication, so a flood of bad tokens is throttled like any other; a failed
  authentication also takes one from the peer's failed-auth bucket, which is much smaller, and a peer with an empty
  one is refused until it refills.
* Orders: each order placed (one per order of a batch, one per order-entry frame) takes a token from its caller's
  order bucket: per token user over TCP, one bucket for the unix-socket owner.

A refusal is 429 ``rate_limited`` with ``Retry-After`` (whole seconds, at least 1) and the usual JSON error body.
The unix socket is the owner's (mode 0600); by default its limits are off, so local tools and the project's own
benches (``bench/api.py``, 10,000 orders/s) run at full speed, while a TCP listener, which the network can reach,
is limited by default. Every figure is in the ``[api]`` settings section.

A hand-written token bucket rather than a package: it is twenty lines, needs a lock because sync handlers run on
worker threads, and must take the daemon's injected clock; the rate-limit packages on PyPI are either built for
Redis/a web framework's decorators or unmaintained.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alphintra.daemon.auth import WS_UNAUTHORIZED, listener_of, refuse_websocket
from alphintra.daemon.protocol import RateLimitedError, error_body

MAX_KEYS = 10_000  # buckets kept before idle (full) ones are dropped: a scan of many addresses cannot grow memory


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; thread-safe. A rate of 0 means no limit."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, n: float, now: float) -> float:
        """Take ``n`` tokens and return 0, or take nothing and return the seconds until they are there.

        More than a burst at once (a big batch) goes through from a full bucket and leaves it in debt, paid back
        before the next request: the rate holds on average, and a batch is never refused for its size alone."""
        self.refill(now)
        need = min(n, self.burst)
        if self.tokens >= need:
            self.tokens -= n
            return 0.0
        return (need - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per key (a peer address, a user), all with the same rate and burst."""

    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, n: float = 1.0) -> float:
        """0 when allowed (the tokens are taken), else the seconds to wait before asking again."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._prune(now)
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
            return bucket.take(n, now)

    def empty(self, key: str) -> float:
        """Seconds until ``key`` has a token again, without taking one (0 when it has)."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            bucket.refill(now)
            return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        idle = []
        for key, bucket in self._buckets.items():
            bucket.refill(now)
            if bucket.tokens >= bucket.burst:  # full again: forgetting it changes nothing
                idle.append(key)
        for key in idle:
            del self._buckets[key]


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """The ``[api]`` figures (``ApiSettings`` in the settings, this shape so the app needs no settings object)."""

    max_body_bytes: int = 1_048_576
    tcp_requests_per_second: float = 100.0
    tcp_request_burst: int = 200
    tcp_orders_per_second: float = 50.0
    tcp_order_burst: int = 100
    auth_failures_per_minute: float = 10.0
    auth_failure_burst: int = 20
    unix_requests_per_second: float = 0.0
    unix_orders_per_second: float = 0.0


class ApiLimits:
    """The limiters of one daemon; ``create_app`` keeps it on ``app.state.limits``."""

    def __init__(self, settings: LimitSettings | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        s = settings if settings is not None else LimitSettings()
        self.settings = s
        self.max_body_bytes = s.max_body_bytes
        self.tcp_requests = RateLimiter(s.tcp_requests_per_second, s.tcp_request_burst, clock=clock)
        self.tcp_orders = RateLimiter(s.tcp_orders_per_second, s.tcp_order_burst, clock=clock)
        self.auth_failures = RateLimiter(s.auth_failures_per_minute / 60.0, s.auth_failure_burst, clock=clock)
        self.unix_requests = RateLimiter(s.unix_requests_per_second, 2 * s.unix_requests_per_second, clock=clock)
        self.unix_orders = RateLimiter(s.unix_orders_per_second, 2 * s.unix_orders_per_second, clock=clock)

    def take_orders(self, listener: str, user: str, n: int = 1) -> None:
        """Charge ``n`` orders to their caller; raises RateLimitedError when over its order rate."""
        if listener == "unix":
            wait, what = self.unix_orders.take("unix", n), self.settings.unix_orders_per_second
        else:
            wait, what = self.tcp_orders.take(f"user:{user}", n), self.settings.tcp_orders_per_second
        if wait > 0:
            raise RateLimitedError(f"too many orders: at most {what:g} a second; retry in {wait:.2f} s", wait)


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` takes whole seconds: round up, never 0 (a client retrying at once would only be refused)."""
    return str(max(1, math.ceil(seconds)))


def peer_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def send_error(send: Send, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
    """Answer with the JSON error body straight on the ASGI channel (middlewares run before the app)."""
    import json

    body = json.dumps(error_body(code, detail, None)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over the cap: by its ``Content-Length`` before reading, else by counting what arrives.

    The body is read here (up to the cap) and replayed to the app, because a refusal raised from inside the app's
    own read would be turned into a 400 by FastAPI's body parsing."""

    def __init__(self, app: ASGIApp, limits: ApiLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = self.limits.max_body_bytes
        if scope["type"] != "http" or cap <= 0:
            await self.app(scope, receive, send)
            return
        detail = f"the request body is over the {cap}-byte limit ([api] max_body_bytes)"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, 400, "bad_request", "Content-Length is not a number")
                    return
                if declared > cap:
                    await send_error(send, 413, "too_large", detail, {"Connection": "close"})
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await send_error(send, 413, "too_large", detail, {"Connection": "close"})
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)


class RequestLimitMiddleware:
    """Per-peer request rate (TCP) or the owner's (unix), and the per-peer failed-authentication rate.

    Placed outside the authentication middleware, so it sees every request, authenticated or not."""

    def __init__(self, app: ASGIApp, limits: ApiLimits, public_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.limits = limits
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        limits = self.limits
        if listener_of(scope) == "unix":
            wait = limits.unix_requests.take("unix")
            what = f"at most {limits.settings.unix_requests_per_second:g} requests a second"
        else:
            peer = peer_of(scope)
            wait = limits.auth_failures.empty(f"peer:{peer}")
            what = "too many failed authentications from this address"
            if wait == 0:
                wait = limits.tcp_requests.take(f"peer:{peer}")
                what = f"at most {limits.settings.tcp_requests_per_second:g} requests a second from one address"
        if wait > 0:
            await _refuse(scope, receive, send, f"too many requests ({what}); retry in {wait:.2f} s", wait)
            return
        if listener_of(scope) == "unix":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            refused = (message["type"] == "http.response.start" and message["status"] == 401) or (
                message["type"] == "websocket.close" and message.get("code") == WS_UNAUTHORIZED
            )
            if refused:
                limits.auth_failures.take(f"peer:{peer_of(scope)}")
            await send(message)

        await self.app(scope, receive, counting_send)


async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str, wait: float) -> None:
    if scope["type"] == "websocket":
        await refuse_websocket(receive, send, WS_RATE_LIMITED, detail)
        return
    await send_error(send, 429, RateLimitedError.code, detail, {"Retry-After": retry_after_header(wait)})


WS_RATE_LIMITED = 4429  # application close code mirroring HTTP 429


__all__ = [
    "WS_RATE_LIMITED",
    "ApiLimits",
    "BodyLimitMiddleware",
    "LimitSettings",
    "RateLimiter",
    "RequestLimitMiddleware",
    "TokenBucket",
    "retry_after_header",
]
