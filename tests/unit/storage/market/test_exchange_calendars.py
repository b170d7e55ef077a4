"""Exchange calendars in the data checks: weekends, holidays and closed hours are not gaps; a missing session is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from alphintra.errors import ValidationError
from alphintra.storage.market import validate_bars
from alphintra.storage.market.calendars import check_calendar


def _bars(times: list[datetime]) -> pl.DataFrame:
    n = len(times)
    return pl.DataFrame(
        {
            "time": times,
            "open": [100.0] * n,
            "high": [101.0] * n,
            "low": [99.0] * n,
            "close": [100.0] * n,
            "volume": [1.0] * n,
        }
    ).with_columns(pl.col("time").cast(pl.Datetime("ns", "UTC")))


# XNYS sessions in January 2024: New Year's Day (1st) and Martin Luther King Day (15th) are holidays.
SESSIONS = [d for d in range(2, 32) if datetime(2024, 1, d).weekday() < 5 and d != 15]


def test_daily_bars_on_every_session_have_no_gap_and_a_missing_session_is_one() -> None:
    days = [datetime(2024, 1, d, tzinfo=UTC) for d in SESSIONS]
    assert [f.check for f in validate_bars(_bars(days), "1d", weekdays=True).findings] == ["gap"]  # the holiday
    assert validate_bars(_bars(days), "1d", calendar="XNYS").findings == []
    without = [d for d in days if d.day != 10]
    gaps = validate_bars(_bars(without), "1d", calendar="XNYS").findings
    assert [(f.check, f.detail) for f in gaps] == [("gap", "1 missing 1d bar(s) from 2024-01-10 00:00:00+00:00")]


def test_intraday_bars_count_only_the_opening_hours() -> None:
    # 30-minute bars from 14:30 to 20:30 UTC (09:30-16:00 New York in winter) on the sessions of two weeks.
    times = [
        datetime(2024, 1, d, 14, 30, tzinfo=UTC) + timedelta(minutes=30 * k) for d in SESSIONS[:9] for k in range(13)
    ]
    assert validate_bars(_bars(times), "30m", calendar="XNYS").findings == []
    # Without the calendar each of the 8 closes between the 9 sessions (nights, a weekend, a holiday) is a gap.
    assert len(validate_bars(_bars(times), "30m").findings) == 8
    hole = datetime(2024, 1, 10, 15, 0, tzinfo=UTC)
    gaps = validate_bars(_bars([t for t in times if t != hole]), "30m", calendar="XNYS").findings
    assert [(f.check, f.detail) for f in gaps] == [("gap", "1 missing 30m bar(s) from 2024-01-10 15:00:00+00:00")]


def test_unknown_calendars_are_refused_naming_the_field() -> None:
    assert check_calendar("XNYS") == "XNYS"
    with pytest.raises(ValidationError) as err:
        check_calendar("NOPE", field="--calendar")
    assert err.value.field == "--calendar"
    assert err.value.rule == "must be an exchange calendar such as XNYS, XLON or XTKS (exchange_calendars)"


# Round-the-clock minute bars from Sat 2024-11-23 to Tue 2024-12-03 (UTC). XNYS in that span (New York on EST,
# UTC-5): sessions 09:30-16:00 on Nov 25, 26, 27 and Dec 2; Thanksgiving (Nov 28) closed; Nov 29 a half day to 13:00.
_SESSION_HOURS = {  # session date -> (open, close) in New York wall-clock hours
    datetime(2024, 11, 25): (9.5, 16),
    datetime(2024, 11, 26): (9.5, 16),
    datetime(2024, 11, 27): (9.5, 16),
    datetime(2024, 11, 29): (9.5, 13),
    datetime(2024, 12, 2): (9.5, 16),
}


def _round_the_clock() -> pl.DataFrame:
    start = datetime(2024, 11, 23, tzinfo=UTC)
    n = 10 * 24 * 60
    price = [100 + (i * 7919 % 1000) / 10 for i in range(n)]  # jumps about, so highs and lows are mid-session
    return pl.DataFrame(
        {
            "time": [start + timedelta(minutes=i) for i in range(n)],
            "symbol": ["GOOG"] * n,
            "exchange": ["NASDAQ"] * n,
            "timeframe": ["1m"] * n,
            "open": price,
            "high": [p + 1 for p in price],
            "low": [p - 1 for p in price],
            "close": [p + 0.25 for p in price],
            "volume": [float(i % 7 + 1) for i in range(n)],
            "quote_volume": [None] * n,
            "trades_count": [1] * n,
        },
        schema_overrides={"time": pl.Datetime("ns", "UTC"), "quote_volume": pl.Float64},
    )


def _expected(rows: pl.DataFrame, label: datetime) -> dict[str, object]:
    return {
        "time": label.replace(tzinfo=UTC),
        "open": rows["open"][0],
        "high": rows["high"].max(),
        "low": rows["low"].min(),
        "close": rows["close"][-1],
        "volume": rows["volume"].sum(),
        "trades_count": rows.height,
    }


def _session_rows(bars: pl.DataFrame, day: datetime) -> pl.DataFrame:
    opens, closes = _SESSION_HOURS[day]
    utc_offset = timedelta(hours=5)  # EST, worked out by hand rather than by the calendar under test
    lo = (day + timedelta(hours=opens) + utc_offset).replace(tzinfo=UTC)
    hi = (day + timedelta(hours=closes) + utc_offset).replace(tzinfo=UTC)
    return bars.filter((pl.col("time") >= lo) & (pl.col("time") < hi))


def test_daily_bars_from_minute_bars_follow_the_exchange_sessions() -> None:
    from alphintra.storage.market import resample_bars

    bars = _round_the_clock()
    daily = resample_bars(bars, "1d", calendar="XNYS")
    columns = ["time", "open", "high", "low", "close", "volume", "trades_count"]
    expected = [_expected(_session_rows(bars, day), day) for day in _SESSION_HOURS]
    assert daily.select(columns).to_dicts() == expected
    # One bar per session: no weekend, no Thanksgiving; the half day holds 210 minutes, a full day 390.
    assert daily["trades_count"].to_list() == [390, 390, 390, 210, 390]
    assert daily["timeframe"].unique().to_list() == ["1d"] and daily["symbol"].unique().to_list() == ["GOOG"]
    # Without the calendar the same minutes make UTC-midnight days, weekends and the holiday included.
    assert resample_bars(bars, "1d").height == 10


def test_a_trading_week_with_a_holiday_is_one_weekly_bar() -> None:
    from alphintra.storage.market import resample_bars

    bars = _round_the_clock()
    weekly = resample_bars(bars, "1w", calendar="XNYS")
    week = pl.concat([_session_rows(bars, day) for day in list(_SESSION_HOURS)[:4]])
    columns = ["time", "open", "high", "low", "close", "volume", "trades_count"]
    assert weekly.select(columns).to_dicts() == [
        _expected(week, datetime(2024, 11, 25)),  # Mon-Fri less Thanksgiving, the half day's morning included
        _expected(_session_rows(bars, datetime(2024, 12, 2)), datetime(2024, 12, 2)),
    ]
    # From daily session bars the weekly bar is the same one.
    daily = resample_bars(bars, "1d", calendar="XNYS")
    assert resample_bars(daily, "1w", calendar="XNYS").select(columns).to_dicts() == weekly.select(columns).to_dicts()
    # Intraday targets do not depend on the calendar.
    assert resample_bars(bars, "1h", calendar="XNYS").equals(resample_bars(bars, "1h"))
