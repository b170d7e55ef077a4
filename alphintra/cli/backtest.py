"""`alphintra backtest`: run a strategy over stored bars, list and show past runs."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from alphintra.cli.common import (
    ClusterOpt,
    JsonOption,
    TimerangeOpt,
    emit,
    info,
    parse_params,
    print_json,
    progress,
    time_range,
)

app = typer.Typer(help="Backtest strategies on stored market data.", no_args_is_help=True)

SymbolOpt = Annotated[list[str], typer.Option("--symbol", "-s", help="Symbol(s) to trade (repeat for pairs).")]
# The options every command that runs a strategy over stored bars shares (run, bias; plot reads bars the same way).
TimeframeOpt = Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe, e.g. 1d, 1h, 1m.")]
StartOpt = Annotated[str | None, typer.Option(help="First bar (ISO date/time, UTC).")]
EndOpt = Annotated[str | None, typer.Option(help="End of the range (exclusive).")]
ExchangeOpt = Annotated[str | None, typer.Option(help="Exchange of the stored data.")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v.")]


def _decimal(name: str, text: str, *, percent: bool = False) -> Decimal:
    from alphintra.errors import ValidationError

    raw = text.strip()
    is_pct = raw.endswith("%")
    try:
        value = Decimal(raw.rstrip("%"))
    except InvalidOperation:
        raise ValidationError(name, "must be a number (a trailing % means percent)", text) from None
    if is_pct and percent:
        value = value / 100
    return value


def _coerce_params(strategy: str, raw: dict[str, str]) -> dict[str, Any]:
    """Turn ``k=v`` strings into the strategy's parameter types, with its validation messages."""
    from alphintra.errors import ValidationError
    from alphintra.strategies import registry

    cls = registry.get(strategy)
    problem = registry.params_problem(cls, raw)
    if problem is not None:
        name, rule = problem
        raise ValidationError(f"--param {name}" if name else "--param", rule, raw.get(name))
    return cls.Params.model_validate(raw).model_dump()


@app.command("run")
def run(
    # The symbol first only because Python wants the parameters without a default first; STRATEGY stays the argument.
    symbol: SymbolOpt,
    strategy: Annotated[
        str | None, typer.Argument(help="Strategy name (see `alphintra strategy list`); or use --strategy-list.")
    ] = None,
    strategy_list: Annotated[
        str | None,
        typer.Option("--strategy-list", help="Comma-separated strategies to run on the same data and compare."),
    ] = None,
    timeframe: TimeframeOpt = "1d",
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    exchange: ExchangeOpt = None,
    cash: Annotated[str | None, typer.Option(help="Starting cash in the quote currency.")] = None,
    fee: Annotated[str | None, typer.Option(help="Fee per side: 0.002 or 0.2%.")] = None,
    slippage: Annotated[str | None, typer.Option(help="Slippage in basis points on market fills.")] = None,
    fill: Annotated[str, typer.Option("--fill", help="Fill model: bar (next open) or book (matching engine).")] = "bar",
    account: Annotated[
        str | None,
        typer.Option(
            "--account", help="Configured account whose mode, leverage and starting cash to use (default: the first)."
        ),
    ] = None,
    spot: Annotated[bool, typer.Option("--spot", help="Spot account (no shorting) whatever the account says.")] = False,
    param: ParamOpt = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (results are deterministic).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the HTML report here.")] = None,
    paper: Annotated[
        float | None,
        typer.Option("--paper", help="Paper mode: replay the bars one by one at this speed (sim seconds per second)."),
    ] = None,
    trades: Annotated[int, typer.Option("--trades", help="Trades to list (0: none, -1: all).")] = 20,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Terminal equity chart.")] = True,
    no_skip: Annotated[
        bool,
        typer.Option("--no-skip", help="Show the strategy every bar and check its wake mask (slower; same result)."),
    ] = False,
    cluster: ClusterOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Run STRATEGY over stored bars and report metrics, trades and charts."""
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError
    from alphintra.storage.market import MarketData
    from alphintra.strategies.backtest import Backtest, load_frames
    from alphintra.strategies.report import equity_chart, summary, write_report

    if fill not in ("bar", "book"):
        raise ValidationError("--fill", "must be bar or book", fill)
    settings = get_settings()
    start, end = time_range(start, end, timerange)
    if strategy_list is not None or strategy is None:
        from alphintra.cli.backtest_research import run_strategy_list

        if strategy is not None:
            raise ValidationError(
                "--strategy-list", "cannot be combined with a STRATEGY argument: give one or the other"
            )
        if strategy_list is None:
            raise ValidationError("STRATEGY", "give a strategy name or --strategy-list")
        for name, given in (("--param", param), ("--html", html), ("--paper", paper)):
            if given is not None:
                raise ValidationError(name, "cannot be combined with --strategy-list (each strategy runs its defaults)")
        from alphintra.cli.common import cluster_target

        target = cluster_target(cluster)
        options = dict(cash=cash, fee=fee, slippage=slippage, fill=fill, account=account, spot=spot, seed=seed)
        run_strategy_list(
            strategy_list, symbol, timeframe, start, end, exchange, options, as_json=as_json, cluster=target
        )
        return
    if cluster is not None:
        raise ValidationError("--cluster", "applies to --strategy-list runs (one backtest runs here)", cluster)
    config = _config(
        strategy,
        symbol,
        timeframe,
        start=start,
        end=end,
        exchange=exchange,
        param=param,
        cash=cash,
        fee=fee,
        slippage=slippage,
        fill=fill,
        account=account,
        spot=spot,
        seed=seed,
        skip_quiet_bars=not no_skip,
    )
    frames = load_frames(MarketData(settings.paths.market), config)
    total = sum(df.height for df in frames.values())
    with progress(f"{'paper' if paper else 'backtest'} {strategy}", total) as advance:
        done = [0]

        def report(i: int) -> None:
            advance(i - done[0])
            done[0] = i

        indicators: dict[str, list[Any]] = {}
        if paper is not None:
            from alphintra.strategies.paper import run_paper

            result = run_paper(config, frames, speed=paper, progress=report)
        else:
            from alphintra.strategies.report.interactive import strategy_indicators

            backtest = Backtest(config, frames)
            result = backtest.run(report)
            indicators = strategy_indicators(backtest.ctx.lines.by_symbol)
    files = write_report(result, settings.paths.reports, bars=frames, indicators=indicators)
    if html is not None:
        from alphintra.strategies.report import render_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(result, frames, indicators), encoding="utf-8")
    _record(result, files)
    if as_json:
        from alphintra.strategies.result_view import result_view

        data = result_view(result.to_dict())
        data["reports"] = files.to_dict()
        print_json(data)
        return
    from alphintra.cli.common import console

    console.print(summary(result, trade_limit=None if trades < 0 else trades))
    if chart and result.equity:
        console.print(equity_chart(result, width=min(console.width, 120), height=16), highlight=False)
    info(f"reports: {files.directory}")


def _config(
    strategy: str,
    symbol: list[str],
    timeframe: str,
    *,
    start: str | None = None,
    end: str | None = None,
    exchange: str | None = None,
    param: list[str] | None = None,
    cash: str | None = None,
    fee: str | None = None,
    slippage: str | None = None,
    fill: str = "bar",
    account: str | None = None,
    spot: bool = False,
    seed: int | None = None,
    skip_quiet_bars: bool = True,
) -> Any:
    """The run's configuration from the command's options, the settings' backtest defaults and the account (the
    same account model as the paper and live engine) filling the gaps."""
    from alphintra.config.settings import get_settings
    from alphintra.strategies.backtest import BacktestConfig

    bt = get_settings().backtest
    acct = get_settings().account(account)
    return BacktestConfig(
        strategy=strategy,
        symbols=tuple(symbol),
        timeframe=timeframe,
        params=_coerce_params(strategy, parse_params(param or [])),
        start=start,
        end=end,
        exchange=exchange,
        # `is None`, not `or`: 0 is a value the user typed (refused for cash, valid for slippage), not "unset".
        cash=acct.starting_cash if cash is None else _decimal("--cash", cash),
        fee=_decimal("--fee", fee, percent=True) if fee is not None else bt.fee_rate,
        slippage_bps=bt.slippage_bps if slippage is None else _decimal("--slippage", slippage),
        fill_mode=fill,  # type: ignore[arg-type]
        account_mode="spot" if spot else acct.mode,
        leverage=Decimal(1) if spot else acct.leverage,
        seed=bt.seed if seed is None else seed,
        instruments=_configured_instruments(symbol),
        skip_quiet_bars=skip_quiet_bars,
        # Symbols on an exchange calendar trade in sessions: returns annualise over trading days.
        calendar="equity" if any(i.calendar for i in get_settings().instruments if i.symbol in symbol) else None,
    )


def _configured_instruments(symbols: list[str]) -> list[Any]:
    from alphintra.config.settings import get_settings

    settings = get_settings()
    return [item.to_instrument(settings.base_currency) for item in settings.instruments if item.symbol in symbols]


def _record(result: Any, files: Any) -> None:
    """Record the run as a strategy execution in the state database (the plan's strategy_executions)."""
    from alphintra.config.settings import get_settings
    from alphintra.storage.state import StateStore
    from alphintra.strategies.report import execution_record

    with StateStore(get_settings().effective_database_url) as store:
        store.create_all()
        try:
            store.get_strategy(result.strategy)
        except Exception:
            store.create_strategy({"name": result.strategy, "strategy_type": result.strategy, "config": {}})
        rec = execution_record(result, files=files)
        store.record_execution(
            result.strategy,
            rec["execution_type"],
            status=rec["status"],
            config=rec["config"],
            results=rec["results"],
            started_at=rec["started_at"],
            completed_at=rec["completed_at"],
        )


@app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
    strategy: Annotated[str | None, typer.Option(help="Only runs of this strategy.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Past backtest runs with their headline metrics."""
    from alphintra.config.settings import get_settings
    from alphintra.storage.state import StateStore
    from alphintra.strategies.runs import list_runs

    with StateStore(get_settings().effective_database_url) as store:
        store.create_all()
        rows = list_runs(store, limit=limit, strategy=strategy)
    if not as_json:  # returns as percentages, as the reports show them
        from alphintra.formatting import percent

        rows = [
            {**r, "total_return": percent(r["total_return"]), "max_drawdown": percent(r["max_drawdown"])} for r in rows
        ]
    emit(rows, as_json, title="backtests")


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (see `backtest list`).")],
    trades: Annotated[int, typer.Option("--trades", help="Trades to list (-1: all).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show a past run from its saved report."""
    from alphintra.cli.common import console
    from alphintra.config.settings import get_settings
    from alphintra.strategies.report import equity_chart, summary
    from alphintra.strategies.runs import load_run

    result = load_run(get_settings().paths.reports, run_id)
    if as_json:
        from alphintra.strategies.result_view import result_view

        print_json(result_view(result.to_dict()))
        return
    console.print(summary(result, trade_limit=None if trades < 0 else trades))
    if result.equity:
        console.print(equity_chart(result, width=min(console.width, 120), height=16), highlight=False)


# The research commands (bias, compare) register on this group.
from alphintra.cli import backtest_research  # noqa: E402, F401
