"""Research commands of `alphintra backtest`: bias checks of a strategy, comparisons of strategies and of runs.

They register on the `backtest` command group (imported at the end of ``alphintra.cli.backtest``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from alphintra.cli.backtest import SymbolOpt, _config, app
from alphintra.cli.common import JsonOption, TimerangeOpt, print_json, print_table, time_range


@app.command("bias")
def bias(
    strategy: Annotated[str, typer.Argument(help="Strategy name (see `alphintra strategy list`).")],
    symbol: SymbolOpt,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe, e.g. 1d, 1h, 1m.")] = "1d",
    start: Annotated[str | None, typer.Option(help="First bar (ISO date/time, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="End of the range (exclusive).")] = None,
    timerange: TimerangeOpt = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange of the stored data.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v.")] = None,
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
