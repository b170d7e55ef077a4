"""compute_metrics against references worked out by hand on tiny series (to 1e-12)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest

from alphintra.errors import ValidationError
from alphintra.strategies.metrics import Metrics, compute_metrics, periods_per_year, timeframe_seconds

DAY = 86_400 * 10**9
TOL = 1e-12


@dataclass(frozen=True)
class T:
    qty: Decimal
    entry_ts: int
    exit_ts: int
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal


def curve(*values: str | int) -> list[tuple[int, Decimal]]:
    return [(i * DAY, Decimal(v)) for i, v in enumerate(values)]


# Equity 100 -> 110 -> 99 -> 121: returns 1/10, -1/10, 2/9; mean 2/27; deviations 7/270, -47/270, 40/270,
# so the sample variance is (49 + 2209 + 1600) / 270**2 / 2 = 1929 / 72900 and the deviation sqrt(1929) / 270.
EQUITY = curve(100, 110, 99, 121)
TRADES = [
    T(Decimal(1), 0, DAY, Decimal(100), Decimal(131), Decimal(30), Decimal(1)),
    T(Decimal(2), DAY, 3 * DAY, Decimal(50), Decimal("45.5"), Decimal(-10), Decimal(1)),
    T(Decimal("0.5"), 2 * DAY, 3 * DAY, Decimal(200), Decimal(244), Decimal(20), Decimal(2)),
]


def test_return_and_risk_ratios_match_hand_computation() -> None:
    m = compute_metrics(EQUITY, TRADES, periods_per_year=12)
    std = math.sqrt(1929) / 270
    assert m.bars == 4
    assert m.total_return == pytest.approx(0.21, abs=TOL)
    # 1.21 ** (12 / 3) = 1.4641 ** 2
    assert m.annual_return == pytest.approx(1.14358881, abs=TOL)
    assert m.volatility == pytest.approx(std * math.sqrt(12), abs=TOL)
    assert m.sharpe == pytest.approx((2 / 27) / std * math.sqrt(12), abs=TOL)
    # Downside deviation over all three bars: only -1/10 is below zero -> sqrt(0.01 / 3).
    assert m.sortino == pytest.approx((2 / 27) / math.sqrt(0.01 / 3) * math.sqrt(12), abs=TOL)
    assert m.max_drawdown == pytest.approx(-0.1, abs=TOL)
    assert m.max_drawdown_amount == Decimal(-11)
    assert m.calmar == pytest.approx(11.4358881, abs=1e-9)
    # Peak at bar 1, recovered at bar 3.
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_ns) == (2, 2 * DAY)
    assert (m.start_equity, m.end_equity, m.net_profit) == (Decimal(100), Decimal(121), Decimal(21))
    assert (m.start_ts, m.end_ts) == (0, 3 * DAY)


def test_risk_free_rate_is_compounded_down_to_a_bar() -> None:
    m = compute_metrics(EQUITY, periods_per_year=12, risk_free=0.1)
    rf_bar = 1.1 ** (1 / 12) - 1
    std = math.sqrt(1929) / 270
    assert m.sharpe == pytest.approx((2 / 27 - rf_bar) / std * math.sqrt(12), abs=TOL)
    excess = [0.1 - rf_bar, -0.1 - rf_bar, 2 / 9 - rf_bar]
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in excess) / 3)
    assert m.sortino == pytest.approx((2 / 27 - rf_bar) / downside * math.sqrt(12), abs=TOL)
    # Volatility is of raw returns and does not move with the risk-free rate.
    assert m.volatility == pytest.approx(std * math.sqrt(12), abs=TOL)


def test_trade_statistics_are_exact() -> None:
    m = compute_metrics(EQUITY, TRADES, periods_per_year=12, benchmark_close=[Decimal(50), Decimal(55), Decimal(60)])
    assert m.num_trades == 3
    assert m.win_rate == pytest.approx(2 / 3, abs=TOL)
    assert (m.gross_profit, m.gross_loss) == (Decimal(50), Decimal(10))
    assert m.profit_factor == 5.0
    assert m.expectancy == Decimal(40) / Decimal(3)
    assert (m.avg_win, m.avg_loss) == (Decimal(25), Decimal(-10))
    assert (m.best_trade, m.worst_trade) == (Decimal(30), Decimal(-10))
    # Returns on entry notional: 30/100, -10/100, 20/100.
    assert m.avg_trade_return == pytest.approx(0.4 / 3, abs=TOL)
    # 1*(100+131) + 2*(50+45.5) + 0.5*(200+244)
    assert m.traded_notional == Decimal("644.0")
    assert m.turnover == pytest.approx(644 / 107.5, abs=TOL)
    assert m.fees == Decimal(4)
    # Bars 0 (trade 1), 1 and 2 (trade 2; trade 3 overlaps bar 2): bar 3 is flat.
    assert m.exposure == 0.75
    assert m.buy_and_hold_return == pytest.approx(0.2, abs=TOL)


def test_overrides_for_fees_notional_and_exposure() -> None:
    m = compute_metrics(
        EQUITY, TRADES, periods_per_year=12, fees_total=Decimal("7.5"), traded_notional=Decimal(215), exposure=0.5
    )
    assert (m.fees, m.traded_notional, m.exposure) == (Decimal("7.5"), Decimal(215), 0.5)
    assert m.turnover == pytest.approx(2.0, abs=TOL)
    flags = compute_metrics(EQUITY, periods_per_year=12, in_market=[True, False, False, False])
    assert flags.exposure == 0.25
    with pytest.raises(ValidationError) as err:
        compute_metrics(EQUITY, periods_per_year=12, in_market=[True])
    assert err.value.field == "in_market"


def test_longest_drawdown_is_not_necessarily_the_deepest() -> None:
    # First stretch: peak 100 at bar 0, recovered at bar 3 (3 bars); deepest fall 100 -> 80 is only 2 bars long.
    m = compute_metrics(curve(100, 90, 95, 100, 80, 120), periods_per_year=365)
    assert m.max_drawdown == pytest.approx(-0.2, abs=TOL)
    assert m.max_drawdown_amount == Decimal(-20)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_ns) == (3, 3 * DAY)


def test_money_drawdown_is_the_largest_money_fall_not_the_money_of_the_largest_percentage_fall() -> None:
    # 100 -> 60 is the deepest fall in percent (-40 %, -40 money); 300 -> 200 gives back more money (-100, -33.3 %).
    m = compute_metrics(curve(100, 60, 300, 200, 250), periods_per_year=365)
    assert m.max_drawdown == pytest.approx(-0.4, abs=TOL)
    assert m.max_drawdown_pct_amount == Decimal(-40)
    assert m.max_drawdown_amount == Decimal(-100)
    again = type(m).from_dict(m.to_dict())
    assert (again.max_drawdown_amount, again.max_drawdown_pct_amount) == (Decimal(-100), Decimal(-40))


def test_unrecovered_drawdown_runs_to_the_last_bar() -> None:
    m = compute_metrics(curve(100, 120, 90, 100, 110), periods_per_year=365)
    assert m.max_drawdown == pytest.approx(-0.25, abs=TOL)
    assert m.max_drawdown_amount == Decimal(-30)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_ns) == (3, 3 * DAY)


def test_flat_curve_has_no_undefined_figure_as_nan() -> None:
    m = compute_metrics(curve(100, 100, 100), periods_per_year=365)
    assert m.sharpe is None and m.sortino is None and m.calmar is None
    assert m.volatility == 0.0 and m.annual_return == 0.0 and m.max_drawdown == 0.0
    assert m.win_rate is None and m.profit_factor is None and m.expectancy is None
    assert m.exposure == 0.0 and m.buy_and_hold_return is None
    json.dumps(m.to_dict(), allow_nan=False)


def test_constant_growth_has_no_deviation_and_so_no_sharpe() -> None:
    m = compute_metrics(curve(100, 110, 121, "133.1"), periods_per_year=365)
    assert m.sharpe is None and m.sortino is None
    assert m.total_return == pytest.approx(0.331, abs=TOL)


def test_single_point_and_two_points() -> None:
    one = compute_metrics(curve(100), periods_per_year=365)
    assert one.total_return == 0.0 and one.annual_return is None and one.volatility is None
    two = compute_metrics(curve(100, 105), periods_per_year=2)
    assert two.annual_return == pytest.approx(1.05**2 - 1, abs=TOL)
    assert two.sharpe is None  # a single return has no sample deviation


def test_ruin_stops_returns_and_annual_return_is_minus_one() -> None:
    m = compute_metrics(curve(100, 50, 0), periods_per_year=365)
    assert m.total_return == -1.0 and m.annual_return == -1.0
    assert m.max_drawdown == -1.0
    # Returns -0.5 and -1.0 only: mean -0.75, sample deviation sqrt(0.125).
    assert m.volatility == pytest.approx(math.sqrt(0.125) * math.sqrt(365), abs=TOL)


def test_numpy_input_gives_the_same_figures() -> None:
    ts = np.asarray([t for t, _ in EQUITY], dtype=np.int64)
    eq = np.asarray([100.0, 110.0, 99.0, 121.0])
    assert compute_metrics((ts, eq), TRADES, periods_per_year=12) == compute_metrics(
        EQUITY, TRADES, periods_per_year=12
    )


def test_to_dict_round_trip_is_strict_json() -> None:
    m = compute_metrics(EQUITY, TRADES, periods_per_year=12)
    data = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert data["net_profit"] == "21" and data["expectancy"] == str(Decimal(40) / Decimal(3))
    assert isinstance(data["sharpe"], float)
    assert Metrics.from_dict(data) == m
    with pytest.raises(ValidationError) as err:
        Metrics.from_dict({**data, "bogus": 1})
    assert err.value.rule == "has unknown keys"
    with pytest.raises(ValidationError) as err:
        Metrics.from_dict({**data, "fees": "lots"})
    assert err.value.field == "metrics.fees"


@pytest.mark.parametrize(
    ("equity", "field", "rule"),
    [
        ([], "equity", "must have at least one point"),
        ([(0, Decimal(0))], "equity", "must start above zero"),
        ([(1, Decimal(1)), (1, Decimal(2))], "equity", "timestamps must be strictly increasing"),
        ([(0, "abc")], "equity", "must be a decimal number"),
        ([(0.5, Decimal(1))], "equity", "timestamps must be integer nanoseconds"),
        ([(0, Decimal("NaN"))], "equity", "must be finite"),
    ],
)
def test_bad_equity_is_refused(equity: list[tuple[object, object]], field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        compute_metrics(equity, periods_per_year=365)  # type: ignore[arg-type]
    assert (err.value.field, err.value.rule) == (field, rule)


def test_bad_options_are_refused() -> None:
    for kwargs, field in [
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"periods_per_year": float("inf")}, "periods_per_year"),
        ({"periods_per_year": 12, "risk_free": -1.0}, "risk_free"),
        ({"periods_per_year": 12, "exposure": 1.5}, "exposure"),
        ({"periods_per_year": 12, "benchmark_close": [0, 1]}, "benchmark_close"),
    ]:
        with pytest.raises(ValidationError) as err:
            compute_metrics(EQUITY, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field


@pytest.mark.parametrize(
    ("timeframe", "calendar", "expected"),
    [
        ("1m", "24x7", 525_600.0),
        ("5m", "24x7", 105_120.0),
        ("1h", "24x7", 8_760.0),
        ("4h", "24x7", 2_190.0),
        ("1d", "24x7", 365.0),
        ("1w", "24x7", 365 / 7),
        ("1M", "24x7", 12.0),
        ("1m", "equity", 98_280.0),
        ("1h", "equity", 1_638.0),
        ("1d", "equity", 252.0),
        ("1w", "equity", 52.0),
        ("3M", "equity", 4.0),
    ],
)
def test_periods_per_year(timeframe: str, calendar: str, expected: float) -> None:
    assert periods_per_year(timeframe, calendar) == pytest.approx(expected, rel=1e-15)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "m", "0m", "5x", "1.5h", "-1d", "1 d"])
def test_bad_timeframes_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        periods_per_year(bad)
    assert err.value.field == "timeframe"


def test_calendar_and_timeframe_seconds() -> None:
    with pytest.raises(ValidationError) as err:
        periods_per_year("1d", "weekdays")  # type: ignore[arg-type]
    assert err.value.field == "calendar"
    assert timeframe_seconds("15m") == 900 and timeframe_seconds("1w") == 604_800
    with pytest.raises(ValidationError):
        timeframe_seconds("1M")
