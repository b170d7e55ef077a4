"""Searches in real worker processes, result tables, walk-forward windows and the walk-forward analysis."""

from __future__ import annotations

import itertools
import os
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# The objectives live in a small module of their own: spawned workers import it to find them, and it imports
# nothing heavy, so a worker starts fast.
from optimize_objectives import (
    H,
    dying_objective,
    failing_objective,
    score_objective,
    tied_objective,
    tied_objective_ab,
    window_objective,
)

from alphintra.errors import NotFoundError, OperationFailed, ValidationError
from alphintra.strategies.metrics import compute_metrics
from alphintra.strategies.optimize import (
    evaluate,
    grid_search,
    parse_space,
    random_search,
    stitch_equity,
    walk_forward,
    walk_forward_windows,
)

DAY = 24 * H


def test_parallel_grid_runs_in_worker_processes_in_input_order() -> None:
    space = parse_space(["fast=10:14", "x=0.5,1.5"])
    steps: list[int] = []
    result = grid_search(score_objective, space, args=(100,), workers=2, progress=steps.append)
    frame = result.frame
    assert steps == [1] * 10
    assert frame["run"].to_list() == list(range(10))
    assert frame["fast"].to_list() == [10, 10, 11, 11, 12, 12, 13, 13, 14, 14]
    assert frame["score"].to_list() == [120.5, 121.5, 122.5, 123.5, 124.5, 125.5, None, None, 128.5, 129.5]
    assert os.getpid() not in frame["pid"].drop_nulls().to_list()
    assert result.failures == 2
    assert frame["error"].to_list()[6] == "RuntimeError: unlucky parameter"
    assert result.param_names == ("fast", "x") and "score" in result.metric_names


def _fast_below_slow(params: dict[str, object]) -> str | None:
    return None if params["fast"] < params["slow"] else "fast must be below slow"  # type: ignore[operator]


def test_a_check_skips_invalid_sets_before_any_run() -> None:
    space = parse_space(["fast=10:12", "slow=11:12"])
    steps: list[int] = []
    result = grid_search(tied_objective_ab, space, workers=1, progress=steps.append, check=_fast_below_slow)
    assert list(zip(result.frame["fast"], result.frame["slow"], strict=True)) == [(10, 11), (10, 12), (11, 12)]
    assert result.frame["error"].to_list() == [None, None, None]  # the objective never saw an invalid set
    assert (result.skipped, result.skipped_example) == (3, "fast=11 slow=11: fast must be below slow")
    assert sum(steps) == space.size  # refused sets count as done steps
    with pytest.raises(ValidationError) as refused:
        random_search(tied_objective_ab, parse_space(["fast=5", "slow=1:3"]), 2, seed=1, check=_fast_below_slow)
    assert refused.value.message == (
        "--param: every combination is invalid, e.g. fast=5 slow=1: fast must be below slow"
    )


def test_a_dead_worker_fails_the_search_with_an_explanation() -> None:
    with pytest.raises(OperationFailed) as failed:
        evaluate(dying_objective, [{"a": 1}, {"a": 2}], workers=2)
    assert failed.value.message == "a worker process died before finishing its runs"
    assert "__main__" in (failed.value.detail or "")


def test_results_sort_by_any_metric_and_pick_the_best() -> None:
    space = parse_space(["fast=10:14", "x=0.5,1.5"])
    result = grid_search(score_objective, space, args=(0,), workers=1)
    by_score = result.sorted("score")
    assert by_score["score"].to_list()[:2] == [29.5, 28.5]
    assert by_score["score"].to_list()[-2:] == [None, None]  # failed runs last
    assert result.sorted("score", descending=False)["score"][0] == 20.5
    assert result.best("score") == {"fast": 14, "x": 1.5}
    assert result.best("score", maximize=False) == {"fast": 10, "x": 0.5}
    with pytest.raises(ValidationError) as err:
        result.sorted("sharpe")
    assert err.value.field == "sort_by"
    with pytest.raises(ValidationError):
        result.best("fast")  # a parameter, not a metric
    with pytest.raises(NotFoundError):
        result.best("none")


def test_ties_go_to_the_earliest_run() -> None:
    result = evaluate(tied_objective, [{"a": a} for a in (1, 3, 2, 4)], workers=1)
    assert result.best("score") == {"a": 3}


def test_random_search_runs_the_same_sets_for_the_same_seed() -> None:
    space = parse_space(["fast=10:14", "x=0.5:3.5:0.5"])
    a = random_search(score_objective, space, 6, seed=42, args=(0,), workers=1)
    b = random_search(score_objective, space, 6, seed=42, args=(0,), workers=1)
    assert a.frame.select("fast", "x").rows() == b.frame.select("fast", "x").rows()
    assert a.frame.height == 6


def test_unpicklable_objective_and_bad_workers_are_refused() -> None:
    sets = [{"fast": 1, "x": 0.0}, {"fast": 2, "x": 0.0}]
    with pytest.raises(ValidationError) as err:
        evaluate(lambda p: {"s": 1}, sets, workers=2)
    assert err.value.field == "objective"
    with pytest.raises(ValidationError) as err:
        evaluate(score_objective, sets, workers=0, args=(0,))
    assert err.value.field == "workers"
    with pytest.raises(ValidationError) as err:
        evaluate(score_objective, [{"fast": 1}, {"slow": 2}], args=(0,))
    assert err.value.field == "param_sets"


def test_rolling_windows_have_exact_boundaries() -> None:
    windows = walk_forward_windows(0, 100 * DAY, train_ns=30 * DAY, test_ns=10 * DAY)
    assert [(w.train_start // DAY, w.train_end // DAY, w.test_start // DAY, w.test_end // DAY) for w in windows] == [
        (0, 30, 30, 40),
        (10, 40, 40, 50),
        (20, 50, 50, 60),
        (30, 60, 60, 70),
        (40, 70, 70, 80),
        (50, 80, 80, 90),
        (60, 90, 90, 100),
    ]
    # A remainder shorter than one test window is left out.
    assert len(walk_forward_windows(0, 105 * DAY, train_ns=30 * DAY, test_ns=10 * DAY)) == 7


def test_anchored_windows_grow_from_the_start() -> None:
    windows = walk_forward_windows(5, 5 + 50 * DAY, train_ns=20 * DAY, test_ns=10 * DAY, anchored=True)
    assert [(w.train_start, w.train_end - 5, w.test_end - 5) for w in windows] == [
        (5, 20 * DAY, 30 * DAY),
        (5, 30 * DAY, 40 * DAY),
        (5, 40 * DAY, 50 * DAY),
    ]


def test_window_arguments_are_checked() -> None:
    with pytest.raises(ValidationError) as err:
        walk_forward_windows(0, 30 * DAY, train_ns=30 * DAY, test_ns=DAY)
    assert err.value.field == "train"
    for kwargs, field in [({"train_ns": 0, "test_ns": DAY}, "train"), ({"train_ns": DAY, "test_ns": -1}, "test"),
                          ({"train_ns": DAY, "test_ns": DAY, "step_ns": 0}, "step")]:  # fmt: skip
        with pytest.raises(ValidationError) as err:
            walk_forward_windows(0, 10 * DAY, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
    with pytest.raises(ValidationError) as err:
        walk_forward_windows(DAY, DAY, train_ns=1, test_ns=1)
    assert err.value.field == "end"


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 10**18),
    unit=st.integers(1, 10**9),
    span=st.integers(1, 3_000),
    train=st.integers(1, 1_000),
    test=st.integers(1, 1_000),
    step=st.one_of(st.none(), st.integers(1, 1_000)),
    anchored=st.booleans(),
)
def test_no_window_overlaps_or_reaches_past_its_end(
    start: int, unit: int, span: int, train: int, test: int, step: int | None, anchored: bool
) -> None:
    span, train, test = span * unit, train * unit, test * unit
    step = None if step is None else step * unit
    end = start + span
    try:
        windows = walk_forward_windows(start, end, train_ns=train, test_ns=test, step_ns=step, anchored=anchored)
    except ValidationError as err:
        assert err.field == "train" and span < train + test
        return
    stride = test if step is None else step
    for k, w in enumerate(windows):
        assert w.index == k
        assert start <= w.train_start < w.train_end == w.test_start < w.test_end <= end
        assert w.test_end - w.test_start == test
        assert w.train_end - w.train_start == (train + k * stride if anchored else train)
        assert w.train_start == (start if anchored else start + k * stride)
    # Windows are as many as fit: one more would pass the end.
    assert windows[-1].test_end + stride > end
    if step is None:  # the out-of-sample windows tile the range without gap or overlap
        assert all(a.test_end == b.test_start for a, b in itertools.pairwise(windows))


def test_stitch_equity_chains_returns() -> None:
    a = [(0, Decimal(100)), (1, Decimal(110))]
    b = [(2, Decimal(50)), (3, Decimal(60))]
    assert stitch_equity([a, b, []]) == ((0, Decimal(100)), (1, Decimal(110)), (2, Decimal(110)), (3, Decimal(132)))
    with pytest.raises(ValidationError):
        stitch_equity([a, [(1, Decimal(5))]])


def test_walk_forward_picks_in_sample_winners_and_stitches_out_of_sample() -> None:
    space = parse_space(["a=-2,-1,1,2"])
    windows = walk_forward_windows(0, 9 * DAY, train_ns=3 * DAY, test_ns=2 * DAY)
    steps: list[int] = []
    wf = walk_forward(
        window_objective, space, windows, metric="total_return", args=(1000,), workers=2, progress=steps.append
    )
    assert len(steps) == len(windows) * 4 + len(windows) == 15
    frame = wf.in_sample.frame
    # Every in-sample run saw exactly its in-sample window, never the out-of-sample bars after it.
    for w in windows:
        part = frame.filter(frame["window"] == w.index)
        assert part["start_ts"].to_list() == [w.train_start] * 4
        assert part["end_ts"].to_list() == [w.train_end - H] * 4
    for outcome in wf.windows:
        w = outcome.window
        trend = (w.train_start // H) % 7 - 3
        expected = 2 if trend > 0 else -2  # a trend of 0 ties every a; the earliest run (a=-2) wins
        assert outcome.best_params == {"a": expected}
        direct = window_objective({"a": expected}, w.train_start, w.train_end, 1000)
        assert outcome.in_sample_score == direct.metrics.total_return
        assert outcome.oos_metrics is not None
        assert (outcome.oos_metrics["start_ts"], outcome.oos_metrics["end_ts"]) == (w.test_start, w.test_end - H)
    curves = [
        window_objective(o.best_params or {}, o.window.test_start, o.window.test_end, 1000).equity for o in wf.windows
    ]
    assert wf.oos_equity == stitch_equity(curves)
    assert wf.oos_metrics == compute_metrics(list(wf.oos_equity), periods_per_year=8760.0)
    table = wf.frame()
    assert table["window"].to_list() == [0, 1, 2]
    assert table["a"].to_list() == [o.best_params["a"] for o in wf.windows]  # type: ignore[index]
    assert {"is_total_return", "oos_sharpe", "oos_total_return", "error"} <= set(table.columns)


def _positive_a(params: dict[str, object]) -> str | None:
    return None if params["a"] > 0 else "a must be > 0"  # type: ignore[operator]


def test_walk_forward_skips_refused_sets_in_every_window() -> None:
    space = parse_space(["a=-2,-1,1,2"])
    windows = walk_forward_windows(0, 9 * DAY, train_ns=3 * DAY, test_ns=2 * DAY)
    steps: list[int] = []
    wf = walk_forward(
        window_objective,
        space,
        windows,
        metric="total_return",
        args=(1000,),
        workers=1,
        progress=steps.append,
        check=_positive_a,
    )
    assert sum(steps) == len(windows) * 4 + len(windows)  # refused sets count as steps done
    assert wf.in_sample.frame["a"].to_list() == [1, 2] * len(windows)
    assert (wf.in_sample.skipped, wf.in_sample.skipped_example) == (2, "a=-2: a must be > 0")
    assert all(o.best_params is not None and o.best_params["a"] > 0 for o in wf.windows)


def test_walk_forward_refuses_unknown_metric_and_reports_total_failure() -> None:
    space = parse_space(["a=1,2"])
    windows = walk_forward_windows(0, 4 * DAY, train_ns=2 * DAY, test_ns=DAY)
    with pytest.raises(ValidationError) as err:
        walk_forward(window_objective, space, windows, metric="alpha", args=(1000,), workers=1)
    assert err.value.field == "metric"
    with pytest.raises(OperationFailed) as failed:
        walk_forward(failing_objective, space, windows, metric="sharpe", workers=1)
    assert "ValueError: no data" in (failed.value.detail or "")
