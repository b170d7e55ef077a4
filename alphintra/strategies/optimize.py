"""Parameter optimisation: parameter spaces from CLI strings, grid and random search in parallel processes,
and walk-forward analysis.

Parameter specs (one per ``--param``):

- ``fast=5:50:5`` an inclusive integer range (5, 10, ..., 50); ``fast=5:50`` steps by 1. A stop that is not a
  whole number of steps from the start is not reached (``5:12:5`` is 5, 10).
- ``x=0.1:0.5:0.1`` a float range stepped in exact decimals (0.1, 0.2, 0.3, 0.4, 0.5, never 0.30000000000000004).
- ``mode=a,b,c`` a choice; options are read as integers if all are, else as numbers, else as booleans
  (true/false), else as text. ``x=7`` is a fixed value.

The objective is any picklable callable, i.e. a top-level function, called as ``objective(params, *args)`` for a
search and ``objective(params, start_ns, end_ns, *args)`` in walk-forward analysis. It returns a mapping of metric
name to value, a ``Metrics``, or a ``BacktestResult``. ``args`` travel to each worker process once (through the
pool initialiser), not with every task, so a large data set costs one copy per process.

Workers are started with ``spawn`` by default: every platform supports it and no lock or thread of the parent
(the daemon has both) is copied into a child half-held, which ``fork`` can do. With ``workers=1`` everything
runs in this process, which is what a debugger wants. With ``cluster="tcp://HOST:8786"`` the runs go to that Dask
scheduler's workers instead (``workers`` is then ignored); the data is shipped to each worker once and the table
is the same as a local run's (``alphintra.strategies.executor``). An objective that raises does not stop the
sweep: its row records the error and no metrics.

Walk-forward analysis lives in ``alphintra.strategies.walk_forward`` (its names are importable from here too);
Optuna studies (TPE, CMA-ES, pruning, persisted and resumable) in ``alphintra.strategies.study``.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from alphintra.errors import NotFoundError, ValidationError
from alphintra.strategies.executor import ClusterLike, Executor, ProgressFn, StartMethod, default_workers, open_executor
from alphintra.strategies.metrics import Metrics
from alphintra.strategies.result import BacktestResult

if TYPE_CHECKING:
    import polars as pl

ParamValue = int | float | bool | str
Params = dict[str, ParamValue]
Objective = Callable[..., Any]
# Why a parameter set is invalid (a strategy's declared rule, e.g. "fast (20) must be below slow (10)"), or None.
Check = Callable[[Params], str | None]

MAX_VALUES_PER_PARAM = 100_000
MAX_GRID = 1_000_000
RESERVED_COLUMNS = frozenset({"run", "window", "error"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[+-]?\d+")


# --------------------------------------------------------------------------------------------------------------
# Parameter space
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntRange:
    name: str
    start: int
    stop: int
    step: int

    def values(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.stop + 1, self.step))


@dataclass(frozen=True, slots=True)
class FloatRange:
    """Stepped in Decimal, so every value is the float nearest to start + k·step, with no accumulated error."""

    name: str
    start: Decimal
    stop: Decimal
    step: Decimal

    def values(self) -> tuple[float, ...]:
        count = int((self.stop - self.start) // self.step) + 1
        return tuple(float(self.start + k * self.step) for k in range(count))


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    options: tuple[ParamValue, ...]

    def values(self) -> tuple[ParamValue, ...]:
        return self.options


Param = IntRange | FloatRange | Choice


def _range_count(name: str, start: Decimal, stop: Decimal, step: Decimal) -> int:
    if step <= 0:
        raise ValidationError(name, "range step must be > 0", str(step))
    if start > stop:
        raise ValidationError(name, "range start must not exceed its stop", f"{start}:{stop}")
    count = int((stop - start) // step) + 1
    if count > MAX_VALUES_PER_PARAM:
        raise ValidationError(name, f"range must have at most {MAX_VALUES_PER_PARAM} values", count)
    return count


def _number(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(name, "range bounds and step must be numbers", text) from None
    if not value.is_finite():
        raise ValidationError(name, "range bounds and step must be finite", text)
    return value


def _options(name: str, text: str) -> tuple[ParamValue, ...]:
    raw = [part.strip() for part in text.split(",")]
    if any(not part for part in raw):
        raise ValidationError(name, "choices must not be empty (check for a stray comma)", text)
    if len(set(raw)) != len(raw):
        raise ValidationError(name, "choices must be distinct", text)
    if all(_INT.fullmatch(part) for part in raw):
        return tuple(int(part) for part in raw)
    try:
        numbers = [Decimal(part) for part in raw]
        if all(n.is_finite() for n in numbers):
            return tuple(float(n) for n in numbers)
    except InvalidOperation:
        pass
    if all(part.lower() in {"true", "false"} for part in raw):
        return tuple(part.lower() == "true" for part in raw)
    return tuple(raw)


def parse_param(spec: str) -> Param:
    """One ``name=range|choices|value`` spec (see the module docstring)."""
    if not isinstance(spec, str):
        raise ValidationError("--param", "must be text like name=5:50:5", spec)
    name, sep, value = spec.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        raise ValidationError("--param", "must look like name=start:stop:step, name=a,b,c or name=value", spec)
    if not _NAME.fullmatch(name):
        raise ValidationError("--param", "name must be an identifier (letters, digits, _)", name)
    if name in RESERVED_COLUMNS:
        raise ValidationError(name, f"name is reserved for the results table ({', '.join(sorted(RESERVED_COLUMNS))})")
    if not value:
        raise ValidationError(name, "needs a value, a range start:stop[:step] or choices a,b,c", spec)
    if ":" in value:
        parts = [p.strip() for p in value.split(":")]
        if len(parts) not in (2, 3):
            raise ValidationError(name, "range must be start:stop or start:stop:step", value)
        if all(_INT.fullmatch(p) for p in parts):
            start, stop = int(parts[0]), int(parts[1])
            step = int(parts[2]) if len(parts) == 3 else 1
            _range_count(name, Decimal(start), Decimal(stop), Decimal(step))
            return IntRange(name, start, stop, step)
        if len(parts) == 2:
            raise ValidationError(name, "a float range needs a step (start:stop:step)", value)
        d_start, d_stop, d_step = (_number(name, p) for p in parts)
        _range_count(name, d_start, d_stop, d_step)
        return FloatRange(name, d_start, d_stop, d_step)
    return Choice(name, _options(name, value))


@dataclass(frozen=True, slots=True)
class ParamSpace:
    """The cartesian product of its parameters, addressable by index (the last parameter varies fastest)."""

    params: tuple[Param, ...]
    _values: tuple[tuple[ParamValue, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        for name in names:
            if names.count(name) > 1:
                raise ValidationError(name, "parameter is given more than once")
        # Built once: a float range rebuilds its tuple on every values() call, and sampling decodes many indexes.
        object.__setattr__(self, "_values", tuple(p.values() for p in self.params))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self._values)

    def at(self, index: int) -> Params:
        """The ``index``-th combination of the grid, decoded in mixed radix (no list of the grid is built)."""
        if not 0 <= index < self.size:
            raise ValidationError("index", f"must be in 0..{self.size - 1}", index)
        out: Params = {}
        for param, values in zip(reversed(self.params), reversed(self._values), strict=True):
            index, digit = divmod(index, len(values))
            out[param.name] = values[digit]
        return {name: out[name] for name in self.names}

    def grid(self) -> Iterator[Params]:
        for combo in itertools.product(*self._values):
            yield dict(zip(self.names, combo, strict=True))

    def sample(self, count: int, seed: int) -> list[Params]:
        """``count`` distinct combinations drawn at random (all of them, shuffled, when the grid is smaller).

        The same seed and space always give the same list, in the same order.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValidationError("samples", "must be an integer >= 1", count)
        rng = random.Random(seed)
        size = self.size
        if size <= sys.maxsize:
            return [self.at(i) for i in rng.sample(range(size), k=min(count, size))]
        # Too large for range(): draw each parameter independently; a collision among so many is improbable.
        seen: set[tuple[ParamValue, ...]] = set()
        picks: list[Params] = []
        while len(picks) < count:
            combo = tuple(rng.choice(values) for values in self._values)
            if combo not in seen:
                seen.add(combo)
                picks.append(dict(zip(self.names, combo, strict=True)))
        return picks


def parse_space(specs: Iterable[str]) -> ParamSpace:
    """A space from repeated ``--param`` specs; at least one is required."""
    params = tuple(parse_param(spec) for spec in specs)
    if not params:
        raise ValidationError("--param", "give at least one parameter, e.g. --param fast=5:50:5")
    return ParamSpace(params)


# --------------------------------------------------------------------------------------------------------------
# Running objectives: in this process, in local worker processes or on a Dask cluster (executor module)
# --------------------------------------------------------------------------------------------------------------

_METRIC_NAMES = tuple(f.name for f in fields(Metrics))


def _flatten(output: object) -> dict[str, Any]:
    """Metrics as plain numbers: Decimal money becomes float, because the table ranks and shows; the exact
    figures stay in each run's own report."""
    if isinstance(output, BacktestResult):
        output = output.metrics
    if isinstance(output, Metrics):
        output = {name: getattr(output, name) for name in _METRIC_NAMES}
    if not isinstance(output, Mapping):
        raise TypeError(f"objective must return a mapping, Metrics or BacktestResult, not {type(output).__name__}")
    flat: dict[str, Any] = {}
    for key, value in output.items():
        flat[str(key)] = float(value) if isinstance(value, Decimal) else value
    return flat


@dataclass(frozen=True, slots=True)
class _Task:
    run: int
    params: Params
    lead: tuple[Any, ...]  # arguments between params and the shared args (a walk-forward window's bounds)
    keep: bool  # send the objective's whole output back (to stitch out-of-sample equity), not only its metrics


@dataclass(frozen=True, slots=True)
class _Outcome:
    run: int
    metrics: dict[str, Any] | None
    error: str | None
    output: Any = None


def _execute(objective: Objective, task: _Task, *args: Any) -> _Outcome:
    """One run; pure (reads its arguments, writes nothing), so a cluster may run it again after a worker died."""
    try:
        output = objective(dict(task.params), *task.lead, *args)
        return _Outcome(task.run, _flatten(output), None, output if task.keep else None)
    except Exception as exc:  # one failing parameter set must not end the sweep
        return _Outcome(task.run, None, f"{type(exc).__name__}: {exc}")


def _run_tasks(
    objective: Objective,
    tasks: Sequence[_Task],
    args: tuple[Any, ...],
    *,
    workers: int | None,
    progress: ProgressFn | None,
    start_method: StartMethod,
    pool: Executor | None = None,
    cluster: ClusterLike | None = None,
) -> list[_Outcome]:
    """The outcomes of ``tasks`` in their order, on ``pool`` or on an executor opened for them (see
    ``alphintra.strategies.executor``: local processes, or the Dask scheduler at ``cluster``)."""
    if pool is not None:
        return list(pool.map(tasks, progress))
    with task_pool(
        objective, args, workers=workers, start_method=start_method, cluster=cluster, items=len(tasks)
    ) as executor:
        return list(executor.map(tasks, progress))


@contextmanager
def task_pool(
    objective: Objective,
    args: tuple[Any, ...],
    *,
    workers: int | None,
    start_method: StartMethod = "spawn",
    cluster: ClusterLike | None = None,
    items: int | None = None,
) -> Iterator[Executor]:
    """One executor of ``objective`` runs for several ``_run_tasks`` calls with the same arguments (a study runs
    its trials batch by batch, walk-forward its in-sample then its out-of-sample runs: starting a pool, or
    shipping the data to a cluster, per batch would cost more than short runs)."""
    with open_executor(
        functools.partial(_execute, objective),
        args,
        workers=workers,
        start_method=start_method,
        cluster=cluster,
        items=items,
        name="alphintra-sweep",
    ) as executor:
        yield executor


# --------------------------------------------------------------------------------------------------------------
# Search results
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One row per parameter set: ``run``, (``window``,) the parameters, the metrics, and ``error``."""

    frame: pl.DataFrame
    param_names: tuple[str, ...]
    metric_names: tuple[str, ...]
    skipped: int = 0  # parameter sets the check refused before any run
    skipped_example: str | None = None  # the first of them and why, e.g. "fast=20 slow=10: fast (20) must be ..."

    @property
    def failures(self) -> int:
        return int(self.frame["error"].is_not_null().sum())

    def sorted(self, by: str, *, descending: bool = True) -> pl.DataFrame:
        """The table sorted by any column; rows without a value (failed runs, undefined metrics) go last."""
        if by not in self.frame.columns:
            raise ValidationError("sort_by", f"must be one of: {', '.join(self.frame.columns)}", by)
        return self.frame.sort(by, descending=descending, nulls_last=True, maintain_order=True)

    def best(self, metric: str, *, maximize: bool = True) -> Params:
        """Parameters of the best run by ``metric``; ties go to the earliest run, so the choice is stable."""
        return _best_params(self.frame, self.param_names, metric, maximize)


def _best_row(frame: pl.DataFrame, names: Sequence[str], metric: str, maximize: bool) -> dict[str, Any]:
    if metric not in frame.columns or metric in names or metric in RESERVED_COLUMNS:
        raise ValidationError("metric", "must be a metric column of the results", metric)
    import polars as pl

    if frame.schema[metric] == pl.Null:  # every run returned None for it
        raise NotFoundError(f"no run produced a value for {metric!r}")
    if not frame.schema[metric].is_numeric():
        raise ValidationError("metric", "must be numeric to rank runs", metric)
    valid = frame.filter(pl.col("error").is_null() & pl.col(metric).is_not_null())
    if frame.schema[metric].is_float():
        valid = valid.filter(pl.col(metric).is_not_nan())
    if valid.is_empty():
        raise NotFoundError(f"no run produced a value for {metric!r}")
    return valid.sort([metric, "run"], descending=[maximize, False]).row(0, named=True)


def _best_params(frame: pl.DataFrame, names: Sequence[str], metric: str, maximize: bool) -> Params:
    row = _best_row(frame, names, metric, maximize)
    return {name: row[name] for name in names}


def _frame(
    names: Sequence[str],
    param_sets: Sequence[Params],
    outcomes: Sequence[_Outcome],
    windows: Sequence[int] | None = None,
) -> SearchResult:
    import polars as pl

    metric_names: list[str] = []
    for outcome in outcomes:
        for key in outcome.metrics or {}:
            if key not in metric_names:
                metric_names.append(key)
    # A metric named like a parameter or a reserved column is kept under a suffixed name, never dropped.
    column_of = {m: (f"{m}_metric" if m in names or m in RESERVED_COLUMNS else m) for m in metric_names}
    data: dict[str, list[Any]] = {"run": [o.run for o in outcomes]}
    if windows is not None:
        data["window"] = list(windows)
    for name in names:
        data[name] = [p[name] for p in param_sets]
    for metric in metric_names:
        data[column_of[metric]] = [(o.metrics or {}).get(metric) for o in outcomes]
    data["error"] = [o.error for o in outcomes]
    frame = pl.DataFrame(data, schema_overrides={"error": pl.String}, strict=False)
    return SearchResult(frame, tuple(names), tuple(column_of[m] for m in metric_names))


def screen(param_sets: Sequence[Params], check: Check | None) -> tuple[list[Params], int, str | None]:
    """The sets ``check`` accepts (in order), how many it refused, and the first refused one with its reason.

    Refused up front, an invalid combination (``fast >= slow``) costs no run and no error row; when every set
    is refused, the search is a validation error naming the rule."""
    if check is None:
        return list(param_sets), 0, None
    kept: list[Params] = []
    example: str | None = None
    for params in param_sets:
        reason = check(params)
        if reason is None:
            kept.append(params)
        elif example is None:
            example = f"{' '.join(f'{k}={v}' for k, v in params.items())}: {reason}"
    if param_sets and not kept:
        raise ValidationError("--param", f"every combination is invalid, e.g. {example}")
    return kept, len(param_sets) - len(kept), example


def evaluate(
    objective: Objective,
    param_sets: Sequence[Params],
    *,
    args: Sequence[Any] = (),
    workers: int | None = None,
    progress: ProgressFn | None = None,
    start_method: StartMethod = "spawn",
    check: Check | None = None,
    cluster: ClusterLike | None = None,
) -> SearchResult:
    """Run ``objective(params, *args)`` for each parameter set ``check`` accepts, in parallel (local processes, or
    the Dask scheduler at ``cluster``); rows keep the input order."""
    if not param_sets:
        raise ValidationError("param_sets", "must not be empty")
    sets, skipped, example = screen([dict(p) for p in param_sets], check)
    if progress is not None and skipped:
        progress(skipped)  # a refused set is a step done, so the bar reaches the total it announced
    names = list(sets[0])
    for p in sets:
        if list(p) != names:
            raise ValidationError("param_sets", "every set must have the same parameters", ", ".join(p))
    tasks = [_Task(i, p, (), False) for i, p in enumerate(sets)]
    outcomes = _run_tasks(
        objective, tasks, tuple(args), workers=workers, progress=progress, start_method=start_method, cluster=cluster
    )
    return replace(_frame(names, sets, outcomes), skipped=skipped, skipped_example=example)


def grid_search(
    objective: Objective,
    space: ParamSpace,
    *,
    args: Sequence[Any] = (),
    workers: int | None = None,
    progress: ProgressFn | None = None,
    start_method: StartMethod = "spawn",
    max_runs: int = MAX_GRID,
    check: Check | None = None,
    cluster: ClusterLike | None = None,
) -> SearchResult:
    """Every combination of ``space`` that ``check`` accepts; refused beyond ``max_runs`` (use ``random_search``
    for large spaces)."""
    if space.size > max_runs:
        rule = f"the grid has more than {max_runs} combinations: narrow the ranges or use random search"
        raise ValidationError("--param", rule, space.size)
    return evaluate(
        objective,
        list(space.grid()),
        args=args,
        workers=workers,
        progress=progress,
        start_method=start_method,
        check=check,
        cluster=cluster,
    )


def random_search(
    objective: Objective,
    space: ParamSpace,
    samples: int,
    *,
    seed: int,
    args: Sequence[Any] = (),
    workers: int | None = None,
    progress: ProgressFn | None = None,
    start_method: StartMethod = "spawn",
    check: Check | None = None,
    cluster: ClusterLike | None = None,
) -> SearchResult:
    """``samples`` distinct combinations drawn with ``seed`` (reproducible); those ``check`` refuses are not run,
    so fewer than ``samples`` may run."""
    sets = space.sample(samples, seed)
    return evaluate(
        objective,
        sets,
        args=args,
        workers=workers,
        progress=progress,
        start_method=start_method,
        check=check,
        cluster=cluster,
    )


def progress_total(space: ParamSpace, windows: int = 0, samples: int | None = None) -> int:
    """How many progress steps a search (``windows=0``) or a walk-forward analysis reports."""
    sets = space.size if samples is None else min(samples, space.size)
    return sets if windows == 0 else windows * sets + windows


# Walk-forward lives in its own module (this one would pass 800 lines); its names stay importable from here. The
# import comes last because walk_forward imports this module's runner, which is complete by this line.
from alphintra.strategies.walk_forward import (  # noqa: E402
    MAX_WINDOWS,
    WalkForwardResult,
    WalkForwardWindow,
    WindowOutcome,
    parse_duration,
    stitch_equity,
    walk_forward,
    walk_forward_windows,
)

__all__ = [
    "MAX_GRID",
    "MAX_WINDOWS",
    "Check",
    "Choice",
    "FloatRange",
    "IntRange",
    "Objective",
    "Param",
    "ParamSpace",
    "Params",
    "SearchResult",
    "WalkForwardResult",
    "WalkForwardWindow",
    "WindowOutcome",
    "default_workers",
    "evaluate",
    "grid_search",
    "parse_duration",
    "parse_param",
    "parse_space",
    "progress_total",
    "random_search",
    "screen",
    "stitch_equity",
    "walk_forward",
    "walk_forward_windows",
]
