"""`alphintra optimize`: parameter sweeps (grid or random) and walk-forward analysis, in parallel processes."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, console, print_json, progress


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
    cash: Annotated[str | None, typer.Option()] = None,
    fee: Annotated[str | None, typer.Option(help="Fee per side: 0.002 or 0.2%.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: CPU count).")] = None,
    seed: Annotated[int, typer.Option()] = 42,
    top: Annotated[int, typer.Option(help="Rows to show.")] = 20,
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

    cls = registry.get(strategy)
    from dataclasses import fields

    from alphintra.strategies.metrics import Metrics

    known = [f.name for f in fields(Metrics) if f.name not in ("bars", "start_ts", "end_ts", "periods_per_year")]
    if metric not in known:
        raise ValidationError("--metric", f"must be one of: {', '.join(known)}", metric)
    space = opt.parse_space(param)
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

    if walk_forward:
        train, sep, test = walk_forward.partition(":")
        if not sep:
            raise ValidationError("--walk-forward", "must be TRAIN:TEST such as 365d:90d", walk_forward)
        first = min(int(df["time"].dt.epoch("ns").min()) for df in frames.values())  # type: ignore[arg-type]
        last = max(int(df["time"].dt.epoch("ns").max()) for df in frames.values()) + 1  # type: ignore[arg-type]
        windows = opt.walk_forward_windows(
            first,
            last,
            train_ns=opt.parse_duration(train, field="--walk-forward train"),
            test_ns=opt.parse_duration(test, field="--walk-forward test"),
            anchored=anchored,
        )
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
                backtest_objective, space, args=args, workers=workers, progress=advance, check=check
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
