"""Public market data of a ccxt venue (ticker, trades, order book) for the node, the TUI's ladder and ``watch``.

:class:`MarketFeeds` runs ccxt.pro's public streams on a loop thread of its own and hands each update to the
subscriber's callback through ``post`` (the engine thread in the daemon): a ticker as a :class:`Ticker` (a
24-hour ticker carries the last price; its best bid and ask when the exchange sends them), each trade as a
:class:`~alphintra.engine.data.TradeTick`, the book as a :class:`BookSnapshot` (ccxt.pro keeps it: a REST
snapshot, then the exchange's sequenced diffs).

A stream that stays silent for longer than ``stale_after_s`` of its kind (the ticker streams every second; a book
and trades only when something changes, so they are not watched for silence by default) is resubscribed: the
connection is closed and every subscription made again, which takes a fresh book snapshot, so a book that missed
diffs is re-synced rather than patched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from alphintra.engine.data import TradeTick
from alphintra.venues.ccxt_loop import LoopThread, close_client, isolated
from alphintra.venues.ccxt_markets import number

_log = logging.getLogger("alphintra.venues.feeds")
Kind = Literal["ticker", "trades", "book"]
Post = Callable[[Callable[[], None]], object]
# The ticker streams every second; a book and trades only when something changes (a quiet market is not silence).
STALE_AFTER_S: dict[str, float | None] = {"ticker": 5.0, "book": None, "trades": None}


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    ts: int  # ns
    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    symbol: str
    ts: int  # ns
    bids: tuple[tuple[Decimal, Decimal], ...]  # best first
    asks: tuple[tuple[Decimal, Decimal], ...]
    nonce: int | None = None  # the exchange's last update id


@dataclass
class _Sub:
    kind: Kind
    symbol: str
    callback: Callable[[Any], None]
    last_seen: float = 0.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _levels(side: Any, depth: int) -> tuple[tuple[Decimal, Decimal], ...]:
    out = []
    for level in list(side)[:depth]:
        price, qty = number(level[0]), number(level[1])
        if price is not None and qty is not None:
            out.append((price, qty))
    return tuple(out)


class MarketFeeds:
    """See the module. ``config`` is the ccxt constructor config (``urls``, ``options``; no keys needed)."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        post: Post,
        exchange: str = "binance",
        stale_after_s: dict[str, float | None] | None = None,
        check_s: float = 1.0,
        book_depth: int = 20,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._post = post
        self._exchange = exchange
        self.stale_after_s = {**STALE_AFTER_S, **(stale_after_s or {})}
        self.check_s = check_s
        self.book_depth = book_depth
        self._monotonic = monotonic
        self._subs: list[_Sub] = []
        self._loop: LoopThread | None = None
        self._client: Any = None
        self._watchdog: asyncio.Task[None] | None = None
        self.resubscribes = 0

    def start(self) -> None:
        self._loop = LoopThread("feeds")
        self._loop.call(self._open(), 30)

    async def _open(self) -> None:
        import ccxt.pro

        self._client = getattr(ccxt.pro, self._exchange)({**self._config, "enableRateLimit": True})
        await isolated(self._client.load_markets)
        self._watchdog = asyncio.create_task(self._watch_for_silence())

    def subscribe(self, kind: Kind, symbol: str, callback: Callable[[Any], None]) -> None:
        """Deliver ``kind`` updates of ``symbol`` to ``callback`` (through ``post``) until :meth:`close`."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("start the feeds first")
        sub = _Sub(kind, symbol, callback)
        loop.call(self._add(sub), 30)

    async def _add(self, sub: _Sub) -> None:
        if sub.symbol not in self._client.markets:
            from alphintra.errors import ValidationError

            raise ValidationError("symbol", "is not listed by the venue", sub.symbol)
        self._subs.append(sub)
        sub.last_seen = self._monotonic()
        sub.task = asyncio.create_task(self._run(sub))

    async def _run(self, sub: _Sub) -> None:
        client = self._client
        while True:
            try:
                if sub.kind == "ticker":
                    data = await isolated(lambda: client.watch_ticker(sub.symbol))
                    update: Any = self._quote(sub.symbol, data)
                elif sub.kind == "trades":
                    data = await isolated(lambda: client.watch_trades(sub.symbol))
                    update = [t for t in (self._trade(sub.symbol, x) for x in data) if t is not None]
                else:
                    data = await isolated(lambda: client.watch_order_book(sub.symbol, self.book_depth))
                    update = self._book(sub.symbol, data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("feed %s %s failed (%s); retrying", sub.kind, sub.symbol, type(exc).__name__)
                await asyncio.sleep(0.2)
                continue
            sub.last_seen = self._monotonic()
            if update is not None and update != []:
                self._post(lambda u=update, deliver=sub.callback: deliver(u))  # type: ignore[misc]

    @staticmethod
    def _quote(symbol: str, data: dict[str, Any]) -> Ticker | None:
        last = number(data.get("last"))
        if last is None:
            return None
        ts = int(data.get("timestamp") or time.time() * 1000) * 1_000_000
        return Ticker(symbol, ts, last, number(data.get("bid")), number(data.get("ask")))

    @staticmethod
    def _trade(symbol: str, data: dict[str, Any]) -> TradeTick | None:
        price, qty = number(data.get("price")), number(data.get("amount"))
        if price is None or qty is None:
            return None
        return TradeTick(symbol, int(data.get("timestamp") or 0) * 1_000_000, price, qty)

    def _book(self, symbol: str, data: dict[str, Any]) -> BookSnapshot:
        ts = int(data.get("timestamp") or time.time() * 1000) * 1_000_000
        nonce = data.get("nonce")
        return BookSnapshot(
            symbol,
            ts,
            _levels(data.get("bids") or [], self.book_depth),
            _levels(data.get("asks") or [], self.book_depth),
            int(nonce) if nonce is not None else None,
        )

    async def _watch_for_silence(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            now = self._monotonic()
            stale = [
                s
                for s in self._subs
                if (limit := self.stale_after_s.get(s.kind)) is not None and now - s.last_seen > limit
            ]
            if stale:
                names = ", ".join(f"{s.kind} {s.symbol}" for s in stale)
                _log.warning("feeds silent too long (%s): resubscribing and re-syncing the books", names)
                await self._resubscribe()

    async def _resubscribe(self) -> None:
        """Close the connection and subscribe everything again (a book starts from a fresh snapshot)."""
        self.resubscribes += 1
        for sub in self._subs:
            if sub.task is not None:
                sub.task.cancel()
        await asyncio.gather(*(s.task for s in self._subs if s.task is not None), return_exceptions=True)
        old = self._client
        with contextlib.suppress(Exception):
            await old.close()
        import ccxt.pro

        self._client = getattr(ccxt.pro, self._exchange)({**self._config, "enableRateLimit": True})
        self._client.markets = old.markets  # the markets did not change; skip reloading them
        self._client.markets_by_id = old.markets_by_id
        self._client.symbols = old.symbols
        now = self._monotonic()
        for sub in self._subs:
            sub.last_seen = now
            sub.task = asyncio.create_task(self._run(sub))

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None
        with contextlib.suppress(TimeoutError):
            loop.call(self._close(), 10)
        loop.stop()

    async def _close(self) -> None:
        tasks = [s.task for s in self._subs if s.task is not None]
        if self._watchdog is not None:
            tasks.append(self._watchdog)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_client(self._client)


__all__ = ["BookSnapshot", "MarketFeeds", "Ticker"]
