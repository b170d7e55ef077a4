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
