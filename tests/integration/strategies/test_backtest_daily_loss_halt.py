"""A backtest that runs into its daily loss limit: the halt is in the report and no order trades after it."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from alphintra.engine.risk import LimitSet, RiskEngine
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import BarData, Strategy


class BuyEveryBar(Strategy):
    """Keeps buying a falling market: the daily loss limit must stop it."""

    name = "buy_every_bar_test"

    def on_bar(self, bar: BarData) -> None:
        self.buy(bar.symbol, 10)


def falling_day() -> pl.DataFrame:
    start = 1_700_000_000_000_000_000 - 1_700_000_000_000_000_000 % 86_400_000_000_000  # a UTC midnight
    n = 120
    closes = [100 - 0.25 * i for i in range(n)]
    return pl.DataFrame(
        {
            "time": pl.Series([start + i * 60_000_000_000 for i in range(n)]).cast(pl.Datetime("ns", "UTC")),
            "open": [c + 0.25 for c in closes],
            "high": [c + 0.3 for c in closes],
            "low": [c - 0.05 for c in closes],
            "close": closes,
            "volume": [1_000.0] * n,
        }
    )


def test_daily_loss_halts_the_backtest_and_is_reported() -> None:
    config = BacktestConfig("sma_cross", ("GOOG",), "1m", cash=Decimal(1_000_000), fee=Decimal(0))
    risk = RiskEngine(LimitSet.of(max_daily_loss=500))
    bt = Backtest(config, {"GOOG": falling_day()}, strategy=BuyEveryBar(), risk=risk)
    result = bt.run()
    assert len(result.halts) == 1
    halt = result.halts[0]
    assert "max_daily_loss" in halt.source
    assert bt.fills, "it traded before the halt"
    assert all(f.ts <= halt.ts for f in bt.fills), "no order trades after the halt"
    assert bt.runner.rejections, "orders placed after the halt were refused"
    assert all("HALTED" in r or "halted" in r for r in bt.runner.rejections)
    assert result.to_dict()["halts"][0]["source"] == halt.source
