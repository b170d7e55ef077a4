from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.errors import ValidationError
from alphintra.storage.market.resample import resample_bars, trades_to_bars


def bars_1m(start: datetime, closes: list[float], volume: float = 1.0) -> pl.DataFrame:
    n = len(closes)
    opens = [closes[0], *closes[:-1]]
    return pl.DataFrame(
        {
            "time": [start + timedelta(minutes=i) for i in range(n)],
            "symbol": ["X"] * n,
            "exchange": ["T"] * n,
            "timeframe": ["1m"] * n,
            "open": opens,
            "high": [max(o, c) + 0.5 for o, c in zip(opens, closes, strict=True)],
            "low": [min(o, c) - 0.5 for o, c in zip(opens, closes, strict=True)],
            "close": closes,
            "volume": [volume * (i + 1) for i in range(n)],
            "quote_volume": [None] * n,
            "trades_count": [1] * n,
        },
        schema_overrides={"time": pl.Datetime("ns", "UTC"), "quote_volume": pl.Float64},
    )


def test_five_minute_bars_match_a_hand_computed_reference() -> None:
    # 12 one-minute bars from 09:58: windows [09:55,10:00) gets 2 bars, [10:00,10:05) 5, [10:05,10:10) 5.
    closes = [10.0, 11.0, 12.0, 9.0, 13.0, 14.0, 10.0, 10.5, 11.5, 8.0, 12.0, 12.5]
    src = bars_1m(datetime(2024, 3, 4, 9, 58, tzinfo=UTC), closes)
    out = resample_bars(src, "5m")
    assert out["time"].to_list() == [
        datetime(2024, 3, 4, 9, 55, tzinfo=UTC),
        datetime(2024, 3, 4, 10, 0, tzinfo=UTC),
        datetime(2024, 3, 4, 10, 5, tzinfo=UTC),
    ]
    assert out["open"].to_list() == [10.0, 11.0, 10.0]
    assert out["high"].to_list() == [11.5, 14.5, 12.5 + 0.5]
    assert out["low"].to_list() == [9.5, 8.5, 7.5]
    assert out["close"].to_list() == [11.0, 10.0, 12.5]
    assert out["volume"].to_list() == [1 + 2, 3 + 4 + 5 + 6 + 7, 8 + 9 + 10 + 11 + 12]
    assert out["trades_count"].to_list() == [2, 5, 5]
    assert out["quote_volume"].null_count() == 3  # unknown stays unknown, not 0
    assert out["timeframe"].unique().to_list() == ["5m"]
    assert out["symbol"].unique().to_list() == ["X"]


def test_weekly_bars_start_on_monday_and_monthly_on_the_first() -> None:
    start = datetime(2024, 1, 31, 23, 0, tzinfo=UTC)  # a Wednesday, last day of January
    src = bars_1m(start, [100.0 + i for i in range(24 * 60 * 8)])
    weekly = resample_bars(src, "1w")
    assert [t.weekday() for t in weekly["time"].to_list()] == [0, 0]
    assert weekly["time"][0] == datetime(2024, 1, 29, tzinfo=UTC)
    monthly = resample_bars(src, "1M")
    assert monthly["time"].to_list() == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)]
    assert monthly["volume"][0] == sum(range(1, 61))  # the 60 January minutes


def test_several_symbols_are_resampled_separately() -> None:
    a = bars_1m(datetime(2024, 1, 1, tzinfo=UTC), [1.0, 2.0, 3.0])
    b = bars_1m(datetime(2024, 1, 1, tzinfo=UTC), [10.0, 20.0, 30.0]).with_columns(pl.lit("Y").alias("symbol"))
    out = resample_bars(pl.concat([a, b]), "1h")
    assert out.select("symbol", "open", "close").rows() == [("X", 1.0, 3.0), ("Y", 10.0, 30.0)]


def test_a_target_the_source_does_not_tile_is_refused() -> None:
    src = bars_1m(datetime(2024, 1, 1, tzinfo=UTC), [1.0]).with_columns(pl.lit("1w").alias("timeframe"))
    with pytest.raises(ValidationError) as err:
        resample_bars(src, "1M")
    assert err.value.field == "to" and "do not tile" in err.value.rule
    with pytest.raises(ValidationError):
        resample_bars(src, "1d")  # finer than the source


def test_trades_become_bars() -> None:
    t0 = datetime(2024, 1, 1, 0, 0, 10, tzinfo=UTC)
    trades = pl.DataFrame(
        {
            "time": [t0, t0 + timedelta(seconds=20), t0 + timedelta(seconds=40), t0 + timedelta(seconds=70)],
            "price": [100.0, 102.0, 99.0, 101.0],
            "quantity": [1.0, 2.0, 3.0, 4.0],
        },
        schema_overrides={"time": pl.Datetime("ns", "UTC")},
    )
    out = trades_to_bars(trades, "1m")
    assert out.select("open", "high", "low", "close", "volume", "quote_volume", "trades_count").rows() == [
        (100.0, 102.0, 99.0, 99.0, 6.0, 100.0 + 204.0 + 297.0, 3),
        (101.0, 101.0, 101.0, 101.0, 4.0, 404.0, 1),
    ]
    assert out["time"].to_list() == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 1, tzinfo=UTC)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=1, max_value=1000, allow_nan=False), min_size=1, max_size=400),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["5m", "15m", "1h", "4h", "1d"]),
)
def test_resampling_conserves_volume_and_extremes(closes: list[float], offset: int, target: str) -> None:
    src = bars_1m(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=offset), closes)
    out = resample_bars(src, target)
    assert out["volume"].sum() == pytest.approx(src["volume"].sum())
    assert out["high"].max() == src["high"].max()
    assert out["low"].min() == src["low"].min()
    assert out["open"][0] == src["open"][0] and out["close"][-1] == src["close"][-1]
    assert out["trades_count"].sum() == src.height
    assert out["time"].is_sorted() and out["time"].n_unique() == out.height


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=300),
    st.sampled_from(["15m", "1h", "4h", "1d", "1w", "1M"]),
)
def test_same_bars_as_polars_dynamic_group_by_with_gaps(steps: list[int], target: str) -> None:
    """The segment reductions agree with polars' calendar windows, including empty windows and partial ones."""

    minutes = [sum(steps[: i + 1]) * 37 for i in range(len(steps))]  # strictly increasing, irregular gaps
    start = datetime(2023, 12, 30, 22, 0, tzinfo=UTC)
    src = bars_1m(start, [float(i % 17 + 1) for i in range(len(steps))]).with_columns(
        pl.Series("time", [start + timedelta(minutes=m) for m in minutes], dtype=pl.Datetime("ns", "UTC"))
    )
    ours = resample_bars(src, target)
    ref = _dynamic_reference(src, target)
    assert ours.select(ref.columns).equals(ref)


def _dynamic_reference(src: pl.DataFrame, target: str) -> pl.DataFrame:
    from alphintra.storage.market.timeframes import TIMEFRAMES

    return (
        src.set_sorted("time")
        .group_by_dynamic("time", every=TIMEFRAMES[target].polars_every, closed="left", label="left")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.col("trades_count").sum(),
        )
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from([0, 1, 30]),
    st.sampled_from(["5m", "1h", "4h", "1d", "1w", "1M"]),
)
def test_complete_series_shortcut_matches_polars(n: int, offset: int, seconds: int, target: str) -> None:
    """Gap-free series take the fixed-size-bar shortcut (or not, off the minute grid): same bars as polars."""
    start = datetime(2030, 7, 1, tzinfo=UTC) + timedelta(minutes=offset, seconds=seconds)
    src = bars_1m(start, [float(i % 23 + 1) for i in range(n)])
    ours = resample_bars(src, target)
    ref = _dynamic_reference(src, target)
    assert ours.select(ref.columns).equals(ref)


def test_the_last_bar_is_kept_far_from_the_epoch() -> None:
    # The calendar grid was once sized by np.arange in float64, which at these magnitudes dropped the last week
    # and folded its rows into the week before.
    start = datetime(2023, 12, 5, tzinfo=UTC)
    days = [start + timedelta(days=d) for d in range(0, 2415, 2)]
    src = bars_1m(start, [1.0] * len(days)).with_columns(
        pl.Series("time", days, dtype=pl.Datetime("ns", "UTC")), pl.lit("1d").alias("timeframe")
    )
    ours = resample_bars(src, "1w")
    assert ours.select("time", "trades_count").equals(_dynamic_reference(src, "1w").select("time", "trades_count"))


def test_interleaved_symbols_are_still_split_correctly() -> None:
    a = bars_1m(datetime(2024, 1, 1, tzinfo=UTC), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = bars_1m(datetime(2024, 1, 1, tzinfo=UTC), [10.0, 20.0]).with_columns(pl.lit("Y").alias("symbol"))
    # One stray Y row inside the X block: probing the block's ends alone would miss it.
    mixed = pl.concat([a.slice(0, 3), b.slice(0, 1), a.slice(3, 3), b.slice(1, 1)])
    out = resample_bars(mixed, "1h")
    assert out.select("symbol", "open", "close", "trades_count").rows() == [("X", 1.0, 6.0, 6), ("Y", 10.0, 20.0, 2)]
