"""Cron parsing with crontab meaning (weekdays, seconds field), next firing times and crontab lines."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.daemon.trading.scheduler import (
    crontab_lines,
    crontab_weekdays,
    next_fire_times,
    parse_cron,
    run_once_argv,
)
from alphintra.errors import ValidationError


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("sat,sun", "sun,sat"),
        ("mon-wed", "mon,tue,wed"),
        ("*/2", "sun,tue,thu,sat"),
        ("1/2", "mon,wed,fri"),
        ("5-7", "sun,fri,sat"),
        ("0-6/3", "sun,wed,sat"),
    ],
)
def test_crontab_weekdays_become_unambiguous_names(field: str, names: str) -> None:
    assert crontab_weekdays(field) == names


@pytest.mark.parametrize("field", ["8", "5-2", "xyz", "1-", "*/0", "*-3"])
def test_bad_weekdays_are_refused(field: str) -> None:
    with pytest.raises(ValidationError) as err:
        crontab_weekdays(field, f"* * * * {field}")
    assert err.value.field == "cron"


def test_five_fields_fire_on_the_minute_in_crontab_meaning() -> None:
    spec = parse_cron("30 9 * * 1-5")  # 09:30 on weekdays
    assert (spec.has_seconds, spec.crontab) == (False, "30 9 * * 1-5")
    saturday = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert next_fire_times(spec, saturday, 2) == [
        datetime(2024, 6, 3, 9, 30, tzinfo=UTC),  # Monday
        datetime(2024, 6, 4, 9, 30, tzinfo=UTC),
    ]


def test_six_fields_have_seconds_first() -> None:
    spec = parse_cron("*/2  * * * * *")
    assert (spec.expr, spec.has_seconds, spec.crontab) == ("*/2 * * * * *", True, None)
    t0 = datetime(2024, 6, 1, 12, 0, 1, 500_000, tzinfo=UTC)
    assert next_fire_times(spec, t0, 3) == [
        datetime(2024, 6, 1, 12, 0, 2, tzinfo=UTC),
        datetime(2024, 6, 1, 12, 0, 4, tzinfo=UTC),
        datetime(2024, 6, 1, 12, 0, 6, tzinfo=UTC),
    ]
    # Strictly after: a firing exactly at ``after`` is not the next one.
    assert next_fire_times(spec, datetime(2024, 6, 1, 12, 0, 2, tzinfo=UTC), 1)[0].second == 4


def test_time_zone_moves_the_firing() -> None:
    spec = parse_cron("0 9 * * *", "Europe/Paris")  # 09:00 in Paris is 07:00 UTC in summer
    nxt = next_fire_times(spec, datetime(2024, 6, 1, 0, 0, tzinfo=UTC), 1)[0]
    assert nxt.astimezone(UTC) == datetime(2024, 6, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "tz", "field"),
    [
        ("* * * *", "UTC", "cron"),
        ("* * * * * * *", "UTC", "cron"),
        ("61 * * * *", "UTC", "cron"),
        ("0 9 1 * 1", "UTC", "cron"),  # both day fields restricted: crontab ORs them, APScheduler ANDs
        ("0 9 * * *", "Mars/Olympus", "timezone"),
    ],
)
def test_bad_expressions_are_refused(expr: str, tz: str, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_cron(expr, tz)
    assert err.value.field == field


@given(st.sampled_from(["*/5 * * * *", "0 */2 * * *", "15 3 * * 0", "*/7 * * * * *"]), st.integers(0, 10**6))
def test_next_firings_are_increasing_and_after_the_start(expr: str, offset_s: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp() + offset_s
    after = datetime.fromtimestamp(start, UTC)
    times = next_fire_times(parse_cron(expr), after, 4)
    assert len(times) == 4
    assert after < times[0] < times[1] < times[2] < times[3]


def _row(job_id: str, cron: str, enabled: bool = True, **args: Any) -> Any:
    base = {"strategy": "dca", "symbols": ["BTC/USD"], "params": {"amount": "100", "every_bars": 1}, "timezone": "UTC"}
    return SimpleNamespace(id=job_id, schedule=cron, enabled=enabled, args={**base, **args})


def test_run_once_argv_repeats_a_firing() -> None:
    assert run_once_argv(_row("dca-btc", "*/5 * * * *")) == [
        "strategy",
        "run-once",
        "dca",
        "--name",
        "dca-btc",
        "--symbol",
        "BTC/USD",
        "--param",
        "amount=100",
        "--param",
        "every_bars=1",
    ]


def test_crontab_lines() -> None:
    rows = [
        _row("dca-btc", "*/5 * * * *"),
        _row("fast", "*/2 * * * * *"),
        _row("nightly", "0 2 * * *", enabled=False, timezone="Europe/Paris"),
    ]
    lines = crontab_lines(rows, program=["alphintra"], home="/data/a b")
    assert lines[1:] == [
        "CRON_TZ=UTC",
        "*/5 * * * * ALPHINTRA_HOME='/data/a b' alphintra strategy run-once dca --name dca-btc --symbol BTC/USD"
        " --param amount=100 --param every_bars=1 >> '/data/a b/logs/cron.log' 2>&1",
        "# fast: '*/2 * * * * *' has a seconds field; cron fires at most once a minute (skipped)",
        "CRON_TZ=Europe/Paris",
        "# (paused) 0 2 * * * ALPHINTRA_HOME='/data/a b' alphintra strategy run-once dca --name nightly"
        " --symbol BTC/USD --param amount=100 --param every_bars=1 >> '/data/a b/logs/cron.log' 2>&1",
    ]
    assert lines[0].startswith("# ")
