"""--timerange: one parser for every command that takes --start/--end."""

from __future__ import annotations

import pytest

from alphintra.cli.common import parse_timerange, time_range
from alphintra.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240101-20240301", ("2024-01-01", "2024-03-01")),
        ("20240101-", ("2024-01-01", None)),
        ("-20240301", (None, "2024-03-01")),
        (" 20240229-20240301 ", ("2024-02-29", "2024-03-01")),
    ],
)
def test_timerange_forms(text: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_timerange(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("-", "must be YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD"),
        ("2024-01-01", "must be YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD"),
        ("20240101", "must be YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD"),
        ("20230229-", "20230229 is not a calendar date (must be YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD)"),
        ("20240301-20240101", "the end must be after the start"),
        ("20240101-20240101", "the end must be after the start"),
    ],
)
def test_bad_timeranges_name_the_option_and_the_rule(text: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_timerange(text)
    assert (err.value.field, err.value.rule, err.value.value) == ("--timerange", rule, text)


def test_timerange_or_start_end_never_both() -> None:
    assert time_range("2024-01-01", None, None) == ("2024-01-01", None)
    assert time_range(None, None, "-20240301") == (None, "2024-03-01")
    for start, end, named in (("2024-01-01", None, "--start"), (None, "x", "--end"), ("a", "b", "--start and --end")):
        with pytest.raises(ValidationError) as err:
            time_range(start, end, "20240101-")
        assert str(err.value) == f"--timerange: cannot be combined with {named}: give one or the other"
