from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from alphintra.errors import ValidationError
from alphintra.storage.market.importer import load_file, snap_times
from alphintra.storage.market.timeframes import TIMEFRAMES


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def times(path: Path, **kw: object) -> list[datetime]:
    return load_file(path, **kw).frame["time"].to_list()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1704164645", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),  # epoch seconds
        ("1704164645000", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),  # epoch milliseconds (ccxt)
        ("1704164645000000000", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),  # epoch nanoseconds
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        ("20240102", datetime(2024, 1, 2, tzinfo=UTC)),  # a compact date, not an epoch number
        ("02.01.2024", datetime(2024, 1, 2, tzinfo=UTC)),
    ],
)
def test_timestamp_formats_are_detected(tmp_path: Path, cell: str, expected: datetime) -> None:
    path = write(tmp_path, f"Timestamp,OPEN,High,low,CLOSE,Volume\n{cell},1,2,0.5,1.5,10\n")
    assert times(path) == [expected]


def test_column_names_are_case_insensitive_and_extra_columns_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "DATE;Open;HIGH;Low;Close;Adj Close;VOLUME\n2024-01-02;1;2;0.5;1.5;1.4;10\n")
    frame = load_file(path).frame
    assert frame.columns == ["time", "open", "high", "low", "close", "volume"]
    assert frame.row(0)[1:] == (1.0, 2.0, 0.5, 1.5, 10.0)  # numbers that all read are parsed with the file


def test_naive_times_can_be_read_in_a_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "time,open,high,low,close,volume\n2024-07-01 09:30:00,1,1,1,1,1\n")
    assert times(path, tz="America/New_York") == [datetime(2024, 7, 1, 13, 30, tzinfo=UTC)]


def test_the_shared_sample_files_parse(tmp_path: Path) -> None:
    goog = load_file(Path("/work/shared/data/GOOG.csv"))
    assert goog.frame.height == 2148 and goog.time_format == "%Y-%m-%d"
    assert goog.frame["time"][0] == datetime(2004, 8, 19, tzinfo=UTC)


def test_unparseable_timestamp_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path, "date,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n2024-01-02,1,1,1,1,1\nsoon,1,1,1,1,1\n"
    )
    with pytest.raises(ValidationError) as err:
        load_file(path)
    assert err.value.field == f"{path}: line 4 column 'date'"
    assert err.value.rule == "timestamp does not match the format %Y-%m-%d"
    assert err.value.value == "soon"


def test_day_first_or_month_first_must_be_said(tmp_path: Path) -> None:
    path = write(tmp_path, "date,open,high,low,close,volume\n01/02/2024,1,1,1,1,1\n")
    with pytest.raises(ValidationError) as err:
        load_file(path)
    assert "ambiguous" in err.value.rule
    assert times(path, time_format="%d/%m/%Y") == [datetime(2024, 2, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("text", "field_tail", "rule"),
    [
        ("", "", "file is empty"),
        ("time,open,high,low,close,volume\n", "", "has a header but no data rows"),
        ("open,high,low,close,volume\n1,1,1,1,1\n", ": timestamp column", "is required"),
        ("time,open,high,low,close,volume\n,1,1,1,1,1\n", ": line 2 column 'time'", "timestamp is empty"),
    ],
)
def test_bad_files_are_refused_with_file_and_rule(tmp_path: Path, text: str, field_tail: str, rule: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValidationError) as err:
        load_file(path)
    assert err.value.field == f"{path}{field_tail}"
    assert err.value.rule.startswith(rule)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        load_file(tmp_path / "nope.csv")
    assert err.value.rule == "file does not exist"


def test_parquet_files_with_native_datetimes(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pl.DataFrame(
        {
            "Time": [datetime(2024, 1, 1, 12)],
            "Open": [1.0],
            "High": [1.0],
            "Low": [1.0],
            "Close": [1.0],
            "Volume": [1.0],
        }
    ).write_parquet(path)
    raw = load_file(path)
    assert raw.row_label == "row" and raw.frame["time"].to_list() == [datetime(2024, 1, 1, 12, tzinfo=UTC)]


def test_snap_moves_month_end_labels_to_the_month_start_and_refuses_collisions(tmp_path: Path) -> None:
    path = write(tmp_path, "date,open,high,low,close,volume\n2024-01-31,1,1,1,1,1\n2024-02-29,1,1,1,1,1\n")
    snapped = snap_times(load_file(path), TIMEFRAMES["1M"])
    assert snapped.frame["time"].to_list() == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)]
    finer = write(tmp_path, "date,open,high,low,close,volume\n2024-01-30,1,1,1,1,1\n2024-01-31,1,1,1,1,1\n", "d.csv")
    with pytest.raises(ValidationError) as err:
        snap_times(load_file(finer), TIMEFRAMES["1M"])
    assert err.value.field == f"{finer}: line 2 column 'time'"
    assert "same 1M bar" in err.value.rule
