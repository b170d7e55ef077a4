"""The vectorised and the incremental form of every indicator agree row by row, warm-up nulls included.

On the real GOOG daily bars and on random bars (hypothesis: random walks and wild jumps on a tick grid, flat
stretches, zero volumes, windows longer than the data). Values agree to 1e-9 relative to their magnitude;
a row that is null in one form is None in the other; NaN (Bollinger bandwidth with a zero middle) matches NaN.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.strategies.indicators import INDICATORS, compute, create

GOOG = Path("/work/shared/data/GOOG.csv")


def goog() -> pl.DataFrame:
    return pl.read_csv(GOOG).rename({"": "date"})


def incremental_rows(name: str, frame: pl.DataFrame, params: dict[str, Any]) -> list[tuple[float | None, ...]]:
    spec = INDICATORS[name]
    indicator = create(name, **params)
    columns = {c.lower(): c for c in frame.columns}
    inputs = [frame[columns[field]].to_list() for field in spec.inputs]
    rows: list[tuple[float | None, ...]] = []
    for values in zip(*inputs, strict=True):
        result = indicator.update(*values)
        assert indicator.value == result or (result is not None and _has_nan(result))
        assert indicator.ready is (result is not None)
        if result is None:
            rows.append((None,) * len(spec.outputs))
        elif isinstance(result, tuple):
            assert result._fields == spec.outputs  # type: ignore[attr-defined]
            rows.append(tuple(result))
        else:
            rows.append((result,))
    return rows


def _has_nan(result: object) -> bool:
    values = result if isinstance(result, tuple) else (result,)
    return any(isinstance(v, float) and math.isnan(v) for v in values)


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def assert_agree(name: str, frame: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    vectorised = compute(name, frame, **params)
    assert vectorised.columns == list(INDICATORS[name].outputs)
    assert vectorised.height == frame.height
    assert all(dtype == pl.Float64 for dtype in vectorised.dtypes)
    incremental = incremental_rows(name, frame, params)
    for row, (expected, got) in enumerate(zip(vectorised.rows(), incremental, strict=True)):
        for column, a, b in zip(vectorised.columns, expected, got, strict=True):
            assert same(a, b), f"{name}{params} row {row} {column}: vectorised {a!r} != incremental {b!r}"
    return vectorised


GOOG_CASES: list[tuple[str, dict[str, Any]]] = [
    ("sma", {}),
    ("sma", {"period": 1}),
    ("sma", {"period": 200}),
    ("ema", {}),
    ("ema", {"period": 50}),
    ("wma", {}),
    ("rsi", {}),
    ("rsi", {"period": 2}),
    ("macd", {}),
    ("macd", {"fast": 5, "slow": 35, "signal": 5}),
    ("bollinger", {}),
    ("bollinger", {"period": 50, "num_std": 2.5}),
    ("zscore", {}),
    ("atr", {}),
    ("atr", {"period": 1}),
    ("adx", {}),
    ("adx", {"period": 5}),
    ("stochastic", {}),
    ("stochastic", {"k_period": 5, "k_smooth": 1, "d_period": 3}),
    ("obv", {}),
    ("vwap", {}),
    ("vwap", {"window": 20}),
    ("donchian", {}),
    ("donchian", {"period": 55}),
]


@pytest.mark.parametrize(("name", "params"), GOOG_CASES, ids=[f"{n}-{p}" for n, p in GOOG_CASES])
def test_forms_agree_on_goog_daily_bars(name: str, params: dict[str, Any]) -> None:
    frame = goog()
    result = assert_agree(name, frame, params)
    lookback = create(name, **params).lookback
    # Warm-up is exactly the lookback: null before it, a value on it and on every later row.
    assert result.head(lookback).null_count().sum_horizontal().item() == lookback * result.width
    assert result.slice(lookback).null_count().sum_horizontal().item() == 0


def test_session_vwap_agrees_and_restarts_each_session() -> None:
    frame = goog().with_columns(session=pl.col("date").str.slice(0, 7))  # one session per calendar month
    vectorised = compute("vwap", frame, session="session")["vwap"].to_list()
    indicator = create("vwap")
    incremental = [
        indicator.update(h, lo, c, v, session=s)
        for h, lo, c, v, s in frame.select("High", "Low", "Close", "Volume", "session").iter_rows()
    ]
    assert all(same(a, b) for a, b in zip(vectorised, incremental, strict=True))
    # The first bar of a month is that bar's own typical price: the average started afresh.
    september = frame.with_row_index().filter(pl.col("session") == "2004-09").row(0, named=True)
    typical = (september["High"] + september["Low"] + september["Close"]) / 3
    assert vectorised[september["index"]] == pytest.approx(typical, rel=1e-15)


# ---------------------------------------------------------------------------------------------- random bars


@st.composite
def bars(draw: st.DrawFn) -> pl.DataFrame:
    """OHLCV on a tick grid: random walks (flat runs, ties) or independent jumps, volumes often zero."""
    size = draw(st.integers(0, 60))
    tick = draw(st.sampled_from([0.01, 0.25, 1.0]))
    if draw(st.booleans()):
        start = draw(st.integers(50, 100_000))
        steps = draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size))
        closes, level = [], start
        for step in steps:
            level = max(level + step, 10)
            closes.append(level)
    else:
        closes = draw(st.lists(st.integers(10, 100_000), min_size=size, max_size=size))
    ups = draw(st.lists(st.integers(0, 4), min_size=size, max_size=size))
    downs = draw(st.lists(st.integers(0, 4), min_size=size, max_size=size))
    volumes = draw(st.lists(st.one_of(st.just(0), st.integers(0, 1_000_000)), min_size=size, max_size=size))
    return pl.DataFrame(
        {
            "high": [(c + u) * tick for c, u in zip(closes, ups, strict=True)],
            "low": [max(c - d, 1) * tick for c, d in zip(closes, downs, strict=True)],
            "close": [c * tick for c in closes],
            "volume": volumes,
        },
        schema={"high": pl.Float64, "low": pl.Float64, "close": pl.Float64, "volume": pl.Int64},
    )


_PERIOD = st.integers(1, 12)


@st.composite
def macd_params(draw: st.DrawFn) -> dict[str, int]:
    fast = draw(st.integers(1, 6))
    return {"fast": fast, "slow": draw(st.integers(fast + 1, fast + 8)), "signal": draw(st.integers(1, 6))}


PARAMS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "sma": st.fixed_dictionaries({"period": _PERIOD}),
    "ema": st.fixed_dictionaries({"period": _PERIOD}),
    "wma": st.fixed_dictionaries({"period": _PERIOD}),
    "rsi": st.fixed_dictionaries({"period": _PERIOD}),
    "macd": macd_params(),
    "bollinger": st.fixed_dictionaries(
        {"period": st.integers(2, 12), "num_std": st.sampled_from([0.5, 1.0, 2.0, 3.0])}
    ),
    "zscore": st.fixed_dictionaries({"period": st.integers(2, 12)}),
    "atr": st.fixed_dictionaries({"period": _PERIOD}),
    "adx": st.fixed_dictionaries({"period": st.integers(1, 10)}),
    "stochastic": st.fixed_dictionaries(
        {"k_period": st.integers(1, 8), "k_smooth": st.integers(1, 4), "d_period": st.integers(1, 4)}
    ),
    "obv": st.just({}),
    "vwap": st.fixed_dictionaries({"window": st.none() | st.integers(1, 10)}),
    "donchian": st.fixed_dictionaries({"period": _PERIOD}),
}


def test_every_registered_indicator_has_random_parameters() -> None:
    assert set(PARAMS) == set(INDICATORS)


@pytest.mark.parametrize("name", sorted(PARAMS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_forms_agree_on_random_bars(name: str, data: st.DataObject) -> None:
    frame = data.draw(bars(), label="bars")
    params = data.draw(PARAMS[name], label="params")
    result = assert_agree(name, frame, params)
    lookback = create(name, **params).lookback
    assert result.head(lookback).null_count().sum_horizontal().sum() == min(lookback, frame.height) * result.width


@settings(max_examples=60, deadline=None)
@given(frame=bars(), sessions=st.lists(st.integers(0, 3), min_size=60, max_size=60), window=st.none() | _PERIOD)
def test_session_vwap_agrees_on_random_bars(frame: pl.DataFrame, sessions: list[int], window: int | None) -> None:
    keys = sorted(sessions)[: frame.height]  # runs of equal keys, like trading dates
    frame = frame.with_columns(session=pl.Series(keys, dtype=pl.Int64))
    vectorised = compute("vwap", frame, window=window, session="session")["vwap"].to_list()
    indicator = create("vwap", window=window)
    incremental = [
        indicator.update(h, lo, c, v, session=s)
        for h, lo, c, v, s in frame.select("high", "low", "close", "volume", "session").iter_rows()
    ]
    assert all(same(a, b) for a, b in zip(vectorised, incremental, strict=True))
