"""Parameter specs, grid size and order, random sampling, and durations."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.errors import ValidationError
from alphintra.strategies.optimize import (
    Choice,
    FloatRange,
    IntRange,
    ParamSpace,
    parse_duration,
    parse_param,
    parse_space,
    progress_total,
)


def test_integer_range_is_inclusive() -> None:
    p = parse_param("fast=5:50:5")
    assert isinstance(p, IntRange)
    assert p.values() == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
    assert parse_param("n = 3:5").values() == (3, 4, 5)
    assert parse_param("k=5:12:5").values() == (5, 10)  # 15 would pass the stop
    assert parse_param("k=-2:2:2").values() == (-2, 0, 2)


def test_float_range_steps_in_exact_decimals() -> None:
    p = parse_param("x=0.1:0.5:0.1")
    assert isinstance(p, FloatRange)
    assert p.values() == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert parse_param("x=0:1:0.25").values() == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert parse_param("x=1:2:0.3").values() == (1.0, 1.3, 1.6, 1.9)
    assert len(parse_param("x=0:1:0.01").values()) == 101


def test_choices_are_typed_together() -> None:
    assert parse_param("mode=a,b,c") == Choice("mode", ("a", "b", "c"))
    assert parse_param("n=1,2,10").values() == (1, 2, 10)
    assert parse_param("w=1,2.5").values() == (1.0, 2.5)
    assert parse_param("flag=true,False").values() == (True, False)
    assert parse_param("mix=1,a").values() == ("1", "a")
    assert parse_param("fixed=7").values() == (7,)


@pytest.mark.parametrize(
    ("spec", "field", "rule"),
    [
        ("fast", "--param", "must look like name=start:stop:step, name=a,b,c or name=value"),
        ("=1:2", "--param", "must look like name=start:stop:step, name=a,b,c or name=value"),
        ("9x=1", "--param", "name must be an identifier (letters, digits, _)"),
        ("fast=", "fast", "needs a value, a range start:stop[:step] or choices a,b,c"),
        ("fast=10:5:1", "fast", "range start must not exceed its stop"),
        ("fast=5:50:0", "fast", "range step must be > 0"),
        ("fast=5:50:-5", "fast", "range step must be > 0"),
        ("fast=1:2:3:4", "fast", "range must be start:stop or start:stop:step"),
        ("x=0.1:0.5", "x", "a float range needs a step (start:stop:step)"),
        ("x=a:b:c", "x", "range bounds and step must be numbers"),
        ("x=0:inf:1", "x", "range bounds and step must be finite"),
        ("x=0:1000000:1", "x", "range must have at most 100000 values"),
        ("mode=a,,b", "mode", "choices must not be empty (check for a stray comma)"),
        ("mode=a,b,a", "mode", "choices must be distinct"),
        ("run=1", "run", "name is reserved for the results table (error, run, window)"),
    ],
)
def test_bad_specs_name_the_parameter_and_the_rule(spec: str, field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_param(spec)
    assert (err.value.field, err.value.rule) == (field, rule)


def test_space_refuses_duplicates_and_emptiness() -> None:
    with pytest.raises(ValidationError) as err:
        parse_space(["a=1:3", "a=4"])
    assert (err.value.field, err.value.rule) == ("a", "parameter is given more than once")
    with pytest.raises(ValidationError) as err:
        parse_space([])
    assert err.value.field == "--param"


def test_grid_size_order_and_index_decoding() -> None:
    space = parse_space(["fast=5:50:5", "slow=20:100:20", "mode=ema,sma"])
    assert space.size == 10 * 5 * 2 == progress_total(space)
    grid = list(space.grid())
    assert len(grid) == 100
    assert grid[0] == {"fast": 5, "slow": 20, "mode": "ema"}
    assert grid[1] == {"fast": 5, "slow": 20, "mode": "sma"}  # the last parameter varies fastest
    assert grid[-1] == {"fast": 50, "slow": 100, "mode": "sma"}
    assert [space.at(i) for i in range(space.size)] == grid
    assert len({tuple(p.values()) for p in grid}) == 100
    with pytest.raises(ValidationError):
        space.at(100)
    assert progress_total(space, windows=3, samples=7) == 3 * 7 + 3


def test_random_search_is_reproducible_distinct_and_inside_the_space() -> None:
    space = parse_space(["fast=5:50:5", "x=0.1:0.9:0.1", "mode=a,b,c"])
    first = space.sample(40, seed=7)
    assert first == space.sample(40, seed=7)
    assert first != space.sample(40, seed=8)
    assert len({tuple(p.values()) for p in first}) == 40
    grid = list(space.grid())
    assert all(p in grid for p in first)
    everything = space.sample(10_000, seed=1)
    assert len(everything) == space.size and sorted(map(str, everything)) == sorted(map(str, grid))
    with pytest.raises(ValidationError) as err:
        space.sample(0, seed=1)
    assert err.value.field == "samples"


def test_sampling_an_astronomical_space_does_not_build_it() -> None:
    space = ParamSpace(tuple(IntRange(f"p{i}", 0, 99_999, 1) for i in range(5)))
    assert space.size == 10**25
    picks = space.sample(5, seed=3)
    assert picks == space.sample(5, seed=3) and len(picks) == 5
    assert all(0 <= v <= 99_999 for p in picks for v in p.values())  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(-1000, 1000),
    st.integers(0, 200),
    st.integers(1, 50),
)
def test_int_range_matches_its_definition(start: int, span: int, step: int) -> None:
    values = parse_param(f"p={start}:{start + span}:{step}").values()
    assert values[0] == start and values[-1] <= start + span < values[-1] + step
    assert all(b - a == step for a, b in itertools.pairwise(values))


def test_durations() -> None:
    assert parse_duration("90d") == 90 * 86_400 * 10**9
    assert parse_duration("1d12h") == 36 * 3_600 * 10**9
    assert parse_duration("2w") == 14 * 86_400 * 10**9
    assert parse_duration("30m") == 1_800 * 10**9
    for bad in ("", "d", "1y", "1.5d", "0d", "-1d", "1d 2h"):
        with pytest.raises(ValidationError) as err:
            parse_duration(bad, field="train")
        assert err.value.field == "train"
