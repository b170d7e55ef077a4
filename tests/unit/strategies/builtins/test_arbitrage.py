"""arbitrage across two simulated venues: BTC/USD and a second venue quoting it with an oscillating offset."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

import polars as pl
import pytest
from strategy_checks import audited_run, signed

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.instrument import Instrument
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import StrategyError

FEE = Decimal("0.0005")
A, B = "BTC/USD", "BTC/USD.B"
# The second venue's coin is its own asset in the ledger (BTCB), or both legs would net out in one BTC balance.
INSTRUMENTS = (
    Instrument.create(A, tick_size="0.01", lot_size="0.0001"),
    Instrument.create(B, tick_size="0.01", lot_size="0.0001", base="BTCB", quote="USD"),
)


def venues(periods: int = 600, amplitude: float = 0.004) -> dict[str, pl.DataFrame]:
    a = generate_bars([A], periods=periods, timeframe="1h", seed=3, start_price=30_000.0, annual_vol=0.6)
    # Venue B quotes the same market with a premium that swings between +amplitude and -amplitude every 60 hours.
    offset = pl.Series([1.0 + amplitude * math.sin(2 * math.pi * t / 60) for t in range(periods)])
    b = a.with_columns(*[(pl.col(c) * offset).round(2).alias(c) for c in ("open", "high", "low", "close")])
    b = b.with_columns(high=pl.max_horizontal("open", "high", "close"), low=pl.min_horizontal("open", "low", "close"))
    return {A: a, B: b}


def cents(price: float) -> Decimal:
    return Decimal(repr(price)).quantize(Decimal("0.01"))


def run(params: dict[str, object], frames: dict[str, pl.DataFrame]) -> tuple[Backtest, object]:
    config = BacktestConfig(
        "arbitrage", (A, B), "1h", params=params, fee=FEE, cash=Decimal(50_000), instruments=INSTRUMENTS
    )
    bt = Backtest(config, frames)
    return bt, audited_run(bt)


def test_buys_the_cheap_venue_sells_the_dear_one_and_unwinds() -> None:
    frames = venues()
    _bt, (result, audit) = run({"notional": "10000", "min_edge": "0.001"}, frames)  # type: ignore[misc]
    threshold = 4 * 0.0005 + 0.001
    a_close, b_close = frames[A]["close"].to_list(), frames[B]["close"].to_list()
    a_open, b_open = frames[A]["open"].to_list(), frames[B]["open"].to_list()
    rows = audit.rows
    held = {A: Decimal(0), B: Decimal(0)}
    entries = unwinds = 0
    for k in range(len(a_close) - 1):
        for r in rows[2 * k : 2 * k + 2]:
            for f in r.fills:
                held[f.symbol] += signed(f)
        assert held[A] == -held[B], "the two legs always hedge each other"
        nxt = {f.symbol: f for f in rows[2 * k + 2].fills + rows[2 * k + 3].fills}
        gap = (b_close[k] - a_close[k]) / a_close[k]
        if held[A] == 0:
            if abs(gap) > threshold + 1e-12:
                entries += 1
                cheap, dear = (A, B) if gap > 0 else (B, A)
                assert nxt[cheap].side is OrderSide.BUY and nxt[dear].side is OrderSide.SELL
                price = Decimal(repr(max(a_close[k], b_close[k])))
                qty = (Decimal(10_000) / price / Decimal("0.0001")).to_integral_value(rounding=ROUND_DOWN)
                assert nxt[A].last_qty == nxt[B].last_qty == qty * Decimal("0.0001")
                assert (nxt[A].last_px, nxt[B].last_px) == (cents(a_open[k + 1]), cents(b_open[k + 1]))
            elif abs(abs(gap) - threshold) > 1e-12:
                assert nxt == {}
        else:
            closed = gap <= 0 if held[A] > 0 else gap >= 0
            assert bool(nxt) == closed, f"hour {k}: gap {gap:.5f} with {held}"
            if closed:
                unwinds += 1
                assert {s: f.last_qty for s, f in nxt.items()} == {A: abs(held[A]), B: abs(held[B])}
    assert entries >= 8 and unwinds >= 8
    # The premium swings well past the fees: the round trips make money after all of them.
    assert result.equity[-1][1] > Decimal(50_000)  # type: ignore[attr-defined]
    assert sum(t.pnl for t in result.trades) > 0  # type: ignore[attr-defined]


def test_an_edge_that_fees_eat_is_not_traded() -> None:
    frames = venues(periods=200, amplitude=0.0015)  # gaps below 4 fees + edge
    _bt, (result, audit) = run({"notional": "10000"}, frames)  # type: ignore[misc]
    assert audit.fills == []
    assert result.equity[-1][1] == Decimal(50_000)  # type: ignore[attr-defined]


def test_lots_that_do_not_nest_are_refused() -> None:
    frames = venues(periods=20)
    odd = (INSTRUMENTS[0], Instrument.create(B, tick_size="0.01", lot_size="0.00015", base="BTCB", quote="USD"))
    config = BacktestConfig("arbitrage", (A, B), "1h", fee=FEE, cash=Decimal(50_000), instruments=odd)
    with pytest.raises(StrategyError, match="lot sizes"):
        Backtest(config, frames).run()
