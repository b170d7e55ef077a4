"""Shared checks for the built-in strategies' tests: sample data, and an equity audit independent of the
backtester's own bookkeeping.

The audit watches a run from the outside: it records, for every bar the strategy is shown, which fills happened
since the previous bar (a node listener) and the bar's close (wrapping the strategy's ``on_bar``). Afterwards it
re-derives cash (the configured cash, minus ``side x qty x price`` and the fee of every fill) and positions (the
signed sum of fill quantities) and checks, at every equity point, that the recorded equity is exactly cash plus
positions valued at each symbol's last close.
"""

from __future__ import annotations

import atexit
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.strategies.backtest import Backtest
from alphintra.strategies.base import BarData
from alphintra.strategies.result import BacktestResult

_SAMPLES: dict[tuple[str, str], pl.DataFrame] = {}
_ROOT: Path | None = None


def sample(symbol: str, timeframe: str) -> pl.DataFrame:
    """A shipped sample series (GOOG 1d, EUR/USD 1h, BTC/USD 1M), loaded once per test process."""
    global _ROOT
    key = (symbol, timeframe)
    if key not in _SAMPLES:
        from alphintra.storage.market import MarketData, MarketStore, load_samples

        if _ROOT is None:
            tmp = tempfile.TemporaryDirectory(prefix="alphintra-builtins-")
            atexit.register(tmp.cleanup)
            _ROOT = Path(tmp.name)
            load_samples(MarketStore(_ROOT))
        _SAMPLES[key] = MarketData(_ROOT).bars(symbol, timeframe)
    return _SAMPLES[key]


@dataclass
class _Row:
    symbol: str
    ts: int
    close: float
    fills: list[OrderFilled] = field(default_factory=list)


class EquityAudit:
    """Attach before ``run()``; call :meth:`check` with the result afterwards."""

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt
        self.rows: list[_Row] = []
        self._pending: list[OrderFilled] = []
        self._inside: _Row | None = None
        strategy = bt.strategy
        original: Callable[[BarData], None] = strategy.on_bar

        def on_bar(bar: BarData) -> None:
            row = _Row(bar.symbol, bar.ts, bar.close, self._pending)
            self._pending = []
            self.rows.append(row)
            self._inside = row
            try:
                original(bar)
            finally:
                self._inside = None

        # The runner looks the hook up on the instance at every bar, so this wraps exactly what it calls.
        strategy.on_bar = on_bar  # type: ignore[method-assign]
        bt.node.listeners.append(self._on_event)

    def _on_event(self, order: Order, event: OrderEvent) -> None:
        if isinstance(event, OrderFilled):
            # A fill while the strategy handles a bar (book mode trades at once) belongs to that bar's equity
            # point; any other fill happened while the next bar was traded.
            (self._inside.fills if self._inside is not None else self._pending).append(event)

    def check(self, result: BacktestResult) -> dict[str, Decimal]:
        """Assert equity == cash + positions at every equity point; returns the final positions.

        With one symbol there is an equity point per bar. With several, the symbols' bars of one instant arrive
        one after the other and the equity point of that instant follows the last of them.
        """
        bt = self.bt
        assert not self._pending, "fills after the last bar"
        ends = [i for i, row in enumerate(self.rows) if i + 1 == len(self.rows) or self.rows[i + 1].ts != row.ts]
        if len(bt.config.symbols) == 1:
            assert len(ends) == len(self.rows)
        assert len(result.equity) == len(ends), f"{len(result.equity)} equity points for {len(ends)} instants"
        points = iter(result.equity)
        cash = bt.config.cash
        held: dict[str, Decimal] = {}
        last: dict[str, Decimal] = {}
        for i, row in enumerate(self.rows):
            for fill in row.fills:
                signed = fill.last_qty if fill.side is OrderSide.BUY else -fill.last_qty
                cash -= signed * fill.last_px + fill.fee
                held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + signed
            last[row.symbol] = bt.instruments.get(row.symbol).round_price(Decimal(repr(row.close)))
            if i + 1 < len(self.rows) and self.rows[i + 1].ts == row.ts:
                continue
            _, equity = next(points)
            value = cash + sum((q * last[s] for s, q in held.items() if q != 0), Decimal(0))
            assert equity == value, f"bar {i} ({row.symbol}): equity {equity} != cash {cash} + positions {held}"
        return held

    @property
    def fills(self) -> list[OrderFilled]:
        return [f for row in self.rows for f in row.fills]


def signed(fill: Any) -> Decimal:
    qty: Decimal = fill.last_qty if hasattr(fill, "last_qty") else fill.qty
    return qty if fill.side is OrderSide.BUY else -qty


def audited_run(bt: Backtest) -> tuple[BacktestResult, EquityAudit]:
    audit = EquityAudit(bt)
    result = bt.run()
    audit.check(result)
    return result, audit


__all__ = ["EquityAudit", "audited_run", "sample", "signed"]
