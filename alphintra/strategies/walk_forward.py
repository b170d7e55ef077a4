"""Walk-forward analysis: optimise on each in-sample window, run the winner on the following out-of-sample window.

Windows are half-open ``[start, end)`` intervals in nanoseconds: the out-of-sample window starts exactly where its
in-sample window ends, so no bar is in both, and every run is told the end of its window so it cannot use data
after it. The searches themselves are ``alphintra.strategies.optimize``'s (grid or random, in a process pool) or
an Optuna study per window (``alphintra.strategies.study``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from alphintra.errors import NotFoundError, OperationFailed, ValidationError
from alphintra.strategies.executor import ClusterLike, Executor, ProgressFn, StartMethod
from alphintra.strategies.metrics import Metrics, compute_metrics
from alphintra.strategies.optimize import (
    MAX_GRID,
    Check,
    Objective,
    Params,
    ParamSpace,
    SearchResult,
    _best_row,
    _frame,
    _run_tasks,
    _Task,
    screen,
    task_pool,
)
from alphintra.strategies.result import BacktestResult, ClosedTrade, EquityPoint
from alphintra.strategies.stitching import scaled_trades, stitch_scales, window_trades

if TYPE_CHECKING:
    import polars as pl

MAX_WINDOWS = 10_000
_DURATION = re.compile(r"(\d+)([smhdw])")
_DURATION_NS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, *, field: str = "duration") -> int:
    """``90d``, ``12h``, ``2w``, ``30m``, ``45s`` (or a sum such as ``1d12h``) in nanoseconds."""
    cleaned = text.strip() if isinstance(text, str) else ""
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValidationError(field, "must look like 90d, 12h, 2w, 30m or 1d12h", text)
    total = sum(int(n) * _DURATION_NS[u] for n, u in parts) * 1_000_000_000
    if total <= 0:
        raise ValidationError(field, "must be longer than zero", text)
    return total


@dataclass(frozen=True, slots=True)
class WalkForwardWindow:
    """In-sample ``[train_start, train_end)`` followed by out-of-sample ``[test_start, test_end)``."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


def _positive_ns(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(field, "must be a positive number of nanoseconds", value)
    return value


def walk_forward_windows(
    start_ns: int,
    end_ns: int,
    *,
    train_ns: int,
    test_ns: int,
    step_ns: int | None = None,
    anchored: bool = False,
) -> list[WalkForwardWindow]:
    """Split ``[start_ns, end_ns)`` into successive in-sample / out-of-sample windows.

    Rolling: the in-sample window keeps its length and moves by ``step_ns`` (default ``test_ns``, so the
    out-of-sample windows tile the range without gaps or overlap). Anchored: in-sample always starts at
    ``start_ns`` and grows. Only whole out-of-sample windows are made; a remainder shorter than ``test_ns`` at
    the end is left out.
    """
    train = _positive_ns("train", train_ns)
    test = _positive_ns("test", test_ns)
    step = test if step_ns is None else _positive_ns("step", step_ns)
    if isinstance(start_ns, bool) or isinstance(end_ns, bool) or end_ns <= start_ns:
        raise ValidationError("end", "must be after start", end_ns)
    windows: list[WalkForwardWindow] = []
    k = 0
    while True:
        train_start = start_ns if anchored else start_ns + k * step
        train_end = start_ns + train + k * step
        test_end = train_end + test
        if test_end > end_ns:
            break
        windows.append(WalkForwardWindow(k, train_start, train_end, train_end, test_end))
        k += 1
        if k > MAX_WINDOWS:
            break
    if len(windows) > MAX_WINDOWS:
        raise ValidationError("test", f"makes more than {MAX_WINDOWS} windows: use longer windows", len(windows))
    if not windows:
        span = f"{(end_ns - start_ns) // 1_000_000_000}s < {(train + test) // 1_000_000_000}s"
        raise ValidationError("train", "the range is too short for one in-sample plus one out-of-sample window", span)
    return windows


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    """One window: the parameters chosen in sample, their in-sample score, and the out-of-sample metrics."""

    window: WalkForwardWindow
    best_params: Params | None
    in_sample_score: float | None
    oos_metrics: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    metric: str
    maximize: bool
    windows: tuple[WindowOutcome, ...]
    in_sample: SearchResult
    oos_equity: tuple[EquityPoint, ...]
    oos_trades: tuple[ClosedTrade, ...]
    oos_metrics: Metrics | None

    def frame(self) -> pl.DataFrame:
        """One row per window: bounds, chosen parameters, in-sample score and every out-of-sample metric."""
        import polars as pl

        names = self.in_sample.param_names
        rows: list[dict[str, Any]] = []
        for w in self.windows:
            row: dict[str, Any] = {
                "window": w.window.index,
                "train_start": w.window.train_start,
                "train_end": w.window.train_end,
                "test_start": w.window.test_start,
                "test_end": w.window.test_end,
            }
            for name in names:
                row[name] = None if w.best_params is None else w.best_params[name]
            row[f"is_{self.metric}"] = w.in_sample_score
            for key, value in (w.oos_metrics or {}).items():
                row[f"oos_{key}"] = value
            row["error"] = w.error
            rows.append(row)
        return pl.DataFrame(rows, infer_schema_length=None, strict=False)


def stitch_equity(curves: Sequence[Sequence[EquityPoint]]) -> tuple[EquityPoint, ...]:
    """Chain equity curves: each later curve is rescaled so that it starts where the previous one ended.

    Out-of-sample runs each start with the same capital; chaining their returns shows what one account would
    have done had it traded every window in turn. Arithmetic is Decimal, so only the division rounds (to 28
    significant digits).
    """
    out: list[EquityPoint] = []
    for curve in curves:
        if not curve:
            continue
        if not out:
            out.extend(curve)
            continue
        first = curve[0][1]
        if first <= 0:
            raise ValidationError("equity", "a curve to chain must start above zero", str(first))
        if curve[0][0] <= out[-1][0]:
            raise ValidationError("equity", "curves must follow each other in time", curve[0][0])
        scale = out[-1][1] / first
        out.extend((ts, value * scale) for ts, value in curve)
    return tuple(out)


def walk_forward(
    objective: Objective,
    space: ParamSpace,
    windows: Sequence[WalkForwardWindow],
    *,
    metric: str,
    maximize: bool = True,
    samples: int | None = None,
    seed: int = 0,
    args: Sequence[Any] = (),
    workers: int | None = None,
    progress: ProgressFn | None = None,
    start_method: StartMethod = "spawn",
    periods: float | None = None,
    check: Check | None = None,
    cluster: ClusterLike | None = None,
) -> WalkForwardResult:
    """Optimise on each in-sample window, then run the winner on the following out-of-sample window.

    ``objective(params, start_ns, end_ns, *args)`` must trade only on bars with ``start_ns <= ts < end_ns``.
    The search is the full grid, or ``samples`` random combinations (``seed``; the same sets in every window),
    less the sets ``check`` refuses (``in_sample.skipped``).
    All in-sample runs of all windows, then all out-of-sample runs, go to one executor (local processes, or the Dask
    scheduler at ``cluster``, which then receives the data once for both; progress counts both:
    ``len(windows) * sets + len(windows)`` steps). When the objective returns ``BacktestResult``s, the
    out-of-sample equity curves are chained (``stitch_equity``) and measured as one run: ``oos_metrics``
    (periods per year from ``periods`` or from the first result's timeframe).
    """
    if not windows:
        raise ValidationError("windows", "must not be empty")
    if samples is None and space.size > MAX_GRID:
        raise ValidationError("--param", f"the grid is larger than {MAX_GRID}: use samples", space.size)
    sets, skipped, example = screen(list(space.grid()) if samples is None else space.sample(samples, seed), check)
    names = list(space.names)
    shared = tuple(args)
    if progress is not None and skipped:
        progress(skipped * len(windows))

    tasks: list[_Task] = []
    window_of: list[int] = []
    set_of: list[Params] = []
    for w in windows:
        for params in sets:
            tasks.append(_Task(len(tasks), params, (w.train_start, w.train_end), False))
            window_of.append(w.index)
            set_of.append(params)
    with task_pool(
        objective, shared, workers=workers, start_method=start_method, cluster=cluster, items=len(tasks)
    ) as pool:
        in_outcomes = _run_tasks(
            objective, tasks, shared, workers=workers, progress=progress, start_method=start_method, pool=pool
        )
        in_sample = replace(_frame(names, set_of, in_outcomes, window_of), skipped=skipped, skipped_example=example)
        if all(o.error is not None for o in in_outcomes):
            raise OperationFailed("every in-sample run failed", detail=in_outcomes[0].error)
        if metric not in in_sample.metric_names:
            known = ", ".join(in_sample.metric_names)
            raise ValidationError("metric", f"must be one of the objective's metrics: {known}", metric)

        import polars as pl

        chosen: dict[int, tuple[Params, float]] = {}
        failures: dict[int, str] = {}
        for w in windows:
            part = in_sample.frame.filter(pl.col("window") == w.index)
            try:
                row = _best_row(part, names, metric, maximize)
            except NotFoundError as exc:
                failures[w.index] = f"in sample: {exc.message}"
                continue
            chosen[w.index] = ({name: row[name] for name in names}, float(row[metric]))

        return out_of_sample(
            objective,
            windows,
            chosen,
            failures,
            metric=metric,
            maximize=maximize,
            in_sample=in_sample,
            args=shared,
            workers=workers,
            progress=progress,
            start_method=start_method,
            periods=periods,
            pool=pool,
        )


def out_of_sample(
    objective: Objective,
    windows: Sequence[WalkForwardWindow],
    chosen: dict[int, tuple[Params, float]],
    failures: dict[int, str],
    *,
    metric: str,
    maximize: bool,
    in_sample: SearchResult,
    args: tuple[Any, ...],
    workers: int | None,
    progress: ProgressFn | None,
    start_method: StartMethod,
    periods: float | None,
    pool: Executor | None = None,
    cluster: ClusterLike | None = None,
) -> WalkForwardResult:
    """Run each window's chosen parameters on its out-of-sample range and chain the results (any search's winners:
    the grid's, a random sample's or a study's), on ``pool`` when given, else on an executor of their own."""
    shared = args
    oos_tasks = [
        _Task(w.index, chosen[w.index][0], (w.test_start, w.test_end), True) for w in windows if w.index in chosen
    ]
    oos = _run_tasks(
        objective,
        oos_tasks,
        shared,
        workers=workers,
        progress=progress,
        start_method=start_method,
        pool=pool,
        cluster=cluster,
    )
    if progress is not None:
        # Windows without a winner still count as a step, so the bar reaches its announced total.
        for _ in range(len(windows) - len(oos_tasks)):
            progress(1)
    oos_by_window = {o.run: o for o in oos}

    outcomes: list[WindowOutcome] = []
    curves: list[tuple[EquityPoint, ...]] = []
    trades: list[ClosedTrade] = []
    results: list[BacktestResult] = []
    for w in windows:
        if w.index not in chosen:
            outcomes.append(WindowOutcome(w, None, None, None, failures.get(w.index)))
            continue
        o = oos_by_window[w.index]
        error = None if o.error is None else f"out of sample: {o.error}"
        outcomes.append(WindowOutcome(w, chosen[w.index][0], chosen[w.index][1], o.metrics, error))
        if isinstance(o.output, BacktestResult):
            results.append(o.output)
            curves.append(o.output.equity)

    stitched = stitch_equity(curves)
    # Trades that add up to the stitched net profit: open positions closed at each window's end, and every
    # window's trades scaled like its equity (stitching module docstring).
    for result, scale in zip(results, stitch_scales(curves), strict=True):
        trades.extend(scaled_trades(window_trades(result), scale))
    oos_metrics = None
    if stitched and len(results) == len(oos_tasks) and not any(o.error for o in oos):
        # The windows' own periods per year (their timeframe and calendar), not a 24x7 default.
        ppy = periods if periods is not None else results[0].metrics.periods_per_year
        oos_metrics = compute_metrics(list(stitched), trades, periods_per_year=ppy)
    return WalkForwardResult(metric, maximize, tuple(outcomes), in_sample, stitched, tuple(trades), oos_metrics)
