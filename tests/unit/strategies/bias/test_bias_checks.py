"""Bias checks: planted look-ahead and warm-up dependence are named with their first bar; the built-ins pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from alphintra.errors import ValidationError
from alphintra.storage.market import generate_bars
from alphintra.strategies import registry
from alphintra.strategies.backtest import BacktestConfig
from alphintra.strategies.base import BarData, Strategy
from alphintra.strategies.bias import check_bias
from tests.unit.strategies.builtins.strategy_checks import sample


class PeekNextClose(Strategy):
    """Planted look-ahead: reads the next bar's close from the frame its wake mask is given."""

    name = "peek_next_close"

    def on_start(self) -> None:
        self.row = -1
        self.next_close: list[float | None] = []

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray | None:
        self.next_close = bars["close"].shift(-1).to_list()
        return None  # every bar

    def on_bar(self, bar: BarData) -> None:
        self.row += 1
        upcoming = self.next_close[self.row]
        self.signal("next_close", float("nan") if upcoming is None else upcoming)
        self.target_percent(bar.symbol, 1 if upcoming is not None and upcoming > bar.close else 0)


class CumulativeVolume(Strategy):
    """Planted warm-up dependence: on-balance volume is a running sum from the first bar loaded."""

    name = "cumulative_volume"

    def on_start(self) -> None:
        self.obv = self.indicator("obv")
        self.sma = self.indicator("sma", period=10)

    def on_bar(self, bar: BarData) -> None:
        if self.obv.value is not None and self.sma.value is not None:
            self.target_percent(bar.symbol, 1 if self.obv.value > 0 and bar.close > self.sma.value else 0)


def _goog(rows: int) -> dict[str, pl.DataFrame]:
    return {"GOOG": sample("GOOG", "1d").tail(rows)}


def _config(strategy: str, symbols: tuple[str, ...] = ("GOOG",), **params: Any) -> BacktestConfig:
    return BacktestConfig(strategy=strategy, symbols=symbols, timeframe="1d", params=params)


def test_a_strategy_reading_the_next_close_is_flagged_at_the_first_cut() -> None:
    report = check_bias(_config("sma_cross"), _goog(300), cuts=3, trims=1, make_strategy=PeekNextClose)
    subjects = {(f.kind, f.subject): f for f in report.findings}
    assert set(subjects) <= {("lookahead", "signal next_close"), ("lookahead", "fills")}
    found = subjects[("lookahead", "signal next_close")]
    # The last bar before the earliest cut: the full run knows its next close, the cut run does not.
    assert found.first_ts == report.cuts[0]
    assert found.other == "-" and found.full != "-"
    assert not report.passed


def test_a_cumulative_indicator_is_flagged_as_warm_up_dependent() -> None:
    report = check_bias(_config("sma_cross"), _goog(300), cuts=2, trims=1, make_strategy=CumulativeVolume)
    assert [(f.kind, f.subject) for f in report.findings] == [("recursive", "indicator obv on GOOG")]
    # It differs from the first bar the shorter history has (a sum that started later).
    assert report.findings[0].first_ts == report.trims[0]
    assert report.findings[0].to_dict()["detail"].startswith("history from ")


def _two_symbols() -> dict[str, pl.DataFrame]:
    df = generate_bars(["AAA/USD", "BBB/USD"], periods=400, timeframe="1h", seed=3, annual_vol=0.4)
    return {
        s: df.filter(pl.col("symbol") == s).select("time", "open", "high", "low", "close", "volume")
        for s in ("AAA/USD", "BBB/USD")
    }


def _triangle() -> dict[str, pl.DataFrame]:
    """Three pairs over three assets, each its own random walk: the cross rate strays far from the implied one."""
    symbols = ("AAA/USD", "BBB/USD", "BBB/AAA")
    df = generate_bars(list(symbols), periods=400, timeframe="1h", seed=5, annual_vol=0.4)
    return {
        s: df.filter(pl.col("symbol") == s).select("time", "open", "high", "low", "close", "volume") for s in symbols
    }


@pytest.mark.parametrize("name", sorted(registry._BUILTIN_MODULES))  # each built-in module is its strategy's name
def test_every_built_in_strategy_passes(name: str) -> None:
    needs = registry.get(name).symbols_required
    if needs == 2:
        config = BacktestConfig(strategy=name, symbols=("AAA/USD", "BBB/USD"), timeframe="1h")
        frames = _two_symbols()
    elif needs == 3:
        frames = _triangle()
        config = BacktestConfig(strategy=name, symbols=tuple(frames), timeframe="1h")
    else:
        config, frames = _config(name), _goog(300)
    report = check_bias(config, frames, cuts=3, trims=1)
    assert report.findings == ()
    assert report.passed and len(report.cuts) == 3 and len(report.trims) == 1


def test_too_few_bars_and_bad_counts_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        check_bias(_config("sma_cross"), _goog(20))
    assert (err.value.field, err.value.rule) == ("bars", "need at least 30 bars to compare runs")
    with pytest.raises(ValidationError) as err:
        check_bias(_config("sma_cross"), _goog(100), cuts=0)
    assert err.value.field == "--cuts"
