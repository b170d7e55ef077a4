"""Which ccxt failures may be retried, and how long to wait: exponential backoff with jitter, Retry-After honored.

A failure is one of four kinds (:func:`classify`):

* ``rate``: the exchange refused the request for its rate limit (429/418, ``DDoSProtection``,
  ``RateLimitExceeded``, Binance -1003/-1015). Nothing was executed; wait at least its Retry-After and retry.
* ``clock``: the request's timestamp was outside the receive window (-1021, ``InvalidNonce``). Nothing was
  executed; resynchronise the clock offset and retry once.
* ``unknown``: no usable answer (``RequestTimeout``, ``ExchangeNotAvailable``/5xx, a dropped connection). A query
  may be retried; a command may have acted and is resolved by asking for it, never sent again blindly.
* ``refused``: the exchange answered no (``InvalidOrder``, ``InsufficientFunds``, ``AuthenticationError``, ...):
  never retried.

ccxt maps some answers differently for a loopback host than for binance.com, so the exchange's own ``code`` is
read first and the exception class second.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from alphintra.venues.ccxt_client import exchange_code

Kind = Literal["rate", "clock", "unknown", "refused"]
_RATE_CODES = frozenset({-1003, -1015})
_CLOCK_CODES = frozenset({-1021})
_UNANSWERED_CODES = frozenset({-1001, -1007})  # Binance: internal error / backend timeout, outcome unknown


def classify(exc: BaseException) -> Kind:
    import ccxt

    code = exchange_code(exc)
    if code in _CLOCK_CODES or isinstance(exc, ccxt.InvalidNonce):
        return "clock"
    if code in _RATE_CODES or isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return "rate"
    if code in _UNANSWERED_CODES:
        return "unknown"
    if code is not None:
        return "refused"  # the exchange answered with an error of its own
    if isinstance(exc, ccxt.RequestTimeout | ccxt.ExchangeNotAvailable | ccxt.NetworkError | asyncio.TimeoutError):
        return "unknown"
    return "refused"


def retry_after(headers: Any) -> float | None:
    """The Retry-After header of the last response, in seconds (None when absent or not a number)."""
    if not headers:
        return None
    getter = getattr(headers, "get", None)
    raw = None
    if getter is not None:
        raw = getter("Retry-After") or getter("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


@dataclass
class RetryPolicy:
    """``attempts`` tries in all; the n-th wait is a random point in the upper half of ``base_s * 2**(n-1)``
    (capped at ``cap_s``), and never shorter than the exchange's Retry-After. ``rng`` and ``sleep`` are injected
    by tests (a seeded random, a sleep that records)."""

    attempts: int = 5
    base_s: float = 0.2
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def delay(self, attempt: int, after: float | None = None) -> float:
        backoff = min(self.cap_s, self.base_s * (1 << (attempt - 1)))
        wait = backoff / 2 + self.rng.random() * backoff / 2
        return max(wait, after or 0.0)


async def with_retries(
    call: Callable[[], Awaitable[Any]],
    policy: RetryPolicy,
    *,
    headers: Callable[[], Any],
    resync: Callable[[], Awaitable[Any]],
    retry_unknown: bool,
) -> Any:
    """Run ``call``; retry rate limits (after Retry-After), one clock error (after ``resync``) and, when
    ``retry_unknown`` (a query, never a command), unanswered calls. Anything else is raised at once."""
    resynced = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except Exception as exc:
            kind = classify(exc)
            if kind == "clock" and not resynced:
                resynced = True
                await resync()
                continue
            retryable = kind == "rate" or (kind == "unknown" and retry_unknown)
            if not retryable or attempt >= policy.attempts:
                raise
            await policy.sleep(policy.delay(attempt, retry_after(headers()) if kind == "rate" else None))


__all__ = ["Kind", "RetryPolicy", "classify", "retry_after", "with_retries"]
