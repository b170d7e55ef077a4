"""`alphintra optimize`: parameter sweeps (grid or random) and walk-forward analysis, in parallel processes or on a
Dask cluster (``--cluster``); with ``--search``, Optuna studies (grid, random, TPE, CMA-ES) that are stored,
resumable and shown by ``optimize show`` / ``optimize list``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from alphintra.cli.common import (
    ClusterOpt,
    JsonOption,
    TimerangeOpt,
    cluster_target,
    console,
    print_json,
    progress,
    time_range,
)


class _RunByDefault(TyperGroup):
    """``alphintra optimize STRATEGY ...`` keeps working beside ``optimize show``/``list``: any first word that is
    not a subcommand (a strategy name) is read as ``optimize run STRATEGY ...``."""

    default_command = "run"  # also read by the completion scripts' generator

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer vendors its own click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Sweep a strategy's parameters (optimize STRATEGY ... is optimize run STRATEGY ...); show stored studies.",
    no_args_is_help=True,
)

StorageOpt = Annotated[
    str | None,
    typer.Option("--storage", help="Study database URL (default: sqlite in the home, studies.db).", show_default=False),
]


@app.command("run")
def optimize(
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    symbol: Annotated[list[str], typer.Option("--symbol", "-s", help="Symbol(s) to trade.")],
    param: Annotated[list[str], typer.Option("--param", "-p", help="Range: fast=5:50:5, x=0.1:0.5:0.1, mode=a,b.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t")] = "1d",
    metric: Annotated[str, typer.Option(help="Metric to rank by (sharpe, total_return, calmar, ...).")] = "sharpe",
    minimize: Annotated[bool, typer.Option("--minimize", help="Lower is better for the metric.")] = False,
    random: Annotated[
        int | None, typer.Option("--random", help="Sample this many sets instead of the full grid.")
    ] = None,
    walk_forward: Annotated[
        str | None, typer.Option("--walk-forward", help="TRAIN:TEST windows, e.g. 365d:90d (rolling).")
    ] = None,
    anchored: Annotated[
        bool, typer.Option("--anchored", help="Walk-forward in-sample windows grow from the start.")
    ] = False,
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    timerange: TimerangeOpt = None,
    cash: Annotated[str | None, typer.Option()] = None,
    fee: Annotated[str | None, typer.Option(help="Fee per side: 0.002 or 0.2%.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: CPU count; a study's batch on a cluster).")
    ] = None,
    cluster: ClusterOpt = None,
    seed: Annotated[int, typer.Option()] = 42,
    top: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    search: Annotated[
        str | None, typer.Option("--search", help="Run an Optuna study: grid, random, tpe or cmaes.")
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", help="Study: trials in total (default: the grid, or 100).")
    ] = None,
    loss: Annotated[
        str, typer.Option("--loss", help="Study: what to optimise (sharpe, sortino, calmar, profit, drawdown, ...).")
    ] = "sharpe",
    multi: Annotated[
        str | None, typer.Option("--multi", help="Study: several losses at once, e.g. sharpe,drawdown.")
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name; an existing study resumes.", show_default=False)
    ] = None,
    storage: StorageOpt = None,
    slices: Annotated[
        int, typer.Option("--slices", help="Study: time slices per trial; >1 prunes hopeless trials early.")
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """Sweep STRATEGY's parameters over stored bars and rank the runs by a metric."""
    from alphintra.cli.backtest import _decimal
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError
    from alphintra.storage.market import MarketData
    from alphintra.strategies import optimize as opt
    from alphintra.strategies import registry
    from alphintra.strategies.backtest import BacktestConfig, backtest_objective, load_frames
    from alphintra.strategies.report import results_table

    start, end = time_range(start, end, timerange)
    cls = registry.get(strategy)
    study_options = {"--trials": trials, "--multi": multi, "--study": study, "--storage": storage}
    study_options |= {"--loss": None if loss == "sharpe" else loss, "--slices": None if slices == 1 else slices}
    if search is None:
        given = next((name for name, value in study_options.items() if value is not None), None)
        if given is not None:
            raise ValidationError(given, "belongs to a study: add --search grid, random, tpe or cmaes")
    else:
        plan = _study_plan(search, trials, loss, multi, slices, random, minimize, metric)
    from dataclasses import fields

    from alphintra.strategies.metrics import Metrics

    known = [f.name for f in fields(Metrics) if f.name not in ("bars", "start_ts", "end_ts", "periods_per_year")]
    if metric not in known and search is None:
        raise ValidationError("--metric", f"must be one of: {', '.join(known)}", metric)
    space = opt.parse_space(param)
    target = cluster_target(cluster)  # a malformed address is refused before any data is read
    settings = get_settings()
    config = BacktestConfig(
        strategy=strategy,
        symbols=tuple(symbol),
        timeframe=timeframe,
        start=start,
        end=end,
        cash=settings.account().starting_cash if cash is None else _decimal("--cash", cash),
        account_mode=settings.account().mode,
        leverage=settings.account().leverage,
        fee=_decimal("--fee", fee, percent=True) if fee is not None else settings.backtest.fee_rate,
        seed=seed,
    )
    frames = load_frames(MarketData(settings.paths.market), config)
    args = (config, frames)

    def check(params: opt.Params) -> str | None:
        """The strategy's own parameter rules, so that an invalid combination (sma_cross fast >= slow) is
        skipped before it runs instead of filling the table with failed runs."""
        problem = registry.params_problem(cls, {**dict(config.params), **params})
        return None if problem is None else ": ".join(part for part in problem if part)

    if search is not None:
        from alphintra.cli.optimize_study import run_study_command

        run_study_command(
            plan,
            strategy=strategy,
            space=space,
            config=config,
            frames=frames,
            check=check,
            study=study,
            storage=storage,
            seed=seed,
            workers=workers,
            walk_forward=walk_forward,
            anchored=anchored,
            top=top,
            as_json=as_json,
            cluster=target,
        )
        return
    if walk_forward:
        windows = _windows(frames, walk_forward, anchored)
        with progress("walk-forward", None) as advance:
            wf = opt.walk_forward(
                backtest_objective,
                space,
                windows,
                metric=metric,
                maximize=not minimize,
                samples=random,
                seed=seed,
                args=args,
                workers=workers,
                progress=advance,
                check=check,
                cluster=target,
            )
        table = wf.frame()
        overall = None if wf.oos_metrics is None else wf.oos_metrics.to_dict()
        if as_json:
            print_json(
                {
                    "windows": _iso_times(table.to_dicts()),
                    "out_of_sample": overall and _iso_times([overall])[0],
                    **_skipped(space, random, wf.in_sample),
                }
            )
            return
        console.print(results_table(table, sort_by=None, top=None, title=f"walk-forward by {metric}"))
        _print_skipped(strategy, space, random, wf.in_sample)
        if overall is not None:
            from alphintra.strategies.report import metrics_table

            console.print(metrics_table(wf.oos_metrics, title="out-of-sample (stitched)"))  # type: ignore[arg-type]
        return
    with progress("optimize", space.size if random is None else random) as advance:
        if random is None:
            result = opt.grid_search(
                backtest_objective, space, args=args, workers=workers, progress=advance, check=check, cluster=target
            )
        else:
            result = opt.random_search(
                backtest_objective,
                space,
                random,
                seed=seed,
                args=args,
                workers=workers,
                progress=advance,
                check=check,
                cluster=target,
            )
    frame = result.sorted(metric, descending=not minimize)
    if as_json:
        print_json({**_skipped(space, random, result), "runs": _iso_times(frame.head(top).to_dicts())})
        return
    shown = [*space.names, metric, "total_return", "sharpe", "max_drawdown", "num_trades", "win_rate", "error"]
    columns = [c for c in dict.fromkeys(shown) if c in frame.columns]
    title = f"{strategy}: top {min(top, frame.height)} of {frame.height} by {metric}"
    console.print(results_table(frame.head(top), columns=columns, sort_by=None, top=None, title=title))
    _print_skipped(strategy, space, random, result)


def _skipped(space: Any, samples: int | None, result: Any) -> dict[str, Any]:
    """How many parameter sets were drawn, and how many of them the strategy's rules refused before any run."""
    drawn = space.size if samples is None else min(samples, space.size)
    return {"combinations": drawn, "skipped": result.skipped, "skipped_example": result.skipped_example}


def _print_skipped(strategy: str, space: Any, samples: int | None, result: Any) -> None:
    if result.skipped:
        drawn = _skipped(space, samples, result)["combinations"]
        console.print(
            f"skipped {result.skipped} of {drawn} parameter sets that {strategy} refuses, "
            f"e.g. {result.skipped_example}",
            highlight=False,
        )


def _iso_times(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Window bounds and metric spans (engine nanoseconds in the result frames) as ISO-8601 UTC text."""
    from alphintra.formatting import iso_ns

    def convert(key: str, value: Any) -> Any:
        timed = key.endswith(("_ts", "_start", "_end"))
        return iso_ns(value) if timed and isinstance(value, int) and not isinstance(value, bool) else value

    return [{k: convert(k, v) for k, v in row.items()} for row in rows]


def _study_plan(
    search: str,
    trials: int | None,
    loss: str,
    multi: str | None,
    slices: int,
    random: int | None,
    minimize: bool,
    metric: str,
) -> Any:
    """The study options checked before any data is read, each refusal naming its option (exit 2)."""
    from alphintra.errors import ValidationError
    from alphintra.strategies import study as st

    st.parse_search(search)
    if random is not None:
        raise ValidationError("--random", "with a study use --search random --trials N")
    if minimize:
        raise ValidationError("--minimize", "a study's direction comes from its loss (--loss drawdown: closer to 0)")
    if metric != "sharpe":
        raise ValidationError("--metric", "ranks the plain sweep: a study optimises --loss (or --multi)")
    if trials is not None and (isinstance(trials, bool) or trials < 1):
        raise ValidationError("--trials", "must be an integer >= 1", trials)
    losses = st.parse_multi(multi) if multi is not None else (st.parse_loss(loss),)
    if multi is not None and loss != "sharpe":
        raise ValidationError("--loss", "give either --loss or --multi, not both")
    if multi is not None and search == "cmaes":
        raise ValidationError("--multi", "cmaes optimises one loss: use --search tpe, random or grid")
    if not 1 <= slices <= st.MAX_SLICES:
        raise ValidationError("--slices", f"must be an integer in 1..{st.MAX_SLICES}", slices)
    if multi is not None and slices > 1:
        raise ValidationError("--slices", "pruning needs one loss: drop --multi or use --slices 1")
    return {"search": search, "trials": trials, "losses": losses, "slices": slices}


def _windows(frames: Any, text: str, anchored: bool) -> Any:
    """Walk-forward windows over the loaded bars from ``TRAIN:TEST`` (``--walk-forward``)."""
    from alphintra.errors import ValidationError
    from alphintra.strategies import optimize as opt

    train, sep, test = text.partition(":")
    if not sep:
        raise ValidationError("--walk-forward", "must be TRAIN:TEST such as 365d:90d", text)
    first, last = data_bounds(frames)
    return opt.walk_forward_windows(
        first,
        last,
        train_ns=opt.parse_duration(train, field="--walk-forward train"),
        test_ns=opt.parse_duration(test, field="--walk-forward test"),
        anchored=anchored,
    )


def data_bounds(frames: Any) -> tuple[int, int]:
    """``[first bar, last bar + 1ns)`` of the loaded frames, in engine nanoseconds."""
    first = min(int(df["time"].dt.epoch("ns").min()) for df in frames.values())
    last = max(int(df["time"].dt.epoch("ns").max()) for df in frames.values()) + 1
    return first, last


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Study name (optimize list shows them).")],
    storage: StorageOpt = None,
    top: Annotated[int, typer.Option(help="Best trials to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """A stored study: its best trials, parameter importance and, with several losses, the Pareto front."""
    from alphintra.cli.optimize_study import show_study

    show_study(name, storage, top, as_json)


@app.command("list")
def list_studies(storage: StorageOpt = None, as_json: JsonOption = False) -> None:
    """The studies in the storage, with their trial counts."""
    from alphintra.cli.optimize_study import list_command

    list_command(storage, as_json)
