"""Recording a live venue's market data into the store: 1m bars built from its public trades.

A ccxt venue with ``record = true`` (``[venues.NAME]``, or ``venue add --record``) has every trade its trades stream
shows folded into one-minute OHLCV bars (the exchange's trade times, exact Decimal sums turned into the store's
floats only on writing), written into the market store (``$ALPHINTRA_HOME/market``) as the dataset
``ohlcv/<venue>/<symbol>/1m`` -- the one ``data download --venue NAME`` fills, so a download and a recording
complete each other.

What is written is only what is known complete:
- a minute closes when a trade of a later minute arrives, or once the clock is ``grace_s`` past its end (a quiet
  market still gets its last bar); the minute still open when the daemon stops is never written;
- the first minute a recorder sees of a symbol is not written (it started with trades already past that it did not
  see), so a restart never writes a partial bar over a complete one;
- writes are keyed by the bar's time (the store replaces a stored row of that time), so writing a bar again never
  duplicates it.

One writer per store: the daemon is the writer while it runs; each write opens the store for its moment and closes
it (DuckDB's lock keeps any other writer out meanwhile). A write that cannot take the store now (a ``data import``
holds it) keeps its bars and tries again on the next round.

Threads: trades arrive on the engine thread (:meth:`BarRecorder.on_trades`); a writer thread closes due minutes and
writes them, so a slow disk never stalls the node.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from alphintra.osthread import name_os_thread

if TYPE_CHECKING:
    from alphintra.engine.data import TradeTick

log = logging.getLogger("alphintra.daemon.recorder")
NS_PER_MINUTE = 60_000_000_000
TIMEFRAME = "1m"


@dataclass
class MinuteBar:
    """One minute of trades (prices and sizes exact)."""

    minute: int  # the minute's start, ns
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    partial: bool = False  # the recorder's first minute of the symbol: not all of it was seen

    @classmethod
    def first(cls, minute: int, tick: TradeTick, *, partial: bool) -> MinuteBar:
        p, q = tick.price, tick.quantity
        return cls(minute, p, p, p, p, q, p * q, 1, partial)

    def add(self, tick: TradeTick) -> None:
        p, q = tick.price, tick.quantity
        self.high = max(self.high, p)
        self.low = min(self.low, p)
        self.close = p
        self.volume += q
        self.quote_volume += p * q
        self.trades += 1


class BarBuilder:
    """The minute bars of one venue's trades; no I/O, the caller's clock (see the module for what closes)."""

    def __init__(self, grace_ns: int) -> None:
        self.grace_ns = grace_ns
        self.open: dict[str, MinuteBar] = {}
        self.done: dict[str, int] = {}  # each symbol's last closed minute: every trade since was seen
        self.closed: list[tuple[str, MinuteBar]] = []
        self.late = 0  # trades of a minute already closed (counted, never folded into a written bar)

    def add(self, symbol: str, tick: TradeTick) -> None:
        minute = tick.ts - tick.ts % NS_PER_MINUTE
        bar = self.open.get(symbol)
        if bar is not None and minute == bar.minute:
            bar.add(tick)
            return
        done = self.done.get(symbol)
        if (bar is not None and minute < bar.minute) or (done is not None and minute <= done):
            self.late += 1
            return
        if bar is not None:
            self._close(symbol, bar)
        # the first minute the builder sees of a symbol began before it listened: partial
        self.open[symbol] = MinuteBar.first(minute, tick, partial=bar is None and done is None)

    def close_due(self, now_ns: int) -> None:
        """Close each open minute whose end is more than the grace behind ``now_ns``."""
        for symbol, bar in list(self.open.items()):
            if bar.minute + NS_PER_MINUTE + self.grace_ns <= now_ns:
                self._close(symbol, bar)
                del self.open[symbol]

    def _close(self, symbol: str, bar: MinuteBar) -> None:
        self.done[symbol] = bar.minute
        if not bar.partial:
            self.closed.append((symbol, bar))

    def take(self) -> list[tuple[str, MinuteBar]]:
        out, self.closed = self.closed, []
        return out


class BarRecorder:
    """One venue's recording: :class:`BarBuilder` fed on the engine thread, written by its own thread."""

    def __init__(
        self,
        venue: str,
        root: Path,
        *,
        grace_s: float = 5.0,
        interval_s: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.venue = venue
        self.root = root
        self.interval_s = interval_s
        self.clock = clock
        self.builder = BarBuilder(int(grace_s * 1e9))
        self.pending: list[tuple[str, MinuteBar]] = []
        self.written = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_trades(self, ticks: list[TradeTick]) -> None:
        with self._lock:
            for tick in ticks:
                if tick.quantity > 0:  # a ticker's last price is no trade of its own
                    self.builder.add(tick.symbol, tick)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"record-{self.venue}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write what is closed and stop (the open minutes are not complete: they are not written)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        name_os_thread()
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> int:
        """Close due minutes and write every closed bar; returns how many were written (0 when the store was
        busy: they stay pending for the next round)."""
        with self._lock:
            self.builder.close_due(self.clock())
            self.pending.extend(self.builder.take())
            batch = list(self.pending)
        if not batch:
            return 0
        try:
            write_bars(self.root, self.venue, batch)
        except Exception as exc:  # the store is busy or the disk refuses: the bars wait for the next round
            self.failures += 1
            if self.failures == 1 or self.failures % 60 == 0:
                log.warning("venue %s: %d recorded bar(s) not written yet (%s)", self.venue, len(batch), exc)
            return 0
        with self._lock:
            del self.pending[: len(batch)]
        self.written += len(batch)
        return len(batch)


def write_bars(root: Path, venue: str, bars: list[tuple[str, MinuteBar]]) -> None:
    """Write closed minute bars into the store at ``root`` (a bar of a stored time replaces it: idempotent)."""
    import polars as pl

    from alphintra.storage.market import MarketStore

    by_symbol: dict[str, list[MinuteBar]] = {}
    for symbol, bar in bars:
        by_symbol.setdefault(symbol, []).append(bar)
    with MarketStore(root) as store:
        for symbol, rows in by_symbol.items():
            frame = pl.DataFrame(
                {
                    "time": [b.minute for b in rows],
                    "open": [float(b.open) for b in rows],
                    "high": [float(b.high) for b in rows],
                    "low": [float(b.low) for b in rows],
                    "close": [float(b.close) for b in rows],
                    "volume": [float(b.volume) for b in rows],
                    "quote_volume": [float(b.quote_volume) for b in rows],
                    "trades_count": [b.trades for b in rows],
                },
                schema_overrides={"time": pl.Int64, "trades_count": pl.Int64},
            )
            store.write_bars(
                frame, timeframe=TIMEFRAME, symbol=symbol, exchange=venue, source=f"{venue} {symbol} recording"
            )


__all__ = ["NS_PER_MINUTE", "BarBuilder", "BarRecorder", "MinuteBar", "write_bars"]
