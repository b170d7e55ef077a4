"""Backtests that skip quiet bars: indicator lines and wake masks change how fast a run is, never its result.

A run with ``skip_quiet_bars=False`` shows the strategy every bar and checks its wake mask; the default run shows
it only the bars the mask marks and the bars its orders or timers need. Both must give the same fills, equity,
prices, trades and metrics, exactly.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphintra.errors import ValidationError
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import BarData, Strategy, StrategyError, StrategyParams
from alphintra.strategies.lines import Lines
from alphintra.strategies.result import BacktestResult
from tests.unit.strategies.builtins.strategy_checks import sample

HOUR = 3_600_000_000_000


def bars(symbols: list[str], n: int, seed: int) -> dict[str, pl.DataFrame]:
    df = generate_bars(symbols, periods=n, timeframe="1m", seed=seed, annual_vol=0.4)
    return {
        s: df.filter(pl.col("symbol") == s).select("time", "open", "high", "low", "close", "volume") for s in symbols
    }


def run(config: BacktestConfig, frames: dict[str, pl.DataFrame], strategy: Strategy | None = None) -> Backtest:
    bt = Backtest(config, frames, strategy=strategy)
    shown: list[int] = []
    target = bt.strategy
    original = target.on_bar

    def on_bar(bar: BarData) -> None:
        shown.append(bar.ts)
        original(bar)

    target.on_bar = on_bar  # type: ignore[method-assign]
    bt.result = bt.run()  # type: ignore[attr-defined]
    bt.shown = shown  # type: ignore[attr-defined]
    return bt


def assert_same(skipped: Backtest, full: Backtest) -> None:
    a: BacktestResult = skipped.result  # type: ignore[attr-defined]
    b: BacktestResult = full.result  # type: ignore[attr-defined]
    assert skipped.fills == full.fills
    assert a.equity == b.equity
    assert a.drawdown == b.drawdown
    assert a.prices == b.prices
    assert a.trades == b.trades
    assert a.metrics == b.metrics
    assert skipped.ctx.signals == full.ctx.signals


def audit_equity(bt: Backtest, frame: pl.DataFrame, bar_ns: int) -> None:
    """Equity at every bar re-derived from the fills and the closes alone: cash + position x close, exactly."""
    result: BacktestResult = bt.result  # type: ignore[attr-defined]
    times = frame["time"].dt.epoch("ns").to_list()
    ends = [t + bar_ns for t in times]  # a bar's equity point is at its close
    inst = bt.instruments.get(bt.config.symbols[0])
    fills = sorted(bt.fills, key=lambda f: f.ts)
    cash, held, k = bt.config.cash, Decimal(0), 0
    assert len(result.equity) == len(times)
    for i, close in enumerate(frame["close"].to_list()):
        while k < len(fills) and fills[k].ts < ends[i]:
            f = fills[k]
            signed_qty = f.qty if f.side.value == "BUY" else -f.qty
            cash -= signed_qty * f.price + f.fee
            held += signed_qty
            k += 1
        expected = cash + held * inst.round_price(Decimal(repr(close)))
        assert result.equity[i] == (ends[i], expected), (i, result.equity[i], expected)
    assert k == len(fills)


def both(config: BacktestConfig, frames: dict[str, pl.DataFrame], make: Any = None) -> tuple[Backtest, Backtest]:
    skipped = run(config, frames, make() if make else None)
    full = run(dataclasses.replace(config, skip_quiet_bars=False), frames, make() if make else None)
    return skipped, full


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    fast=st.integers(1, 12),
    gap=st.integers(1, 30),
    allow_short=st.booleans(),
    n=st.integers(50, 1_500),
)
def test_sma_cross_skipping_gives_the_same_run(seed: int, fast: int, gap: int, allow_short: bool, n: int) -> None:
    frames = bars(["SYN"], n, seed)
    params = {"fast": fast, "slow": fast + gap, "allow_short": allow_short}
    config = BacktestConfig("sma_cross", ("SYN",), "1m", params=params, cash=Decimal(100_000), fee=Decimal("0.001"))
    skipped, full = both(config, frames)
    assert_same(skipped, full)
    audit_equity(skipped, frames["SYN"], bar_ns=60_000_000_000)
    assert len(full.shown) == n  # type: ignore[attr-defined]
    # Shown: the crossing bars and the bars their orders fill on, no more.
    assert len(skipped.shown) <= 2 * len(skipped.ctx.signals) + 1  # type: ignore[attr-defined]


def test_sma_cross_on_goog_skips_most_bars_and_keeps_the_pinned_result() -> None:
    goog = sample("GOOG", "1d")
    config = BacktestConfig(
        "sma_cross", ("GOOG",), "1d", params={"fast": 10, "slow": 20}, cash=Decimal(10_000), fee=Decimal("0.002")
    )
    skipped, full = both(config, {"GOOG": goog})
    assert_same(skipped, full)
    assert skipped.result.equity[-1][1] == Decimal("55843.07578")  # type: ignore[attr-defined]
    audit_equity(skipped, goog, bar_ns=86_400_000_000_000)
    assert len(skipped.fills) == 94
    assert len(skipped.shown) < len(full.shown) // 5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "params",
    [
        {"entry": 20, "exit": 10},
        {"entry": 15, "exit": 5, "allow_short": True, "reverse": True},
        {"entry": 20, "exit": 10, "allow_short": True, "reverse": True, "atr_stop": "1.5", "atr_period": 14},
    ],
)
def test_donchian_skipping_gives_the_same_run(params: dict[str, Any]) -> None:
    goog = sample("GOOG", "1d")
    config = BacktestConfig("donchian", ("GOOG",), "1d", params=params, cash=Decimal(10_000), fee=Decimal("0.001"))
    skipped, full = both(config, {"GOOG": goog})
    assert_same(skipped, full)
    audit_equity(skipped, goog, bar_ns=86_400_000_000_000)
    assert skipped.fills
    if "atr_stop" not in params:  # a working stop keeps the engine busy: every bar in a position is shown
        assert len(skipped.shown) < len(full.shown) // 3  # type: ignore[attr-defined]
    minute = bars(["SYN"], 3_000, 5)
    config = dataclasses.replace(config, symbols=("SYN",), timeframe="1m", cash=Decimal(100_000))
    skipped, full = both(config, minute)
    assert_same(skipped, full)
    assert skipped.fills


class _Params(StrategyParams):
    act_at: int = 50


class MissesABar(Strategy):
    """Buys on one bar that its wake mask leaves out: a broken mask."""

    name = "misses_a_bar"

    def on_start(self) -> None:
        self.count = 0

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        return np.zeros(bars.height, dtype=bool)

    def on_bar(self, bar: BarData) -> None:
        self.count += 1
        if self.count == self.params.act_at:  # type: ignore[attr-defined]
            self.buy(bar.symbol, 1)


def test_a_wake_mask_that_misses_a_bar_fails_the_checked_run() -> None:
    frames = bars(["SYN"], 200, 3)

    def make() -> MissesABar:
        return MissesABar(_Params())

    config = BacktestConfig("misses_a_bar", ("SYN",), "1m", skip_quiet_bars=False)
    with pytest.raises(StrategyError, match="wake mask left out"):
        Backtest(config, frames, strategy=make()).run()
    # Skipping trusts the mask: the strategy is never shown the bar, so it never buys.
    skipped = run(dataclasses.replace(config, skip_quiet_bars=True), frames, make())
    assert skipped.fills == [] and skipped.shown == []  # type: ignore[attr-defined]


class WrongLength(Strategy):
    name = "wrong_length"

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        return np.ones(3, dtype=bool)


def test_a_wake_mask_of_the_wrong_length_is_refused() -> None:
    config = BacktestConfig("wrong_length", ("SYN",), "1m")
    with pytest.raises(StrategyError, match=r"one flag per bar \(200\)"):
        Backtest(config, bars(["SYN"], 200, 1), strategy=WrongLength()).run()


class Hourly(Strategy):
    """Never wakes on a bar; buys one share on an hourly timer (timers must still fire on time when skipping)."""

    name = "hourly"

    def on_start(self) -> None:
        self.set_timer("buy", interval_ns=HOUR)

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        return np.zeros(bars.height, dtype=bool)

    def on_timer(self, name: str, ts: int) -> None:
        self.signal("tick", float(ts))
        self.buy(self.symbols[0], 1)


def test_timers_fire_on_the_same_bars_when_skipping() -> None:
    frames = bars(["SYN"], 600, 9)
    config = BacktestConfig("hourly", ("SYN",), "1m", cash=Decimal(100_000))
    skipped, full = both(config, frames, Hourly)
    assert_same(skipped, full)
    assert len(skipped.fills) == 9  # hours 1..9 of a 10-hour series (the last timer falls due after the last fill)
    assert len(skipped.shown) < 30  # type: ignore[attr-defined]


class LeadLagParams(StrategyParams):
    fast: int = 5
    slow: int = 20


class LeadLag(Strategy):
    """Two symbols: trades B on crosses of A's averages, with B's own average as a filter (cross-symbol lines)."""

    name = "lead_lag"
    symbols_required = 2
    Params = LeadLagParams

    def on_start(self) -> None:
        a, b = self.symbols
        p: LeadLagParams = self.params  # type: ignore[assignment]
        self.fast = self.indicator("sma", a, period=p.fast)
        self.slow = self.indicator("sma", a, period=p.slow)
        self.trend = self.indicator("ema", b, period=p.slow)

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        diff = self.fast.array() - self.slow.array()
        prev = np.concatenate(([np.nan], diff[:-1]))
        crossed = ((prev <= 0) & (diff > 0)) | ((prev >= 0) & (diff < 0))
        return crossed if symbol == self.symbols[0] else np.zeros(len(diff), dtype=bool)

    def on_bar(self, bar: BarData) -> None:
        a, b = self.symbols
        if bar.symbol != a:
            return
        values = (self.fast.value, self.slow.value, self.fast.previous, self.slow.previous, self.trend.value)
        if any(v is None for v in values):
            return
        fast, slow, pf, ps, trend = values
        diff, prev = fast - slow, pf - ps  # type: ignore[operator]
        if prev <= 0 < diff:
            self.signal("up", diff, trend=trend)
            self.target_percent(b, Decimal("0.5"))
        elif prev >= 0 > diff:
            self.signal("down", diff, trend=trend)
            self.target_percent(b, Decimal("-0.5"))


def test_two_symbols_with_cross_symbol_lines_skip_identically() -> None:
    frames = bars(["AAA", "BBB"], 800, 21)
    config = BacktestConfig("lead_lag", ("AAA", "BBB"), "1m", cash=Decimal(100_000), fee=Decimal("0.001"))
    skipped, full = both(config, frames, LeadLag)
    assert_same(skipped, full)
    assert skipped.fills and len(skipped.shown) < len(full.shown) // 3  # type: ignore[attr-defined]
    # Bars of both symbols close together: one equity point per minute.
    assert len(skipped.result.equity) == 800  # type: ignore[attr-defined]


def test_a_risk_engine_sees_every_bar_so_nothing_is_skipped() -> None:
    frames = bars(["SYN"], 300, 4)
    config = BacktestConfig("sma_cross", ("SYN",), "1m", params={"fast": 3, "slow": 9}, cash=Decimal(100_000))

    class Watcher:
        def __init__(self) -> None:
            self.bars = 0

        def check(self, *args: Any) -> None:
            return None

        def on_bar(self, node: Any, bar: Any) -> None:
            self.bars += 1

        def on_price(self, *args: Any) -> None:
            return None

    watcher = Watcher()
    bt = Backtest(config, frames, risk=watcher)
    bt.run()
    assert watcher.bars == 300


@pytest.mark.parametrize(
    ("name", "params", "output"),
    [
        ("sma", {"period": 7}, None),
        ("ema", {"period": 9}, None),
        ("rsi", {"period": 14}, None),
        ("macd", {"fast": 5, "slow": 13, "signal": 4}, "histogram"),
        ("bollinger", {"period": 10}, "upper"),
        ("atr", {"period": 7}, None),
        ("stochastic", {}, "slow_d"),
        ("donchian", {"period": 12}, "middle"),
    ],
)
def test_precomputed_and_incremental_lines_agree(name: str, params: dict[str, Any], output: str | None) -> None:
    frame = bars(["SYN"], 300, 11)["SYN"]
    incremental, precomputed = Lines(), Lines()
    live = incremental.add(name, "SYN", output, params)
    whole = precomputed.add(name, "SYN", output, params)
    precomputed.precompute({"SYN": frame})
    assert whole.precomputed and not live.precomputed
    seen_value = False
    for row, rec in enumerate(frame.iter_rows(named=True)):
        bar = BarData("SYN", 0, rec["open"], rec["high"], rec["low"], rec["close"], rec["volume"])
        incremental.feed(bar)
        precomputed.seek("SYN", row)
        for a, b in ((live.value, whole.value), (live.previous, whole.previous)):
            assert (a is None) == (b is None), (row, a, b)
            if a is not None:
                seen_value = True
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9)
    assert seen_value


def test_line_requests_are_checked() -> None:
    lines = Lines()
    with pytest.raises(ValidationError) as exc:
        lines.add("smaa", "SYN", None, {})
    assert exc.value.field == "indicator"
    with pytest.raises(ValidationError) as exc:
        lines.add("macd", "SYN", "hist", {})
    assert exc.value.field == "output" and "histogram" in exc.value.message
    with pytest.raises(ValidationError) as exc:
        lines.add("sma", "SYN", None, {"period": 0}).value  # noqa: B018
    assert exc.value.field == "period"
    live = lines.add("sma", "SYN", None, {"period": 3})
    with pytest.raises(ValidationError, match="precomputed"):
        live.array()


class OtherSymbol(Strategy):
    name = "other_symbol"

    def on_start(self) -> None:
        self.indicator("sma", "NOPE", period=3)


def test_a_line_of_a_symbol_the_strategy_does_not_trade_is_refused() -> None:
    config = BacktestConfig("other_symbol", ("SYN",), "1m")
    with pytest.raises(StrategyError, match="must be one of the strategy's symbols"):
        Backtest(config, bars(["SYN"], 50, 1), strategy=OtherSymbol()).run()


class ShortsOnce(Strategy):
    """Goes short with all its equity on the first bar and never acts again (its mask wakes it once)."""

    name = "shorts_once"

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        mask = np.zeros(bars.height, dtype=bool)
        mask[0] = True
        return mask

    def on_start(self) -> None:
        self.done = False

    def on_bar(self, bar: BarData) -> None:
        if not self.done:
            self.done = True
            self.target_percent(bar.symbol, -1)


def rising(n: int, start: float = 100.0, step: float = 0.25) -> dict[str, pl.DataFrame]:
    closes = [start + step * i for i in range(n)]
    times = pl.datetime_range(
        pl.datetime(2024, 1, 1, time_zone="UTC"),
        pl.datetime(2024, 1, 1, time_zone="UTC") + pl.duration(minutes=n - 1),
        "1m",
        eager=True,
    )
    frame = pl.DataFrame({"time": times, "open": closes, "high": closes, "low": closes, "close": closes})
    return {"SYN": frame.with_columns(pl.lit(1000.0).alias("volume"))}


def test_a_margin_call_closes_the_short_on_the_same_bar_when_skipping() -> None:
    """Equity of an all-in short falls with a rally; below the maintenance margin (half the initial) the node
    closes the position at the next open. The skipping run finds that bar in its quiet stretch and matches the
    run that shows every bar, fill for fill."""
    frames = rising(400)
    config = BacktestConfig("shorts_once", ("SYN",), "1m", cash=Decimal(10_000), fee=Decimal(0))
    skipped, full = both(config, frames, ShortsOnce)
    assert_same(skipped, full)
    assert len(skipped.shown) < 5 < len(full.shown)  # type: ignore[attr-defined]
    entry, cover = skipped.fills
    assert (entry.side.value, cover.side.value) == ("SELL", "BUY") and cover.qty == entry.qty
    called = [o for o in skipped.node.orders.values() if "margin-call" in o.tags]
    assert [(o.order_type.value, o.reduce_only, o.status.value) for o in called] == [("MARKET", True, "FILLED")]
    # The call came on the first close where cash + position x close < |position| x close x 0.5, and filled at
    # the next bar's open; equity stayed positive.
    cash = Decimal(10_000) + entry.qty * entry.price
    closes = frames["SYN"]["close"].to_list()
    first = next(
        i for i, c in enumerate(closes) if cash - entry.qty * Decimal(repr(c)) < entry.qty * Decimal(repr(c)) / 2
    )
    assert cover.price == Decimal(repr(closes[first + 1]))
    result: BacktestResult = skipped.result  # type: ignore[attr-defined]
    assert min(v for _, v in result.equity) > 0
    assert any(n.startswith("margin call") for n in result.notes)
    audit_equity(skipped, frames["SYN"], 60_000_000_000)
