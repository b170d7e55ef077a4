from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.errors import ValidationError
from alphintra.storage.market.schema import from_ns, to_ns
from alphintra.storage.market.timeframes import NS_PER_DAY, TIMEFRAMES, parse_timeframe

# 1990-01-01 … 2100-01-01 in ns
instants = st.integers(min_value=631_152_000 * 10**9, max_value=4_102_444_800 * 10**9)


def ns(*args: int) -> int:
    return to_ns(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def test_unknown_timeframe_names_the_choices() -> None:
    with pytest.raises(ValidationError) as err:
        parse_timeframe("2m")
    assert err.value.field == "timeframe"
    assert "1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w, 1M" in err.value.rule
    assert err.value.value == "2m"


def test_week_starts_on_monday_and_month_on_the_first() -> None:
    wednesday = ns(2024, 1, 3, 10, 7)
    assert from_ns(TIMEFRAMES["1w"].floor_ns(wednesday)) == datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    assert from_ns(TIMEFRAMES["1M"].floor_ns(ns(2024, 2, 29, 23, 59))) == datetime(2024, 2, 1, tzinfo=UTC)
    assert from_ns(TIMEFRAMES["4h"].floor_ns(ns(2024, 1, 3, 10, 7))) == datetime(2024, 1, 3, 8, tzinfo=UTC)


def test_which_timeframes_tile_which() -> None:
    tf = TIMEFRAMES
    assert tf["1m"].divides(tf["1w"]) and tf["1d"].divides(tf["1M"]) and tf["4h"].divides(tf["1d"])
    assert not tf["1w"].divides(tf["1M"])  # weeks straddle month ends
    assert not tf["1h"].divides(tf["1h"])
    assert not tf["1d"].divides(tf["4h"])


@given(instants, st.sampled_from(list(TIMEFRAMES)))
def test_floor_is_the_start_of_the_bar_containing_the_instant(t: int, name: str) -> None:
    tf = TIMEFRAMES[name]
    start = tf.floor_ns(t)
    assert start <= t
    assert tf.is_aligned(start)
    if tf.months:
        assert from_ns(start).day == 1 and from_ns(start).hour == 0
        assert t - start < 31 * NS_PER_DAY
    else:
        assert t - start < tf.nanos
    if name == "1w":
        assert from_ns(start).weekday() == 0


def test_to_ns_accepts_dates_text_and_naive_datetimes_as_utc() -> None:
    assert to_ns("2024-01-02") == ns(2024, 1, 2)
    assert to_ns("2024-01-02T03:04:05Z") == ns(2024, 1, 2, 3, 4, 5)
    assert to_ns(datetime(2024, 1, 2, 3)) == ns(2024, 1, 2, 3)
    with pytest.raises(ValidationError) as err:
        to_ns("yesterday", "start")
    assert err.value.field == "start"
