"""Optuna studies: grid, random, TPE and CMA-ES searches that are persisted, resumable and prune hopeless trials.

Why Optuna rather than more hand-written search code: its samplers (TPE, CMA-ES, NSGA-style multi-objective TPE)
are maintained and tested by people who study them, its pruners stop bad trials early, and its storage (SQLite
or any SQLAlchemy database URL) makes a study survive a crash and resume where it stopped.

A **trial** draws one parameter set from the sampler. Before any run, the strategy's own rules (``check``) may
refuse it: the trial is marked PRUNED with the reason (user attribute ``refused``) and counted as skipped; such
trials do not count toward the trial budget of a sampler (they cost nothing), but a study gives up after
``MAX_REFUSED_PER_TRIAL`` refusals per budgeted trial so that a space where almost everything is refused ends.
A parameter set already evaluated in the study is not run again: the trial reuses its values (``repeat_of``).

**Pruning.** With ``slices > 1`` the range is cut into that many consecutive time slices; a trial runs them in
order, and after each one reports the loss of the slices so far, chained like walk-forward out-of-sample runs
(``stitch_equity``); a ``MedianPruner`` stops a trial whose partial score is worse than the median of earlier
trials at the same slice. The trial's value is the loss of all its slices chained (with ``slices=1``, the plain
backtest over the range). Multi-objective studies are not pruned (Optuna cannot compare vectors to a median).

**Parallelism and determinism.** ``workers`` trials are asked at a time and their slices run in one process pool
kept for the whole study (one by one in this process with ``workers=1``), or on the Dask scheduler ``cluster``
(the data shipped once); the sampler then learns from the whole batch. The same seed, the
same space and the same ``workers`` give the same trials; a different worker count changes when the sampler
learns, so it may give different trials.

**Resuming.** A study is identified by its name in its storage. Running it again continues it: the finished
trials are kept and count toward ``trials``; a trial left RUNNING by a process that died (on this machine) is
marked FAIL (``interrupted``) and its parameters are drawn again.

**Sharing.** Several processes, on one machine or many (a study in a shared PostgreSQL), may run the same study at
once: each claims its trials under a lock of the study (:func:`claim_lock`) after counting, in the storage, the
trials finished or running anywhere, so together they run ``trials`` trials, not ``trials`` each, and the grid
hands every point to exactly one of them. A trial left RUNNING by a machine that died keeps its place in the
budget until that machine runs the study again.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import socket
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.errors import NotFoundError, OperationFailed, ValidationError
from alphintra.strategies.executor import ClusterLike, ProgressFn, StartMethod
from alphintra.strategies.metrics import compute_metrics
from alphintra.strategies.optimize import (
    Check,
    Choice,
    FloatRange,
    IntRange,
    Objective,
    Params,
    ParamSpace,
    _flatten,
    _frame,
    _Outcome,
    _run_tasks,
    _Task,
    screen,
    task_pool,
)
from alphintra.strategies.result import BacktestResult
from alphintra.strategies.walk_forward import WalkForwardResult, WalkForwardWindow, stitch_equity

if TYPE_CHECKING:
    import optuna

SEARCHES = ("grid", "random", "tpe", "cmaes")
MAX_REFUSED_PER_TRIAL = 20
MAX_SLICES = 100
MAX_SCREENED = 100_000  # spaces up to this size are checked whole before a study starts


@dataclass(frozen=True, slots=True)
class Loss:
    """What a study optimises: a metric of the run and whether higher is better."""

    name: str
    metric: str
    maximize: bool
    meaning: str


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("sharpe", "sharpe", True, "annualised mean over standard deviation of per-bar returns"),
        Loss("sortino", "sortino", True, "like sharpe, with only the downside deviation in the denominator"),
        Loss("calmar", "calmar", True, "annual return divided by the deepest drawdown"),
        Loss("profit", "total_return", True, "total return over the range (end equity / start equity - 1)"),
        Loss("annual", "annual_return", True, "compound annual growth rate"),
        Loss("drawdown", "max_drawdown", True, "deepest fall from a peak, a fraction <= 0: closer to 0 is better"),
        Loss("win_rate", "win_rate", True, "share of closed trades with a profit"),
        Loss("profit_factor", "profit_factor", True, "gross profit divided by gross loss"),
        Loss("expectancy", "expectancy", True, "mean profit per closed trade, in the quote currency"),
    )
}


def parse_search(text: str) -> str:
    if text not in SEARCHES:
        raise ValidationError("--search", f"must be one of: {', '.join(SEARCHES)}", text)
    return text


def parse_loss(text: str, *, field: str = "--loss") -> Loss:
    if text not in LOSSES:
        raise ValidationError(field, f"must be one of: {', '.join(LOSSES)}", text)
    return LOSSES[text]


def parse_multi(text: str) -> tuple[Loss, ...]:
    """``sharpe,drawdown``: two or more distinct losses optimised together (a Pareto front)."""
    names = [part.strip() for part in text.split(",")]
    if len(names) < 2 or any(not n for n in names):
        raise ValidationError("--multi", "must name two or more losses separated by commas, e.g. sharpe,drawdown", text)
    if len(set(names)) != len(names):
        raise ValidationError("--multi", "must not name a loss twice", text)
    return tuple(parse_loss(n, field="--multi") for n in names)


@dataclass(frozen=True, slots=True)
class StudySpec:
    name: str
    storage: str
    search: str
    losses: tuple[Loss, ...]
    trials: int
    seed: int = 42
    slices: int = 1
    workers: int = 1
    attrs: Mapping[str, Any] | None = None  # what the study is about (strategy, symbols, ...), shown by `show`


@dataclass(frozen=True, slots=True)
class StudyOutcome:
    name: str
    finished: int  # trials counted toward the budget (run, pruned, failed or repeated)
    evaluations: int  # trials whose runs completed: the backtests this study paid for in full
    pruned: int  # stopped by the pruner after some slices
    refused: int  # refused by the strategy's rules before any run
    refused_example: str | None
    failed: int
    repeats: int
    resumed: int  # finished trials found in the storage when this call started


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)


def _sampler(search: str, space: ParamSpace, seed: int, multi: bool) -> optuna.samplers.BaseSampler:
    import optuna

    if search in ("grid", "random"):  # grid: each point is enqueued in order (run_study); the sampler never draws
        return optuna.samplers.RandomSampler(seed=seed)
    if search == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if multi:
        raise ValidationError("--multi", "cmaes optimises one loss: use --search tpe, random or grid")
    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def _suggest(trial: optuna.Trial, space: ParamSpace) -> Params:
    """One value per parameter, always a value of the space (a float range is snapped to its exact decimals)."""
    out: Params = {}
    for p in space.params:
        if isinstance(p, IntRange):
            last = p.start + (p.stop - p.start) // p.step * p.step  # Optuna wants a stop the steps reach
            out[p.name] = trial.suggest_int(p.name, p.start, last, step=p.step)
        elif isinstance(p, FloatRange):
            count = int((p.stop - p.start) // p.step)
            raw = trial.suggest_float(p.name, float(p.start), float(p.start + count * p.step), step=float(p.step))
            k = min(count, max(0, round((Decimal(repr(raw)) - p.start) / p.step)))
            out[p.name] = float(p.start + k * p.step)
        elif isinstance(p, Choice):
            picked = trial.suggest_categorical(p.name, list(p.options))
            out[p.name] = next(o for o in p.options if o == picked)  # the option itself, as the space types it
    return out


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna creates its tables when it opens a storage; two workers opening a new shared PostgreSQL database at
    the same moment would both try, and the slower one would trip on the faster one's tables: on PostgreSQL the
    opening is serialised by an advisory lock, so the second finds the tables made."""
    import optuna
    import sqlalchemy

    if sqlalchemy.engine.make_url(url).get_backend_name() != "postgresql":
        return optuna.storages.RDBStorage(url)
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": _lock_key("alphintra.study-tables")})
            try:
                return optuna.storages.RDBStorage(url)
            finally:
                conn.execute(
                    sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key("alphintra.study-tables")}
                )
                conn.commit()
    finally:
        engine.dispose()


def _lock_key(text: str) -> int:
    """A signed 32-bit advisory lock key, the same in every process (unlike ``hash``)."""
    return zlib.crc32(text.encode()) - 2**31


def storage_for(url: str) -> optuna.storages.BaseStorage:
    """Optuna's database storage for ``url``; a SQLite file is put in WAL mode with ``synchronous=NORMAL``.

    Optuna writes several times per trial, and SQLite's default (a journal, synced on every commit) made a
    trial of a short backtest wait mostly on the disk. In WAL mode with NORMAL sync a committed trial still
    survives the process being killed (the case resuming is for); only a power cut may lose the last commits.
    """

    _quiet()
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        storage = _rdb_storage(url)
    except (ArgumentError, ValueError, ImportError):  # not a URL, an unknown dialect, a driver not installed
        rule = "must be a database URL such as sqlite:///path/studies.db or postgresql://user@host/db"
        raise ValidationError("--storage", rule, redact(url)) from None
    except SQLAlchemyError as exc:  # the database is unreachable or refuses us
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OperationFailed(
            f"cannot open the study storage {redact(url)}", detail=first.replace(url, redact(url))
        ) from None
    if storage.engine.dialect.name == "sqlite":
        from sqlalchemy import event

        def pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        event.listen(storage.engine, "connect", pragmas)
        storage.engine.dispose()  # connections opened before the listener are closed; new ones get the pragmas
    return storage


def open_study(
    storage: str, name: str, *, sampler: optuna.samplers.BaseSampler | None = None, create: bool = False, **kw: Any
) -> optuna.Study:
    import optuna

    store = storage_for(storage)
    try:
        if create:
            return optuna.create_study(storage=store, study_name=name, sampler=sampler, load_if_exists=True, **kw)
        return optuna.load_study(storage=store, study_name=name, sampler=sampler)
    except KeyError:
        raise NotFoundError(f"no study named {name!r} in {redact(storage)}") from None


def redact(url: str) -> str:
    """A storage URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, creds = head.partition("://")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


def _metrics_of(outputs: Sequence[Any], periods: float | None) -> dict[str, Any]:
    """The chained slices measured as one run (the slice's own metrics when there is one)."""
    if len(outputs) == 1:
        return _flatten(outputs[0])
    results = [o for o in outputs if isinstance(o, BacktestResult)]
    if len(results) != len(outputs):
        raise ValidationError("slices", "time slices need an objective that returns BacktestResult")
    curves = [r.equity for r in results]
    trades = [t for r in results for t in r.trades]
    ppy = periods if periods is not None else results[0].metrics.periods_per_year
    return _flatten(compute_metrics(list(stitch_equity(curves)), trades, periods_per_year=ppy))


def _value(metrics: Mapping[str, Any], loss: Loss) -> float | None:
    value = metrics.get(loss.metric)
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _json_safe(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}


def slice_bounds(start_ns: int, end_ns: int, slices: int) -> list[tuple[int, int]]:
    if isinstance(slices, bool) or not isinstance(slices, int) or not 1 <= slices <= MAX_SLICES:
        raise ValidationError("--slices", f"must be an integer in 1..{MAX_SLICES}", slices)
    edges = [start_ns + (end_ns - start_ns) * k // slices for k in range(slices + 1)]
    return list(itertools.pairwise(edges))


def space_key(params: Params) -> str:
    return json.dumps(params, sort_keys=True)


def run_study(
    objective: Objective,
    space: ParamSpace,
    spec: StudySpec,
    *,
    args: Sequence[Any] = (),
    bounds: tuple[int, int] | None = None,
    check: Check | None = None,
    progress: ProgressFn | None = None,
    start_method: StartMethod = "spawn",
    periods: float | None = None,
    cluster: ClusterLike | None = None,
) -> StudyOutcome:
    """Run (or continue) the study ``spec.name`` until ``spec.trials`` trials are finished.

    ``objective`` is called like a search's (``objective(params, *args)``), or with a time range
    (``objective(params, start_ns, end_ns, *args)``) when ``bounds`` is given (walk-forward windows, slices).
    """
    import optuna
    from optuna.trial import TrialState

    if isinstance(spec.trials, bool) or not isinstance(spec.trials, int) or spec.trials < 1:
        raise ValidationError("--trials", "must be an integer >= 1", spec.trials)
    multi = len(spec.losses) > 1
    if spec.slices > 1 and bounds is None:
        raise ValidationError("--slices", "needs the time range of the data to cut")
    if spec.slices > 1 and multi:
        raise ValidationError("--slices", "pruning needs one loss: drop --multi or use --slices 1")
    if check is not None and space.size <= MAX_SCREENED:
        # A space where the strategy refuses everything is an input error found before a study is created.
        screen(list(space.grid()), check)
    slices = [bounds] if bounds is not None and spec.slices == 1 else []
    if bounds is not None and spec.slices > 1:
        slices = slice_bounds(bounds[0], bounds[1], spec.slices)
    sampler = _sampler(spec.search, space, spec.seed, multi)
    directions = ["maximize" if loss.maximize else "minimize" for loss in spec.losses]
    study = open_study(
        spec.storage,
        spec.name,
        sampler=sampler,
        create=True,
        directions=directions,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )
    _check_same_study(study, spec, space)

    owner = _owner()
    finished = refused = pruned = failed = repeats = 0
    example: str | None = None
    with claim_lock(study, spec.name):
        # Trials left RUNNING (or enqueued and never asked) by a process that is gone never finished: marked FAIL
        # (``interrupted``) so that their parameters are drawn again. Those of a live worker are left alone.
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            if _owner_gone(t.user_attrs.get("owner"), owner):
                study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
                study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        start = _tally(study)
    finished, refused, example = start.counted, start.refused, start.example
    resumed = finished
    if progress is not None and finished + (refused if spec.search == "grid" else 0):
        progress(finished + (refused if spec.search == "grid" else 0))  # the bar starts where the study stands
    grid_next = 0
    evaluations = 0
    is_grid = spec.search == "grid"
    budget = min(spec.trials, space.size) if is_grid else spec.trials
    refusal_cap = MAX_REFUSED_PER_TRIAL * spec.trials
    with task_pool(objective, tuple(args), workers=spec.workers, start_method=start_method, cluster=cluster) as pool:
        while True:
            batch: list[tuple[optuna.Trial, Params]] = []
            with claim_lock(study, spec.name):
                # Counted from the storage under the study's lock: workers sharing a study share its budget, and
                # a grid point or a trial is claimed by exactly one of them.
                now = _tally(study)
                room = budget - now.counted - (now.refused if is_grid else 0)
                if room <= 0 or now.refused > refusal_cap:
                    break
                for _ in range(min(max(1, spec.workers), room)):
                    if is_grid:
                        # Optuna's GridSampler stops the study from inside tell(), which the ask-and-tell loop
                        # cannot take; enqueuing the next point not yet tried walks the grid in order (the last
                        # parameter fastest, like the plain grid search) and resumes where a study stopped.
                        while space_key(space.at(grid_next)) in now.tried:
                            grid_next += 1
                        study.enqueue_trial(space.at(grid_next), skip_if_exists=False)
                        now.tried.add(space_key(space.at(grid_next)))
                    trial = study.ask()
                    trial.set_user_attr("owner", owner)
                    params = _suggest(trial, space)
                    trial.set_user_attr("params", params)
                    reason = None if check is None else check(params)
                    if reason is not None:
                        text = f"{' '.join(f'{k}={v}' for k, v in params.items())}: {reason}"
                        trial.set_user_attr("refused", text)
                        study.tell(trial, state=TrialState.PRUNED)
                        refused += 1
                        example = example or text
                        if progress is not None and is_grid:
                            progress(1)
                        continue
                    earlier = now.seen.get(space_key(params))
                    if earlier is not None:
                        trial.set_user_attr("repeat_of", earlier.number)
                        trial.set_user_attr("metrics", earlier.user_attrs.get("metrics", {}))
                        study.tell(trial, earlier.values)
                        finished += 1
                        repeats += 1
                        if progress is not None:
                            progress(1)
                        continue
                    batch.append((trial, params))
            if not batch:
                continue
            outputs: dict[int, list[Any]] = {t.number: [] for t, _ in batch}
            alive = list(batch)
            errors: dict[int, str] = {}
            for step, piece in enumerate(slices or [None]):
                tasks = [_Task(t.number, p, () if piece is None else piece, True) for t, p in alive]
                outcomes: list[_Outcome] = _run_tasks(
                    objective,
                    tasks,
                    tuple(args),
                    workers=spec.workers,
                    progress=None,
                    start_method=start_method,
                    pool=pool,
                )
                survivors = []
                for (trial, params), o in zip(alive, outcomes, strict=True):
                    if o.error is not None:
                        errors[trial.number] = o.error
                        continue
                    outputs[trial.number].append(o.output)
                    if len(slices) > 1 and step < len(slices) - 1:
                        value = _value(_metrics_of(outputs[trial.number], periods), spec.losses[0])
                        if value is not None:
                            trial.report(value, step)
                            if trial.should_prune():
                                trial.set_user_attr("pruned_after_slice", step + 1)
                                study.tell(trial, state=TrialState.PRUNED)
                                pruned += 1
                                finished += 1
                                if progress is not None:
                                    progress(1)
                                continue
                    survivors.append((trial, params))
                alive = survivors
            for trial, _ in batch:
                if trial.number in errors:
                    trial.set_user_attr("error", errors[trial.number])
                    study.tell(trial, state=TrialState.FAIL)
                    failed += 1
                    finished += 1
                    if progress is not None:
                        progress(1)
            for trial, _params in alive:
                metrics = _metrics_of(outputs[trial.number], periods)
                trial.set_user_attr("metrics", _json_safe(metrics))
                values = [_value(metrics, loss) for loss in spec.losses]
                finished += 1
                if progress is not None:
                    progress(1)
                if any(v is None for v in values):
                    missing = next(loss.name for loss, v in zip(spec.losses, values, strict=True) if v is None)
                    trial.set_user_attr("error", f"the run has no value for {missing}")
                    study.tell(trial, state=TrialState.FAIL)
                    failed += 1
                    continue
                study.tell(trial, [float(v) for v in values if v is not None])
                evaluations += 1
    if finished == 0 and refused:
        raise ValidationError("--param", f"every combination drawn is invalid, e.g. {example}")
    return StudyOutcome(spec.name, finished, evaluations, pruned, refused, example, failed, repeats, resumed)


@dataclass(slots=True)
class _Tally:
    counted: int  # trials that count toward the budget: finished, or running in a live worker
    refused: int
    example: str | None
    tried: set[str]  # parameter sets claimed by a trial (grid points not to enqueue again)
    seen: dict[str, optuna.trial.FrozenTrial]  # completed runs, reused by a trial that draws their set again


def _tally(study: optuna.Study) -> _Tally:
    tally = _Tally(0, 0, None, set(), {})
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("interrupted"):
            continue
        if "params" in t.user_attrs:
            tally.tried.add(space_key(t.user_attrs["params"]))
        if "refused" in t.user_attrs:
            tally.refused += 1
            tally.example = tally.example or t.user_attrs["refused"]
            continue
        tally.counted += 1
        if t.state.name == "COMPLETE" and "repeat_of" not in t.user_attrs:
            tally.seen.setdefault(space_key(t.user_attrs["params"]), t)
    return tally


def _owner() -> dict[str, Any]:
    """Who runs a trial: the machine, the process, and this call (a process may run a study more than once)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "run": uuid.uuid4().hex}


def _owner_gone(owner: Any, me: Mapping[str, Any]) -> bool:
    """Whether the worker that left a trial unfinished is known to be gone: no owner recorded (an enqueued grid
    point, or a study of an older version), an earlier call of this process, or a dead process on this machine.
    A trial owned by a process on another machine is left to it (it cannot be probed from here)."""
    if not isinstance(owner, dict) or owner.get("host") != me["host"]:
        return not isinstance(owner, dict)
    if owner.get("pid") == me["pid"]:
        return bool(owner.get("run") != me["run"])
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError, ValueError, KeyError, TypeError):
        return False
    return False


@contextlib.contextmanager
def claim_lock(study: optuna.Study, name: str) -> Iterator[None]:
    """Serialise claiming trials among every process working on ``name``: a PostgreSQL advisory lock (held by a
    connection of its own, so the machines sharing the database share it), a lock file beside a SQLite database;
    other databases get none (one process per study there)."""
    storage = study._storage
    engine = getattr(getattr(storage, "_backend", storage), "engine", None)  # RDBStorage, behind Optuna's cache
    if engine is None:
        yield
        return
    dialect = engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy import text

        key = _lock_key(f"alphintra.study:{name}")
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = engine.url.database if dialect == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_same_study(study: optuna.Study, spec: StudySpec, space: ParamSpace) -> None:
    """A study continues only with the search, losses and space it was started with; the first run records them."""
    wanted = {
        "search": spec.search,
        "losses": [loss.name for loss in spec.losses],
        "space": [repr(p) for p in space.params],
        "seed": spec.seed,
        "slices": spec.slices,
    }
    stored = study.user_attrs.get("setup")
    if stored is None:
        study.set_user_attr("setup", wanted)
        for key, value in (spec.attrs or {}).items():
            study.set_user_attr(key, value)
        return
    for key, value in wanted.items():
        if stored.get(key) != value:
            raise ValidationError(
                "--study",
                f"{spec.name!r} was started with a different {key} ({stored.get(key)}); "
                "resume it with the same options or choose another name",
            )


def walk_forward_study(
    objective: Objective,
    space: ParamSpace,
    windows: Sequence[WalkForwardWindow],
    spec: StudySpec,
    *,
    args: Sequence[Any] = (),
    check: Check | None = None,
    progress: ProgressFn | None = None,
    start_method: StartMethod = "spawn",
    periods: float | None = None,
    cluster: ClusterLike | None = None,
) -> tuple[WalkForwardResult, list[StudyOutcome]]:
    """Walk-forward analysis with a study per in-sample window (``NAME.w0``, ``NAME.w1``, ...; each resumable),
    whose best trial by the first loss runs on the window's out-of-sample range."""
    from alphintra.strategies.walk_forward import out_of_sample

    names = list(space.names)
    loss = spec.losses[0]
    outcomes: list[StudyOutcome] = []
    chosen: dict[int, tuple[Params, float]] = {}
    failures: dict[int, str] = {}
    set_of: list[Params] = []
    window_of: list[int] = []
    runs: list[_Outcome] = []
    for w in windows:
        part = replace(spec, name=f"{spec.name}.w{w.index}")
        outcomes.append(
            run_study(
                objective,
                space,
                part,
                args=args,
                bounds=(w.train_start, w.train_end),
                check=check,
                progress=progress,
                start_method=start_method,
                periods=periods,
                cluster=cluster,
            )
        )
        rows = trial_rows(open_study(spec.storage, part.name))
        for row in rows:
            set_of.append({n: row[n] for n in names})
            window_of.append(w.index)
            runs.append(_Outcome(len(runs), {k: v for k, v in row.items() if k not in names and k != "trial"}, None))
        if rows and rows[0].get(loss.metric) is not None:
            chosen[w.index] = ({n: rows[0][n] for n in names}, float(rows[0][loss.metric]))
        else:
            failures[w.index] = "in sample: no trial completed"
    refused = sum(o.refused for o in outcomes)
    example = next((o.refused_example for o in outcomes if o.refused_example), None)
    in_sample = replace(_frame(names, set_of, runs, window_of), skipped=refused, skipped_example=example)
    result = out_of_sample(
        objective,
        windows,
        chosen,
        failures,
        metric=loss.metric,
        maximize=loss.maximize,
        in_sample=in_sample,
        args=tuple(args),
        workers=spec.workers,
        progress=progress,
        start_method=start_method,
        periods=periods,
        cluster=cluster,
    )
    return result, outcomes


# ---------------------------------------------------------------------------------------------------------------
# Reading studies back
# ---------------------------------------------------------------------------------------------------------------


def trial_rows(study: optuna.Study, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Completed trials that ran (not repeats), best first by the first loss; ties go to the earlier trial."""
    import optuna
    from optuna.trial import TrialState

    ranked: list[tuple[float, int, dict[str, Any]]] = []
    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if "repeat_of" in t.user_attrs:
            continue
        row = {"trial": t.number, **t.user_attrs.get("params", t.params), **t.user_attrs.get("metrics", {})}
        ranked.append((sign * t.values[0], t.number, row))  # the study's own value, not the metric as shown
    rows = [row for _, _, row in sorted(ranked, key=lambda item: (item[0], item[1]))]
    return rows if limit is None else rows[:limit]


def pareto_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """The trials no other trial beats on every loss, in trial order (repeats left out)."""
    rows = [
        {"trial": t.number, **t.user_attrs.get("params", t.params), **t.user_attrs.get("metrics", {})}
        for t in study.best_trials
        if "repeat_of" not in t.user_attrs
    ]
    return sorted(rows, key=lambda r: r["trial"])


def importances(study: optuna.Study) -> dict[str, float]:
    """How much each parameter explains the first loss (Optuna's PED-ANOVA, which needs no scikit-learn, unlike
    its default fANOVA); empty when there are too few trials or no variation to explain."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2 or not complete[0].distributions:
        return {}
    import warnings

    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    try:
        with warnings.catch_warnings():  # PED-ANOVA reminds that it ranks low targets: the sign sees to that
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study,
                target=lambda t: sign * t.values[0],
                evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
            )
    except (RuntimeError, ValueError, ZeroDivisionError):  # a parameter with one value, or no variation
        return {}
    return dict(found)


def study_summaries(storage: str) -> list[dict[str, Any]]:
    import optuna
    from optuna.trial import TrialState

    store = storage_for(storage)
    names = optuna.get_all_study_names(storage=store)
    out: list[dict[str, Any]] = []
    for name in sorted(names):
        study = optuna.load_study(study_name=name, storage=store)
        trials = study.get_trials(deepcopy=False)
        setup = study.user_attrs.get("setup", {})
        out.append(
            {
                "study": name,
                "strategy": study.user_attrs.get("strategy"),
                "search": setup.get("search"),
                "losses": setup.get("losses"),
                "trials": len(trials),
                "complete": sum(t.state == TrialState.COMPLETE for t in trials),
                "pruned": sum(t.state == TrialState.PRUNED for t in trials),
            }
        )
    return out


__all__ = [
    "LOSSES",
    "SEARCHES",
    "Loss",
    "StudyOutcome",
    "StudySpec",
    "importances",
    "open_study",
    "pareto_rows",
    "parse_loss",
    "parse_multi",
    "parse_search",
    "redact",
    "run_study",
    "slice_bounds",
    "study_summaries",
    "trial_rows",
    "walk_forward_study",
]
