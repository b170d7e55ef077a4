"""A venue's historical bars through ccxt's ``fetch_ohlcv``: the :class:`OhlcvSource` of ``data download``.

The paging, the resume from the newest stored bar and the chunked commits are
:func:`alphintra.storage.market.download.download_ohlcv`'s; this class only fetches one page, within ccxt's rate
limiter (``enableRateLimit``), retrying the failures that a later try can cure (network, timeout, rate limit,
exchange not available) with exponential backoff and jitter, and checks the symbol and timeframe up front.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from alphintra.errors import ValidationError
from alphintra.venues.ccxt_client import endpoint, venue_error

DEFAULT_PAGE_LIMIT = 1000


class CcxtOhlcvSource:
    """Pages of ``[ms, open, high, low, close, volume]`` from a ccxt client (oldest first)."""

    def __init__(
        self,
        client: Any,
        venue: str,
        *,
        retries: int = 5,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.venue = venue
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.where = endpoint(client)
        self.pages = 0

    @property
    def page_limit(self) -> int:
        """The most bars the exchange returns per request (ccxt's ``features``; Binance: 1000)."""
        features = getattr(self.client, "features", None) or {}
        spot = features.get("spot") if isinstance(features, dict) else None
        limit = (spot or {}).get("fetchOHLCV", {}).get("limit") if isinstance(spot, dict) else None
        return int(limit) if isinstance(limit, int) and limit > 0 else DEFAULT_PAGE_LIMIT

    def _call(self, action: str, fn: Callable[[], Any]) -> Any:
        import ccxt

        attempt = 0
        while True:
            try:
                return fn()
            except ccxt.NetworkError as exc:  # DDoSProtection, RequestTimeout, ExchangeNotAvailable included
                # InvalidNonce is a NetworkError in ccxt's tree but a clock problem: retrying the same clock fails
                if isinstance(exc, ccxt.InvalidNonce) or attempt >= self.retries:
                    raise venue_error(exc, self.venue, action, self.where) from None
                delay = self.backoff_s * (2**attempt)
                self.sleep(delay + self.rng.uniform(0, delay))  # jitter: clients that failed together spread out
                attempt += 1
            except ccxt.BaseError as exc:
                raise venue_error(exc, self.venue, action, self.where) from None

    def check(self, symbol: str, timeframe: str) -> None:
        """Refuse a symbol the venue does not list and a timeframe it does not serve (exit 2)."""
        markets = self._call("load its markets", self.client.load_markets)
        if symbol not in markets:
            sample = ", ".join(sorted(markets)[:8]) + (", …" if len(markets) > 8 else "")
            raise ValidationError("--symbol", f"is not listed by venue {self.venue!r} (it lists {sample})", symbol)
        offered = list(getattr(self.client, "timeframes", None) or {})
        if timeframe not in offered:
            raise ValidationError(
                "--timeframe", f"must be one venue {self.venue!r} serves: {' '.join(offered) or 'none'}", timeframe
            )

    def fetch_ohlcv(self, symbol: str, timeframe: str, since_ms: int | None, limit: int) -> list[list[float]]:
        self.pages += 1
        rows = self._call(
            f"fetch {symbol} {timeframe} bars",
            lambda: self.client.fetch_ohlcv(symbol, timeframe, since=since_ms, limit=min(limit, self.page_limit)),
        )
        return list(rows)


__all__ = ["DEFAULT_PAGE_LIMIT", "CcxtOhlcvSource"]
