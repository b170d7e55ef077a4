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


# Commands that take --start without a range: `data generate --start` is where generated bars begin (their count is
# --periods), so there is no end for a --timerange to give.
_NOT_A_RANGE = {"data generate"}


def _leaf_commands(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    children = getattr(command, "commands", None)
    if children is None:
        return [(" ".join(path), command)]
    return [leaf for name, sub in children.items() for leaf in _leaf_commands(sub, (*path, name))]


def test_every_command_with_start_or_end_also_takes_timerange() -> None:
    import typer

    from alphintra.cli.main import app

    with_start, missing = [], []
    for path, command in _leaf_commands(typer.main.get_command(app)):
        options = {opt for param in getattr(command, "params", []) for opt in getattr(param, "opts", [])}
        if "--start" not in options and "--end" not in options:
            continue
        with_start.append(path)
        if path in _NOT_A_RANGE:
            assert "--end" not in options, f"{path} now takes a range: give it --timerange"
        elif "--timerange" not in options:
            missing.append(path)
    assert missing == []
    # The walk really reaches the nested groups (a walk that found nothing would pass vacuously).
    assert {"backtest run", "optimize run", "ml train", "ml drift", "data show", "plot"} <= set(with_start)
