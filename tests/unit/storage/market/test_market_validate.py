from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from alphintra.errors import ValidationError
from alphintra.storage.market.validate import drop_duplicates, fill_gaps, validate_bars, validate_file


def crafted(tmp_path: Path) -> Path:
    """One row per finding, each on a known line (the header is line 1)."""
    lines = [
        "Date,Open,High,Low,Close,Volume",
        "2024-01-01 00:00:00,10,11,9,10.5,100",  # 2 fine
        "2024-01-01 01:00:00,10.5,11,10,10.8,100",  # 3 fine
        "2024-01-01 01:00:00,10.8,11,10,10.8,100",  # 4 duplicate of line 3
        "2024-01-01 00:30:00,10.8,11,10,10.8,100",  # 5 misaligned and earlier than line 4
        "2024-01-01 02:00:00,10,9.5,9,10.2,100",  # 6 high below open/close
        "2024-01-01 03:00:00,10.5,11,10.6,10.7,100",  # 7 low above open/close
        "2024-01-01 04:00:00,0,11,0,10.7,100",  # 8 non-positive price
        "2024-01-01 05:00:00,10.7,11,10,10.7,-5",  # 9 negative volume
        "2024-01-01 08:00:00,10.7,11,10,10.7,100",  # 10 after a gap: 06:00 and 07:00 missing
        "2024-01-01 09:00:00,10.7,11,10,,100",  # 11 empty close
    ]
    # Then hours with ordinary moves of a few percent, one jump of +40% (line 42), and ordinary moves again.
    price = 10.7
    for i in range(40):
        price *= 1 + 0.03 * math.sin(i)
        if i == 30:
            price *= 1.4
        when = datetime(2024, 1, 1, 10, tzinfo=UTC) + timedelta(hours=i)
        lines.append(f"{when:%Y-%m-%d %H:%M:%S},{price},{price},{price},{price},1")
    path = tmp_path / "crafted.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_check_is_triggered_and_reported_with_its_line(tmp_path: Path) -> None:
    report, _ = validate_file(crafted(tmp_path), "1h")
    found = {(f.check, f.row) for f in report.findings}
    assert ("duplicate", 4) in found
    assert ("non_monotonic", 5) in found
    assert ("misaligned", 5) in found
    assert ("high_below_open_close", 6) in found
    assert ("low_above_open_close", 7) in found
    assert ("non_positive_price", 8) in found
    assert ("negative_volume", 9) in found
    assert ("gap", 10) in found
    assert ("missing_value", 11) in found
    assert ("outlier", 42) in found
    assert report.row_label == "line"
    gap = report.of("gap")[0]
    assert gap.time == datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert gap.detail.startswith("2 missing 1h bar(s)")
    assert report.of("duplicate")[0].detail == "same time as line 3"
    assert report.counts()["outlier"] == 1
    assert not report.ok


def test_clean_data_has_no_findings() -> None:
    times = pl.datetime_range(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), "1h", eager=True, time_unit="ns"
    )
    n = len(times)
    close = [100 + math.sin(i) for i in range(n)]
    df = pl.DataFrame({"time": times, "open": close, "high": [c + 1 for c in close], "low": [c - 1 for c in close]})
    df = df.with_columns(close=pl.Series(close), volume=pl.lit(5.0))
    report = validate_bars(df, "1h")
    assert report.ok and report.rows == n
    assert set(report.counts().values()) == {0}


def test_weekend_bars_are_not_gaps_with_weekdays() -> None:
    days = [datetime(2024, 1, d, tzinfo=UTC) for d in (4, 5, 8, 9, 11)]  # Thu Fri Mon Tue Thu
    df = pl.DataFrame({"time": days, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})
    all_days = validate_bars(df, "1d")
    assert [(f.row, f.detail[:1]) for f in all_days.of("gap")] == [(3, "2"), (5, "1")]
    trading = validate_bars(df, "1d", weekdays=True)
    assert [(f.row, f.time) for f in trading.of("gap")] == [(5, datetime(2024, 1, 10, tzinfo=UTC))]


def test_monthly_gaps_count_calendar_months() -> None:
    months = [datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 5)]
    df = pl.DataFrame({"time": months, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})
    gaps = validate_bars(df, "1M").of("gap")
    assert [(g.row, g.time, g.detail[:1]) for g in gaps] == [(3, datetime(2024, 3, 1, tzinfo=UTC), "2")]


def test_fixes_drop_duplicates_keeping_the_last_and_fill_gaps_flat() -> None:
    t = [datetime(2024, 1, 1, h, tzinfo=UTC) for h in (0, 1, 1, 4)]
    df = pl.DataFrame(
        {"time": t, "open": [1.0, 2.0, 3.0, 5.0], "high": [1.0, 2.0, 3.0, 5.0], "low": [1.0, 2.0, 3.0, 5.0]}
    ).with_columns(close=pl.col("open"), volume=pl.lit(7.0), symbol=pl.lit("X"))
    deduped = drop_duplicates(df)
    assert deduped["open"].to_list() == [1.0, 3.0, 5.0]
    filled = fill_gaps(deduped, "1h")
    assert filled["time"].dt.hour().to_list() == [0, 1, 2, 3, 4]
    assert filled.row(2, named=True) | {"time": None} == {
        "time": None,
        "open": 3.0,
        "high": 3.0,
        "low": 3.0,
        "close": 3.0,
        "volume": 0.0,
        "symbol": "X",
    }
    assert validate_bars(filled, "1h").ok


def test_a_file_without_prices_is_refused_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "nop.csv"
    path.write_text("time,open,high,low,volume\n2024-01-01,1,1,1,1\n")
    with pytest.raises(ValidationError) as err:
        validate_file(path, "1d")
    assert err.value.field == f"{path}: column 'close'"
