"""Edge cases (flat prices, one-way markets, short data, zero volume, long sessions), bad input, reset, bars."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.errors import ValidationError
from alphintra.strategies.indicators import (
    ADX,
    ATR,
    EMA,
    INDICATORS,
    MACD,
    OBV,
    RSI,
    SMA,
    VWAP,
    WMA,
    BollingerBands,
    Donchian,
    Stochastic,
    ZScore,
    atr,
    bollinger,
    compute,
    create,
    ema,
    obv,
    rsi,
    sma,
    vwap,
    zscore,
)


def flat_bars(size: int, price: float = 101.37) -> pl.DataFrame:
    return pl.DataFrame(
        {"high": [price] * size, "low": [price] * size, "close": [price] * size, "volume": [500] * size}
    )


def last_row(name: str, frame: pl.DataFrame, **params: Any) -> dict[str, Any]:
    """The last row of the vectorised form, after checking the incremental form ends on the same values."""
    row = compute(name, frame, **params).row(-1, named=True)
    indicator = create(name, **params)
    for values in frame.select(INDICATORS[name].inputs).iter_rows():
        result = indicator.update(*values)
    assert result is not None
    incremental = result._asdict() if isinstance(result, tuple) else {INDICATORS[name].outputs[0]: result}  # type: ignore[attr-defined]
    assert incremental == pytest.approx(row, rel=1e-12, abs=1e-12)
    return row


# ------------------------------------------------------------------------------------------------ flat prices


def test_flat_prices_give_neutral_oscillators_and_zero_ranges() -> None:
    bars = flat_bars(40)
    # TA-Lib writes 0 for RSI and fast %K here; 0 would read as "deeply oversold" on a market that has not
    # moved, so both read 50, the neutral value.
    assert last_row("rsi", bars) == {"rsi": 50.0}
    assert last_row("stochastic", bars) == {"fast_k": 50.0, "fast_d": 50.0, "slow_k": 50.0, "slow_d": 50.0}
    assert last_row("bollinger", bars) == {
        "middle": 101.37,
        "upper": 101.37,
        "lower": 101.37,
        "percent_b": 0.5,
        "bandwidth": 0.0,
    }
    assert last_row("zscore", bars) == {"zscore": 0.0}
    assert last_row("atr", bars) == {"atr": 0.0}
    assert last_row("adx", bars) == {"plus_di": 0.0, "minus_di": 0.0, "adx": 0.0}
    assert last_row("macd", bars) == pytest.approx({"macd": 0.0, "signal": 0.0, "histogram": 0.0}, abs=1e-12)
    assert last_row("donchian", bars) == {"upper": 101.37, "lower": 101.37, "middle": 101.37}


def test_a_flat_window_after_a_spike_has_exactly_zero_deviation() -> None:
    """The running sums still remember the spike; the flat window must not inherit its rounding."""
    values = [1e9] + [0.1] * 25
    frame = pl.DataFrame({"close": values})
    assert last_row("zscore", frame, period=5) == {"zscore": 0.0}
    assert last_row("bollinger", frame, period=5)["percent_b"] == 0.5
    indicator = ZScore(5)
    for v in values:
        indicator.update(v)
    assert indicator.value == 0.0


def test_a_narrow_window_right_after_a_wide_one_keeps_its_precision() -> None:
    """Found by hypothesis: sums kept around a reference 17 away from a window 0.01 wide lost 9 digits."""
    frame = pl.DataFrame({"close": [37.34, 2.11, 2.12, 2.125, 2.13]})
    expected = [None, -1.0, 1.0, 1.0, 1.0]  # over two values the z-score is ±1: each sits one σ from the mean
    assert compute("zscore", frame, period=2)["zscore"].to_list() == pytest.approx(expected, rel=1e-12)
    indicator = ZScore(2)
    assert [indicator.update(x) for x in frame["close"]] == pytest.approx(expected, rel=1e-12)


def test_rsi_of_a_market_that_only_rises_or_only_falls() -> None:
    rising = pl.Series([float(x) for x in range(1, 30)])
    falling = rising.reverse()
    assert rsi(rising, 14).drop_nulls().unique().to_list() == [100.0]
    assert rsi(falling, 14).drop_nulls().unique().to_list() == [0.0]
    indicator = RSI(14)
    results = [indicator.update(x) for x in falling]
    assert results[13] is None and results[14:] == [0.0] * 15


# ------------------------------------------------------------------------------------ too little data, none


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_window_longer_than_the_data_gives_only_warm_up(name: str) -> None:
    frame = pl.DataFrame(
        {"high": [11.0, 12.0, 13.0], "low": [9.0, 10.0, 11.0], "close": [10.0, 11.0, 12.0], "volume": [1, 2, 3]}
    )
    if name == "obv":  # no warm-up at all: every bar has a value
        assert compute(name, frame)["obv"].to_list() == [1.0, 3.0, 6.0]
        return
    params = {"window": 50} if name == "vwap" else {}
    if create(name, **params).lookback < 3:  # defaults too short for this test (ATR 14 is not): lengthen
        params = {"period": 50}
    indicator = create(name, **params)
    assert indicator.lookback >= 3
    result = compute(name, frame, **params)
    assert result.height == 3 and result.null_count().sum_horizontal().item() == 3 * result.width
    for values in frame.select(INDICATORS[name].inputs).iter_rows():
        assert indicator.update(*values) is None
    assert not indicator.ready and indicator.value is None


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_empty_input_gives_empty_output(name: str) -> None:
    empty = pl.DataFrame(schema={"high": pl.Float64, "low": pl.Float64, "close": pl.Float64, "volume": pl.Int64})
    result = compute(name, empty)
    assert result.height == 0 and result.columns == list(INDICATORS[name].outputs)


# --------------------------------------------------------------------------------------------------- volume


def test_vwap_is_undefined_until_something_trades() -> None:
    high, low, close = (pl.Series([v, v + 1, v + 2]) for v in (11.0, 9.0, 10.0))
    volume = pl.Series([0, 0, 50])
    assert vwap(high, low, close, volume).to_list() == [None, None, (13 + 11 + 12) / 3]
    indicator = VWAP()
    assert indicator.update(11, 9, 10, 0) is None and not indicator.ready
    assert indicator.update(12, 10, 11, 0) is None
    assert indicator.update(13, 11, 12, 50) == 12.0 and indicator.ready


def test_rolling_vwap_becomes_undefined_again_when_a_window_trades_nothing() -> None:
    indicator = VWAP(window=2)
    assert indicator.update(11, 9, 10, 10) is None  # warming up
    assert indicator.update(12, 10, 11, 30) == pytest.approx((10 * 10 + 11 * 30) / 40)
    assert indicator.update(13, 11, 12, 0) == 11.0
    assert indicator.update(14, 12, 13, 0) is None and not indicator.ready


def test_obv_and_vwap_refuse_negative_volume() -> None:
    with pytest.raises(ValidationError) as raised:
        obv(pl.Series([1.0, 2.0]), pl.Series([5, -1]))
    assert (raised.value.field, raised.value.rule) == ("volume", "must be >= 0")
    assert "row 1" in str(raised.value)
    with pytest.raises(ValidationError, match="volume: must be >= 0"):
        OBV().update(10.0, -5)
    with pytest.raises(ValidationError, match="volume: must be >= 0"):
        VWAP(window=3).update(11, 9, 10, -1)


# --------------------------------------------------------------------------------------------- long sessions


def test_running_sums_do_not_drift_over_a_long_session() -> None:
    """A huge print among small ones: a plain running sum would keep ~1e-4 of it after it left the window."""
    values = [0.1 + (i % 7) * 0.01 for i in range(3_000)]
    values[1_234] = 1e12
    sma_, wma_, bands = SMA(10), WMA(10), BollingerBands(10)
    for i, x in enumerate(values):
        sma_.update(x)
        wma_.update(x)
        bands.update(x)
        if i < 9:
            continue
        window = values[i - 9 : i + 1]
        mean = math.fsum(window) / 10
        deviation = math.sqrt(math.fsum((v - mean) ** 2 for v in window) / 10)
        assert sma_.value == pytest.approx(mean, rel=1e-13), i
        assert wma_.value == pytest.approx(math.fsum(w * v for w, v in enumerate(window, 1)) / 55, rel=1e-13), i
        assert bands.value is not None
        assert bands.value.upper - bands.value.middle == pytest.approx(2 * deviation, rel=1e-11), i


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "field", "rule"),
    [
        (lambda: SMA(0), "period", "must be an integer >= 1"),
        (lambda: EMA(True), "period", "must be an integer >= 1"),
        (lambda: WMA(2.5), "period", "must be an integer >= 1"),  # type: ignore[arg-type]
        (lambda: BollingerBands(1), "period", "must be an integer >= 2"),
        (lambda: BollingerBands(20, num_std=0), "num_std", "must be a number > 0"),
        (lambda: BollingerBands(20, num_std=math.inf), "num_std", "must be a number > 0"),
        (lambda: ZScore(1), "period", "must be an integer >= 2"),
        (lambda: MACD(26, 12), "fast", "must be smaller than slow (12)"),
        (lambda: MACD(12, 26, 0), "signal", "must be an integer >= 1"),
        (lambda: Stochastic(14, 0), "k_smooth", "must be an integer >= 1"),
        (lambda: VWAP(window=0), "window", "must be an integer >= 1"),
        (lambda: SMA(5, source=""), "source", "must be a bar field name"),
    ],
)
def test_bad_parameters_name_the_field_and_rule(make: Any, field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as raised:
        make()
    assert (raised.value.field, raised.value.rule) == (field, rule)


def test_vectorised_parameters_are_checked_the_same_way() -> None:
    with pytest.raises(ValidationError) as raised:
        sma(pl.Series([1.0, 2.0]), 0)
    assert (raised.value.field, raised.value.rule) == ("period", "must be an integer >= 1")
    with pytest.raises(ValidationError, match="fast: must be smaller than slow"):
        compute("macd", pl.DataFrame({"close": [1.0]}), fast=9, slow=9)


@pytest.mark.parametrize(
    ("series", "rule", "where"),
    [
        (pl.Series([1.0, None, 3.0]), "must have no missing values", "null at row 1"),
        (pl.Series([1.0, 2.0, float("nan")]), "must be finite", "nan at row 2"),
        (pl.Series([float("inf"), 2.0]), "must be finite", "inf at row 0"),
        (pl.Series(["1", "2"]), "must be numeric", "String"),
    ],
)
def test_missing_or_non_numeric_input_is_refused_with_its_row(series: pl.Series, rule: str, where: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ema(series, 2)
    assert (raised.value.field, raised.value.rule) == ("close", rule)
    assert where in str(raised.value)


def test_inputs_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        atr(pl.Series([2.0, 3.0]), pl.Series([1.0, 2.0]), pl.Series([1.5]), 1)
    assert (raised.value.field, raised.value.rule) == ("close", "must have the same length as the other inputs (2)")


def test_a_list_is_not_a_series() -> None:
    with pytest.raises(ValidationError, match="close: must be a polars Series"):
        zscore([1.0, 2.0, 3.0], 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, -math.inf, "abc"])
def test_incremental_refuses_missing_values(bad: object) -> None:
    indicator = ATR(3)
    indicator.update(10, 9, 9.5)
    with pytest.raises(ValidationError) as raised:
        indicator.update(11, bad, 10)  # type: ignore[arg-type]
    assert raised.value.field == "low"


# --------------------------------------------------------------------------------------------- reset, bars


@dataclass(frozen=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def decimal_bars(frame: pl.DataFrame) -> list[Bar]:
    def d(value: float) -> Decimal:
        return Decimal(str(value))

    return [
        Bar(open=d(r["close"]), high=d(r["high"]), low=d(r["low"]), close=d(r["close"]), volume=d(r["volume"]))
        for r in frame.iter_rows(named=True)
    ]


OHLCV = pl.DataFrame(
    {
        "high": [10.5, 11.2, 11.0, 12.4, 12.9, 12.1, 11.8, 12.6, 13.3, 13.0, 12.2, 12.9],
        "low": [9.8, 10.1, 10.2, 11.0, 11.9, 11.2, 10.9, 11.5, 12.2, 12.1, 11.4, 11.8],
        "close": [10.0, 11.0, 10.4, 12.2, 12.5, 11.4, 11.5, 12.4, 13.1, 12.3, 11.6, 12.7],
        "volume": [100, 250, 0, 400, 380, 120, 90, 300, 500, 210, 160, 330],
    }
)
SMALL = {
    "sma": {"period": 3},
    "ema": {"period": 3},
    "wma": {"period": 3},
    "rsi": {"period": 3},
    "macd": {"fast": 2, "slow": 4, "signal": 3},
    "bollinger": {"period": 4},
    "zscore": {"period": 4},
    "atr": {"period": 3},
    "adx": {"period": 3},
    "stochastic": {"k_period": 3, "k_smooth": 2, "d_period": 2},
    "obv": {},
    "vwap": {"window": 3},
    "donchian": {"period": 3},
}


def test_small_parameters_cover_every_indicator() -> None:
    assert set(SMALL) == set(INDICATORS)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_update_bar_reads_decimal_bars_like_float_updates(name: str) -> None:
    by_bar, by_value = create(name, **SMALL[name]), create(name, **SMALL[name])
    for bar, values in zip(decimal_bars(OHLCV), OHLCV.select(INDICATORS[name].inputs).iter_rows(), strict=True):
        assert by_bar.update_bar(bar) == by_value.update(*values)
    assert by_bar.ready


@pytest.mark.parametrize("name", sorted(SMALL))
def test_reset_starts_over_as_if_new(name: str) -> None:
    indicator = create(name, **SMALL[name])
    rows = list(OHLCV.select(INDICATORS[name].inputs).iter_rows())
    first = [indicator.update(*values) for values in rows]
    indicator.reset()
    assert indicator.value is None and not indicator.ready
    second = [indicator.update(*values) for values in reversed(rows)]
    fresh = create(name, **SMALL[name])
    assert second == [fresh.update(*values) for values in reversed(rows)]
    assert first[-1] is not None


def test_source_reads_another_bar_field() -> None:
    average = SMA(2, source="volume")
    bars = decimal_bars(OHLCV)
    average.update_bar(bars[0])
    assert average.update_bar(bars[1]) == (100 + 250) / 2
    assert compute("sma", OHLCV, period=2, source="volume")["sma"][1] == 175.0


def test_value_repeats_the_last_result_and_lookback_counts_warm_up() -> None:
    indicator = Donchian(3)
    assert indicator.lookback == 2 and repr(indicator) == "Donchian(value=None)"
    indicator.update(2.0, 1.0)
    indicator.update(3.0, 1.5)
    result = indicator.update(2.5, 0.5)
    assert result == (3.0, 0.5, 1.75) and indicator.value is result
    assert (ADX(14).lookback, MACD().lookback, Stochastic().lookback, RSI().lookback) == (27, 33, 17, 14)


# ------------------------------------------------------------------------------------------------ invariants


prices = st.lists(st.integers(1, 10_000).map(lambda cents: cents / 100), min_size=1, max_size=80)


@settings(max_examples=80, deadline=None)
@given(closes=prices, period=st.integers(1, 10))
def test_bounded_oscillators_stay_in_their_ranges(closes: list[float], period: int) -> None:
    series = pl.Series(closes)
    assert all(0.0 <= v <= 100.0 for v in rsi(series, period).drop_nulls())
    frame = pl.DataFrame({"high": closes, "low": closes, "close": closes})
    for column in ("fast_k", "fast_d", "slow_k", "slow_d"):
        assert all(0.0 <= v <= 100.0 + 1e-9 for v in compute("stochastic", frame, k_period=period)[column].drop_nulls())
    assert all(v >= 0.0 for v in compute("atr", frame, period=period)["atr"].drop_nulls())


@settings(max_examples=80, deadline=None)
@given(closes=prices, period=st.integers(2, 10))
def test_bands_bracket_the_middle_and_percent_b_places_the_close(closes: list[float], period: int) -> None:
    bands = bollinger(pl.Series(closes), period, 2.0).drop_nulls()
    for (middle, upper, lower, percent_b, _), close in zip(bands.iter_rows(), closes[period - 1 :], strict=True):
        assert lower <= middle <= upper
        if upper > lower:
            assert lower + percent_b * (upper - lower) == pytest.approx(close, rel=1e-9)
        else:
            assert percent_b == 0.5 and close == middle
