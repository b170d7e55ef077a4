"""One convention for periods per year, used by the backtest metrics, the risk report and the pre-trade stats."""

from __future__ import annotations

import itertools
import math
import statistics
from decimal import Decimal as D

import pytest

from alphintra.engine.data import Bar
from alphintra.engine.risk.metrics import RiskConfig
from alphintra.engine.risk.periods import calendar_for, horizon_label, periods_per_year
from alphintra.engine.risk.stats import NS_PER_DAY, StatsTracker
from alphintra.strategies import metrics as strategy_metrics


@pytest.mark.parametrize(
    ("timeframe", "calendar", "expected"),
    [
        ("1d", "24x7", 365.0),
        ("1d", "equity", 252.0),
        ("1h", "24x7", 8760.0),
        ("1h", "equity", 252 * 6.5),
        ("1w", "equity", 52.0),
        ("1M", "24x7", 12.0),
        ("1M", "equity", 12.0),
    ],
)
def test_periods_per_year_follow_timeframe_and_calendar(timeframe: str, calendar: str, expected: float) -> None:
    assert periods_per_year(timeframe, calendar) == pytest.approx(expected)  # type: ignore[arg-type]
    assert RiskConfig(timeframe=timeframe, calendar=calendar).periods_per_year == pytest.approx(expected)  # type: ignore[arg-type]
    assert strategy_metrics.periods_per_year is periods_per_year  # one home, re-exported


def test_calendar_and_horizon_labels() -> None:
    assert (calendar_for(["crypto"]), calendar_for(["crypto", "fx"]), calendar_for(["crypto", "equity"])) == (
        "24x7",
        "24x7",
        "equity",
    )
    assert calendar_for([]) == "equity"
    assert (horizon_label("1d"), horizon_label("1M"), horizon_label("4h", 2)) == ("1 day", "1 month", "8 hours")


@pytest.mark.parametrize(("calendar", "per_year"), [("24x7", 365), ("equity", 252)])
def test_pre_trade_volatility_annualises_daily_bars_like_the_reports(calendar: str, per_year: int) -> None:
    closes = [100.0, 102.0, 99.0, 101.0, 104.0]
    tracker = StatsTracker(window=10, calendar=calendar)  # type: ignore[arg-type]
    for i, close in enumerate(closes):
        c = D(str(close))
        tracker.observe(Bar("X", i * NS_PER_DAY, c, c, c, c, D(1), (i + 1) * NS_PER_DAY - 1))
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    assert tracker.stats().volatility["X"] == pytest.approx(statistics.stdev(returns) * math.sqrt(per_year))
