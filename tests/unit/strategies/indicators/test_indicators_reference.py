"""Each indicator against numbers worked out by hand on a tiny series, and against TA-Lib on GOOG.

Every hand reference spells out its arithmetic so a reader can check it with a pencil. Both forms must give
those numbers: the vectorised one as a column, the incremental one from its updates.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from alphintra.strategies.indicators import INDICATORS, compute, create

Row = tuple[float | None, ...]


def both_forms(name: str, frame: pl.DataFrame, **params: Any) -> list[Row]:
    """Rows from the vectorised form, after checking the incremental form gives the very same rows."""
    vectorised = compute(name, frame, **params).rows()
    indicator = create(name, **params)
    incremental: list[Row] = []
    for values in frame.select(INDICATORS[name].inputs).iter_rows():
        result = indicator.update(*values)
        if result is None:
            incremental.append((None,) * len(INDICATORS[name].outputs))
        else:
            incremental.append(tuple(result) if isinstance(result, tuple) else (result,))
    assert len(vectorised) == len(incremental)
    for a_row, b_row in zip(vectorised, incremental, strict=True):
        for a, b in zip(a_row, b_row, strict=True):
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return vectorised


def column(name: str, frame: pl.DataFrame, **params: Any) -> list[float | None]:
    return [row[0] for row in both_forms(name, frame, **params)]


def assert_rows(got: list[Row] | list[float | None], expected: list[Any]) -> None:
    assert len(got) == len(expected)
    for row, (g, e) in enumerate(zip(got, expected, strict=True)):
        g_values = g if isinstance(g, tuple) else (g,)
        e_values = e if isinstance(e, tuple) else (e,) * len(g_values)
        for a, b in zip(g_values, e_values, strict=True):
            if b is None:
                assert a is None, f"row {row}: expected warm-up, got {a}"
            else:
                assert a == pytest.approx(b, rel=1e-12, abs=1e-12), f"row {row}: {a} != {b}"


PRICES = pl.DataFrame({"close": [2.0, 4.0, 6.0, 8.0, 3.0]})

#                 high  low   close
BARS = pl.DataFrame(
    [
        (10.0, 8.0, 9.0),
        (11.0, 9.0, 10.0),
        (12.0, 9.5, 11.5),
        (11.8, 9.0, 10.5),
        (14.0, 11.0, 13.5),  # a gap up: the true range reaches back to the previous close
        (13.0, 12.5, 12.8),
        (13.2, 12.0, 12.1),
    ],
    schema=["high", "low", "close"],
    orient="row",
)
# True ranges from row 1: max(high - low, |high - previous close|, |low - previous close|)
TR = [
    max(11 - 9, abs(11 - 9), abs(9 - 9)),  # 2
    max(12 - 9.5, abs(12 - 10), abs(9.5 - 10)),  # 2.5
    max(11.8 - 9, abs(11.8 - 11.5), abs(9 - 11.5)),  # 2.8
    max(14 - 11, abs(14 - 10.5), abs(11 - 10.5)),  # 3.5 (the gap)
    max(13 - 12.5, abs(13 - 13.5), abs(12.5 - 13.5)),  # 1.0
    max(13.2 - 12, abs(13.2 - 12.8), abs(12 - 12.8)),  # 1.2
]


def test_sma_by_hand() -> None:
    assert_rows(column("sma", PRICES, period=3), [None, None, (2 + 4 + 6) / 3, (4 + 6 + 8) / 3, (6 + 8 + 3) / 3])


def test_ema_by_hand_is_seeded_with_the_sma() -> None:
    alpha = 2 / (3 + 1)
    seed = (2 + 4 + 6) / 3  # 4
    row3 = seed + alpha * (8 - seed)  # 6
    row4 = row3 + alpha * (3 - row3)  # 4.5
    assert_rows(column("ema", PRICES, period=3), [None, None, seed, row3, row4])
    assert row4 == 4.5


def test_wma_by_hand_weighs_the_newest_most() -> None:
    assert_rows(
        column("wma", PRICES, period=3),
        [None, None, (1 * 2 + 2 * 4 + 3 * 6) / 6, (1 * 4 + 2 * 6 + 3 * 8) / 6, (1 * 6 + 2 * 8 + 3 * 3) / 6],
    )


def test_rsi_by_hand_with_wilder_smoothing() -> None:
    frame = pl.DataFrame({"close": [10.0, 11.0, 10.5, 12.0, 11.0, 11.5]})
    # changes: +1, -0.5, +1.5, -1, +0.5
    gain3, loss3 = (1 + 0 + 1.5) / 3, (0 + 0.5 + 0) / 3  # seed: simple averages of the first 3
    gain4, loss4 = (gain3 * 2 + 0) / 3, (loss3 * 2 + 1) / 3  # then Wilder: (avg·(n-1) + new)/n
    gain5, loss5 = (gain4 * 2 + 0.5) / 3, (loss4 * 2 + 0) / 3
    expected = [None, None, None] + [100 * g / (g + lo) for g, lo in ((gain3, loss3), (gain4, loss4), (gain5, loss5))]
    assert_rows(column("rsi", frame, period=3), expected)
    assert expected[3] == pytest.approx(250 / 3)  # 83.33: gains 2.5 against losses 0.5


def test_macd_by_hand_with_talib_seeding() -> None:
    frame = pl.DataFrame({"close": [2.0, 4.0, 7.0, 8.0, 3.0, 5.0]})
    fa, sa, ga = 2 / 3, 2 / 4, 2 / 3  # alphas of fast=2, slow=3, signal=2
    # Both EMAs start on row 2: slow from the mean of rows 0-2, fast from the mean of rows 1-2 only (TA-Lib).
    fast, slow = (4 + 7) / 2, (2 + 4 + 7) / 3
    line2 = fast - slow
    fast, slow = fast + fa * (8 - fast), slow + sa * (8 - slow)
    line3 = fast - slow
    signal = (line2 + line3) / 2  # the signal EMA starts on row 3 from the mean of the first two lines
    rows: list[Any] = [None, None, None, (line3, signal, line3 - signal)]
    for x in (3.0, 5.0):
        fast, slow = fast + fa * (x - fast), slow + sa * (x - slow)
        line = fast - slow
        signal = signal + ga * (line - signal)
        rows.append((line, signal, line - signal))
    assert_rows(both_forms("macd", frame, fast=2, slow=3, signal=2), rows)
    # A free-standing EMA(2) would have been 3 + 2/3·(7 - 3) on row 2, not 5.5: the seeding matters.
    assert 3 + fa * (7 - 3) != (4 + 7) / 2


def test_bollinger_and_zscore_by_hand_use_population_deviation() -> None:
    def window(values: list[float]) -> tuple[float, float]:
        mean = sum(values) / len(values)
        return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))  # divide by n, not n-1

    expected: list[Any] = [None, None]
    zscores: list[Any] = [None, None]
    for end in (3, 4, 5):
        values = PRICES["close"].to_list()[end - 3 : end]
        mean, sd = window(values)
        upper, lower = mean + 2 * sd, mean - 2 * sd
        x = values[-1]
        expected.append((mean, upper, lower, (x - lower) / (upper - lower), (upper - lower) / mean))
        zscores.append((x - mean) / sd)
    assert window([2, 4, 6]) == (4, math.sqrt(8 / 3))
    assert_rows(both_forms("bollinger", PRICES, period=3, num_std=2.0), expected)
    assert_rows(column("zscore", PRICES, period=3), zscores)


def test_atr_by_hand() -> None:
    atr3 = (TR[0] + TR[1] + TR[2]) / 3  # seed on row 3: mean of the first 3 true ranges = 7.3/3
    atr4 = (atr3 * 2 + TR[3]) / 3
    atr5 = (atr4 * 2 + TR[4]) / 3
    atr6 = (atr5 * 2 + TR[5]) / 3
    assert pytest.approx([2, 2.5, 2.8, 3.5, 1.0, 1.2], abs=1e-12) == TR
    assert atr3 == pytest.approx(7.3 / 3)
    assert_rows(column("atr", BARS, period=3), [None, None, None, atr3, atr4, atr5, atr6])


def test_adx_by_hand_with_wilder_sums() -> None:
    n = 2
    # Directional moves from row 1: up = high - previous high, down = previous low - low.
    # row 1: up 1, down -1 → +DM 1 | row 2: up 1, down -0.5 → +DM 1 | row 3: up -0.2, down 0.5 → -DM 0.5
    # row 4: up 2.2, down -2 → +DM 2.2 | row 5: up -1, down -1.5 → none | row 6: up 0.2, down 0.5 → -DM 0.5
    plus = [1.0, 1.0, 0.0, 2.2, 0.0, 0.0]
    minus = [0.0, 0.0, 0.5, 0.0, 0.0, 0.5]
    # Wilder sums: seeded with the first n-1 = 1 value, then S = S - S/n + x.
    sp, sm, st = plus[0], minus[0], TR[0]
    rows: list[Any] = [None, None, None]
    dxs: list[float] = []
    adx: float | None = None
    for i in range(1, 6):
        sp, sm, st = sp - sp / n + plus[i], sm - sm / n + minus[i], st - st / n + TR[i]
        pdi, mdi = 100 * sp / st, 100 * sm / st
        dx = 100 * abs(pdi - mdi) / (pdi + mdi)
        if adx is None:
            dxs.append(dx)
            if len(dxs) == n:
                adx = sum(dxs) / n  # first ADX on row 2n-1 = 3: mean of the first n DX
                rows.append((pdi, mdi, adx))
        else:
            adx = (adx * (n - 1) + dx) / n
            rows.append((pdi, mdi, adx))
    assert dxs == [100.0, pytest.approx(20.0)]  # row 2: no -DM yet → DX 100; row 3: |0.5-0.75|/1.25
    assert rows[3][2] == pytest.approx(60.0)
    assert_rows(both_forms("adx", BARS, period=n), rows)


def test_stochastic_by_hand() -> None:
    # fast %K over 3 bars: 100·(close - lowest low)/(highest high - lowest low)
    fast_k = [
        100 * (11.5 - 8) / (12 - 8),  # row 2: 87.5
        100 * (10.5 - 9) / (12 - 9),  # row 3: 50
        100 * (13.5 - 9) / (14 - 9),  # row 4: 90
        100 * (12.8 - 9) / (14 - 9),  # row 5: 76
        100 * (12.1 - 11) / (14 - 11),  # row 6: 36.67
    ]
    slow_k = [(fast_k[i - 1] + fast_k[i]) / 2 for i in range(1, 5)]  # k_smooth = 2, rows 3..6
    fast_d = [sum(fast_k[i - 2 : i + 1]) / 3 for i in range(2, 5)]  # d_period = 3, rows 4..6
    slow_d = [sum(slow_k[i - 2 : i + 1]) / 3 for i in range(2, 4)]  # rows 5..6
    expected: list[Any] = [None] * 5 + [
        (fast_k[3], fast_d[1], slow_k[2], slow_d[0]),
        (fast_k[4], fast_d[2], slow_k[3], slow_d[1]),
    ]
    assert_rows(both_forms("stochastic", BARS, k_period=3, k_smooth=2, d_period=3), expected)
    assert slow_d[0] == pytest.approx((68.75 + 70 + 83) / 3)


def test_obv_by_hand() -> None:
    frame = pl.DataFrame({"close": [10.0, 11.0, 11.0, 10.5, 12.0], "volume": [100, 200, 300, 400, 500]})
    # starts at the first volume; + on a higher close, unchanged on an equal one, - on a lower one
    assert_rows(column("obv", frame), [100, 100 + 200, 300, 300 - 400, -100 + 500])


VWAP_BARS = pl.DataFrame(
    {
        "high": [11.0, 12.0, 13.0, 14.0, 15.0, 16.0],
        "low": [9.0, 10.0, 11.0, 12.0, 13.0, 14.0],
        "close": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
        "volume": [100, 300, 0, 600, 0, 0],
    }
)  # typical prices 10, 11, 12, 13, 14, 15


def test_vwap_by_hand_cumulative_and_rolling() -> None:
    cumulative = [10.0, (10 * 100 + 11 * 300) / 400, 4300 / 400, (4300 + 13 * 600) / 1000, 12.1, 12.1]
    assert_rows(column("vwap", VWAP_BARS), cumulative)
    # window 2; the last window (rows 4 and 5) traded nothing, so there is no VWAP there
    rolling = [None, 4300 / 400, (11 * 300 + 0) / 300, (0 + 13 * 600) / 600, 13.0, None]
    assert_rows(column("vwap", VWAP_BARS, window=2), rolling)


def test_donchian_by_hand() -> None:
    expected: list[Any] = [
        None,
        None,
        (12.0, 8.0, 10.0),
        (12.0, 9.0, 10.5),
        (14.0, 9.0, 11.5),
        (14.0, 9.0, 11.5),
        (14.0, 11.0, 12.5),
    ]
    assert_rows(both_forms("donchian", BARS, period=3), expected)


# ------------------------------------------------------------------------------------------ TA-Lib on GOOG

# What TA-Lib 0.8.1 gives on /work/shared/data/GOOG.csv (float64 inputs) at its first output row, at row 1000
# and at the last row. +DI/-DI and fast %K/%D are the same numbers that TA-Lib's PLUS_DI, MINUS_DI and STOCHF
# publish; here they are shown from the row on which the whole group is defined.
TALIB: list[tuple[str, dict[str, Any], str, int, float, float, float]] = [
    ("sma", {"period": 20}, "sma", 19, 105.28049999999999, 488.93300000000073, 786.9580000000002),
    ("ema", {"period": 20}, "ema", 19, 105.28049999999999, 491.9731316581428, 784.9616873358083),
    ("wma", {"period": 20}, "wma", 19, 105.98180952380955, 482.1993333333335, 793.1723809523805),
    ("rsi", {"period": 14}, "rsi", 14, 53.27569005653475, 48.61273064540899, 67.49798280234823),
    ("macd", {}, "macd", 33, 8.737891142265553, -13.309470293603283, 15.154184421962896),
    ("macd", {}, "signal", 33, 7.027451141146195, -16.126540639275376, 15.817943057836114),
    ("macd", {}, "histogram", 33, 1.7104400011193581, 2.817070345672093, -0.6637586358732186),
    ("bollinger", {}, "upper", 19, 113.53795354210362, 530.2517008992304, 812.8406000239524),
    ("bollinger", {}, "middle", 19, 105.28049999999999, 488.93300000000073, 786.9580000000002),
    ("bollinger", {}, "lower", 19, 97.02304645789636, 447.6142991007711, 761.075399976048),
    ("atr", {"period": 14}, "atr", 14, 3.8500000000000005, 16.73551337176427, 12.22759325990152),
    ("adx", {"period": 14}, "adx", 27, 38.96330617841732, 32.818533562110744, 41.2324891357677),
    ("adx", {"period": 14}, "plus_di", 27, 40.37810096471786, 18.70920513009751, 30.073546708241985),
    ("adx", {"period": 14}, "minus_di", 27, 11.339203611425507, 22.941386708853532, 12.909980442543919),
    ("stochastic", {}, "slow_k", 17, 69.21907025512319, 69.45612605369836, 82.9681373134945),
    ("stochastic", {}, "slow_d", 17, 49.52325591349347, 48.68519713337332, 74.87131226796333),
    ("stochastic", {}, "fast_k", 17, 96.09494640122507, 93.71638833852242, 92.1067575241341),
    ("stochastic", {}, "fast_d", 17, 69.21907025512319, 69.45612605369836, 82.9681373134945),
    ("obv", {}, "obv", 0, 22351900.0, 570779000.0, 622611400.0),
    ("donchian", {}, "upper", 19, 115.8, 540.06, 808.97),
    ("donchian", {}, "lower", 19, 95.96, 461.9, 758.1),
]


@pytest.fixture(scope="module")
def goog() -> pl.DataFrame:
    return pl.read_csv(Path("/work/shared/data/GOOG.csv"))


@pytest.mark.parametrize(
    ("name", "params", "output", "first", "at_first", "at_1000", "at_last"),
    TALIB,
    ids=[f"{t[0]}.{t[2]}" for t in TALIB],
)
def test_matches_talib_on_goog(
    goog: pl.DataFrame,
    name: str,
    params: dict[str, Any],
    output: str,
    first: int,
    at_first: float,
    at_1000: float,
    at_last: float,
) -> None:
    values = compute(name, goog, **params)[output]
    assert values.null_count() == first
    assert values[first - 1] is None if first else True
    assert values[first] == pytest.approx(at_first, rel=1e-12)
    assert values[1000] == pytest.approx(at_1000, rel=1e-12)
    assert values[-1] == pytest.approx(at_last, rel=1e-12)
