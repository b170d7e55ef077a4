"""Research commands of `alphintra backtest`: bias checks of a strategy, comparisons of strategies and of runs.

They register on the `backtest` command group (imported at the end of ``alphintra.cli.backtest``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alphintra.cli.backtest import (
    EndOpt,
    ExchangeOpt,
    ParamOpt,
    StartOpt,
    SymbolOpt,
    TimeframeOpt,
    _config,
    app,
)
from alphintra.cli.common import JsonOption, TimerangeOpt, info, print_json, print_table, time_range


@app.command("bias")
def bias(
    strategy: Annotated[str, typer.Argument(help="Strategy name (see `alphintra strategy list`).")],
    symbol: SymbolOpt,
    timeframe: TimeframeOpt = "1d",
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    exchange: ExchangeOpt = None,
    param: ParamOpt = None,
    cuts: Annotated[int, typer.Option("--cuts", help="Look-ahead: bars after which the future is cut off.")] = 6,
    trims: Annotated[int, typer.Option("--trims", help="Warm-up: shorter histories to compare with.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """Check STRATEGY for look-ahead and warm-up (recursive indicator) bias; exit 1 when any is found."""
    from alphintra.cli.common import console
    from alphintra.config.settings import get_settings
    from alphintra.storage.market import MarketData
    from alphintra.strategies.backtest import load_frames
    from alphintra.strategies.bias import check_bias
    from alphintra.strategies.report._format import fmt_ts

    start, end = time_range(start, end, timerange)
    config = _config(strategy, symbol, timeframe, start=start, end=end, exchange=exchange, param=param)
    frames = load_frames(MarketData(get_settings().paths.market), config)
    report = check_bias(config, frames, cuts=cuts, trims=trims)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(
            f"bias check of {strategy} on {', '.join(symbol)} {timeframe} ({report.bars:,} bars)", highlight=False
        )
        console.print(
            f"look-ahead: future cut after {len(report.cuts)} bars; warm-up: {len(report.trims)} shorter "
            f"histor{'y' if len(report.trims) == 1 else 'ies'}",
            highlight=False,
        )
        if report.passed:
            console.print("no look-ahead and no warm-up dependence found", highlight=False)
        else:
            rows = [
                {
                    "bias": "look-ahead" if f.kind == "lookahead" else "warm-up",
                    "subject": f.subject,
                    "first bar": fmt_ts(f.first_ts),
                    "full run": f.full,
                    "shorter run": f.other,
                    "compared": f.detail,
                }
                for f in report.findings
            ]
            print_table(rows, list(rows[0]), title="bias found")
    if not report.passed:
        raise typer.Exit(1)


def print_comparison(results: list[Any], as_json: bool, *, title: str, with_run: bool = False) -> None:
    """The comparison of ``results``: a table (returns as percentages, money at its precision) or JSON rows."""
    from alphintra.formatting import iso_ns, money, percent
    from alphintra.strategies.compare import COLUMNS, comparison_rows, data_differences

    rows = comparison_rows(results)
    if as_json:
        for row in rows:
            row["start"], row["end"] = iso_ns(row.pop("start_ns")), iso_ns(row.pop("end_ns"))
        print_json(rows)
        return
    for difference in data_differences(results):
        info(f"note: the runs cover different data ({difference})")

    currencies = {row["currency"] for row in rows}
    one = currencies.pop() if len(currencies) == 1 else None

    def shown(value: Any, kind: str, currency: str) -> Any:
        if value is None:
            return "-"
        if kind == "pct":
            return percent(value)
        if kind == "money":
            # One currency goes into the heading; runs in several carry theirs in each cell.
            return money(value, currency) if one is not None else f"{money(value, currency)} {currency}"
        if kind == "ratio":
            return f"{value:,.2f}"
        return value

    def heading(text: str, kind: str) -> str:
        return f"{text} {one}" if kind == "money" and one else text

    columns = [(key, heading(text, kind), kind) for key, text, kind in COLUMNS]
    if with_run:  # stored runs may repeat a strategy: the run id tells the rows apart
        columns.insert(1, ("run_id", "run", "text"))
    table = [{title_: shown(row[key], kind, row["currency"]) for key, title_, kind in columns} for row in rows]
    print_table(table, [title_ for _, title_, _ in columns], title=title)


@app.command("compare")
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (see `backtest list`).")],
    as_json: JsonOption = False,
) -> None:
    """Compare stored runs side by side: one row per run."""
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError
    from alphintra.strategies.runs import load_run

    if len(run_ids) < 2:
        raise ValidationError("RUN_IDS", "give at least two runs to compare", " ".join(run_ids))
    repeated = sorted({r for r in run_ids if run_ids.count(r) > 1})
    if repeated:
        raise ValidationError("RUN_IDS", "each run may be given once", ", ".join(repeated))
    reports = get_settings().paths.reports
    results = [load_run(reports, run_id) for run_id in run_ids]
    print_comparison(results, as_json, title="runs compared", with_run=True)


def run_strategy_list(
    names_text: str,
    symbol: list[str],
    timeframe: str,
    start: str | None,
    end: str | None,
    exchange: str | None,
    options: dict[str, Any],
    *,
    as_json: bool,
    cluster: Any = None,
) -> None:
    """``backtest run --strategy-list``: every strategy on the same bars, each run reported and recorded, then one
    comparison table. All configurations are checked before the first run, so bad input runs nothing.

    The runs go through the sweeps' executor (``alphintra.strategies.executor``): in this process, or on the Dask
    scheduler ``cluster``; the reports are written and the runs recorded here, in the list's order."""
    from alphintra.cli.backtest import _record
    from alphintra.cli.common import progress
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError
    from alphintra.storage.market import MarketData
    from alphintra.strategies.backtest import Backtest, load_frames
    from alphintra.strategies.compare import run_listed
    from alphintra.strategies.executor import open_executor
    from alphintra.strategies.report import write_report

    names = [n.strip() for n in names_text.split(",")]
    if not all(names):
        raise ValidationError("--strategy-list", "must be comma-separated strategy names", names_text)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError("--strategy-list", "each strategy may be listed once", ", ".join(repeated))
    settings = get_settings()
    configs = [_config(n, symbol, timeframe, start=start, end=end, exchange=exchange, **options) for n in names]
    frames = load_frames(MarketData(settings.paths.market), configs[0])
    for config in configs:
        Backtest(config, frames)  # validates each strategy against the symbols before any run
    results = []
    with progress("backtest strategies", len(configs)) as advance:
        with open_executor(run_listed, (configs, frames), workers=1, cluster=cluster, name="alphintra-list") as runs:
            outputs = runs.map(range(len(configs)), advance)
        for result, indicators in outputs:
            files = write_report(result, settings.paths.reports, bars=frames, indicators=indicators)
            _record(result, files)
            results.append(result)
            info(f"{result.strategy}: reports in {files.directory}")
    print_comparison(results, as_json, title=f"{', '.join(symbol)} {timeframe}: strategies compared")


@app.command("parity")
def parity(
    strategy: Annotated[str, typer.Argument(help="Strategy name (see `alphintra strategy list`).")],
    symbol: SymbolOpt,
    timeframe: TimeframeOpt = "1d",
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    exchange: ExchangeOpt = None,
    param: ParamOpt = None,
    fill: Annotated[str, typer.Option("--fill", help="Fill model: bar (next open) or book (matching engine).")] = "bar",
    fills: Annotated[int, typer.Option("--fills", help="Fills to list (-1: all).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Run STRATEGY through a backtest and a paper replay of the same bars and compare their fills side by side;
    exit 1 when they differ."""
    from alphintra.cli.common import console
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError
    from alphintra.storage.market import MarketData
    from alphintra.strategies.backtest import load_frames
    from alphintra.strategies.parity import check_parity

    if fill not in ("bar", "book"):
        raise ValidationError("--fill", "must be bar or book", fill)
    start, end = time_range(start, end, timerange)
    config = _config(strategy, symbol, timeframe, start=start, end=end, exchange=exchange, param=param, fill=fill)
    frames = load_frames(MarketData(get_settings().paths.market), config)
    report = check_parity(config, frames)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(
            f"parity of {strategy} on {', '.join(symbol)} {timeframe} ({report.bars:,} bars): backtest vs paper replay",
            highlight=False,
        )
        _print_fills_side_by_side(report, fills)
        console.print(report.summary(), style=None if report.identical else "bold red", highlight=False)
    if not report.identical:
        raise typer.Exit(1)


def _print_fills_side_by_side(report: Any, limit: int) -> None:
    """Both runs' fills in one table, one row per fill index; the first differing row in red."""
    from rich.table import Table

    from alphintra.cli.common import console, table_decimal
    from alphintra.strategies.report._format import fmt_ts

    first = report.first_difference
    count = max(len(report.backtest), len(report.paper))
    lo = 0 if first is None or limit < 0 else max(0, first - 2)
    hi = count if limit < 0 else min(count, lo + limit)
    if hi <= lo:
        return
    # One pair of rows per fill, the backtest's above the replay's, so the two read side by side in 80 columns.
    table = Table(header_style="bold cyan")
    for name in ("#", "run", "time", "side", "quantity", "price", "fee"):
        table.add_column(name, justify="right" if name in ("#", "quantity", "price", "fee") else "left")

    def cells(items: list[Any], i: int) -> list[str]:
        if i >= len(items):
            return ["-"] * 5
        f = items[i]
        return [fmt_ts(f.ts), f.side.value, table_decimal(f.qty), table_decimal(f.price), table_decimal(f.fee)]

    for i in range(lo, hi):
        style = "bold red" if i == first else None
        table.add_row(str(i + 1), "backtest", *cells(report.backtest, i), style=style)
        table.add_row("", "paper", *cells(report.paper, i), style=style, end_section=i < hi - 1)
    if hi < count or lo > 0:
        table.caption = f"fills {lo + 1}-{hi} of {count}"
    console.print(table)
