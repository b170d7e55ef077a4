"""No look-ahead: a strategy sees a bar only once it has closed, and its orders trade on later prices only."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from alphintra.engine.core.events import OrderEvent
from alphintra.engine.core.orders import Order
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import BarData, Strategy


class Peeker(Strategy):
    name = "peeker_test"

    def on_start(self) -> None:
        self.seen: list[tuple[int, int, Decimal | None]] = []
        self.placed: dict[str, int] = {}

    def on_bar(self, bar: BarData) -> None:
        self.seen.append((bar.ts, self.now(), self.price(bar.symbol)))
        if len(self.seen) % 7 == 0:
            side = "BUY" if self.position(bar.symbol) <= 0 else "SELL"
            order = (self.buy if side == "BUY" else self.sell)(bar.symbol, 1)
            self.placed[order.id] = bar.ts

    def on_order_update(self, order: Order, event: OrderEvent) -> None:
        pass


def test_bars_are_seen_after_they_close_and_orders_fill_later() -> None:
    df = generate_bars(["SYN"], periods=600, timeframe="1m", seed=3).select(
        "time", "open", "high", "low", "close", "volume"
    )
    config = BacktestConfig("sma_cross", ("SYN",), "1m", cash=Decimal(1_000_000), fee=Decimal(0))
    strategy = Peeker()
    bt = Backtest(config, {"SYN": df}, strategy=strategy)
    bt.run()
    times = df["time"].dt.epoch("ns").to_list()
    opens = {t: Decimal(f"{o:.2f}") for t, o in zip(times, df["open"].to_list(), strict=True)}  # tick 0.01
    closes = {t: Decimal(f"{c:.2f}") for t, c in zip(times, df["close"].to_list(), strict=True)}
    minute = 60_000_000_000
    for bar_ts, now, price in strategy.seen:
        assert now >= bar_ts + minute, "a bar must be complete before the strategy sees it"
        assert price == closes[bar_ts], "the last price a strategy sees is the close of the bar it was given"
    assert len(bt.fills) == len(strategy.placed) > 50
    for fill in bt.fills:
        signal_bar = strategy.placed[fill.order_id]
        assert fill.ts > signal_bar, "an order cannot trade on the bar that produced its signal"
        assert fill.ts == signal_bar + minute, "it trades at the next bar"
        assert fill.price == opens[fill.ts], "at that bar's open"


def test_walk_forward_windows_hide_the_future() -> None:
    from alphintra.strategies import optimize as opt

    df = generate_bars(["SYN"], periods=300, timeframe="1m", seed=4).select(
        "time", "open", "high", "low", "close", "volume"
    )
    start = int(df["time"].dt.epoch("ns").min())  # type: ignore[arg-type]
    end = int(df["time"].dt.epoch("ns").max()) + 1  # type: ignore[arg-type]
    windows = opt.walk_forward_windows(start, end, train_ns=100 * 60_000_000_000, test_ns=50 * 60_000_000_000)
    assert windows
    for w in windows:
        assert w.train_end == w.test_start
        visible = df.filter(pl.col("time").dt.epoch("ns") < w.train_end)
        assert int(visible["time"].dt.epoch("ns").max()) < w.test_start  # type: ignore[arg-type]
