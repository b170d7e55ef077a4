"""`alphintra plot`: stored bars of a symbol with indicators, in the terminal or as an interactive HTML page.

The terminal charts use plotext, which the reports already draw with: the close with the overlay indicators
(moving averages, bands, channels) on one chart, then one chart per oscillator (RSI, MACD ...), which live on a
scale of their own. ``--html`` writes the same panes as a self-contained interactive page (candlesticks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alphintra.cli.backtest import EndOpt, ExchangeOpt, StartOpt, TimeframeOpt
from alphintra.cli.common import TimerangeOpt, time_range

_NS = 1_000_000_000


def plot(
    symbol: Annotated[str, typer.Argument(help="Symbol of the stored bars, e.g. GOOG or BTC/USDT.")],
    timeframe: TimeframeOpt = "1d",
    indicators: Annotated[
        str | None,
        typer.Option("--indicators", "-i", help="Comma-separated name:param...: sma:20,rsi:14,macd:12:26:9."),
    ] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    exchange: ExchangeOpt = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write an interactive HTML page here instead.")] = None,
    width: Annotated[int | None, typer.Option(help="Terminal chart width (default: the terminal's).")] = None,
    height: Annotated[int, typer.Option(help="Height of the price chart in rows.")] = 20,
) -> None:
    """Chart stored bars of SYMBOL with indicators (terminal by default, HTML with --html)."""
    from alphintra.cli.common import console, info
    from alphintra.config.settings import get_settings
    from alphintra.errors import NotFoundError
    from alphintra.storage.market import MarketData
    from alphintra.storage.market.timeframes import parse_timeframe
    from alphintra.strategies.report.interactive import indicator_lines, parse_indicators, plot_page

    parse_timeframe(timeframe, field="--timeframe")
    start, end = time_range(start, end, timerange)
    requests = parse_indicators(indicators) if indicators else []
    market = MarketData(get_settings().paths.market)
    frame = market.bars(symbol, timeframe, exchange=exchange, start=start, end=end)
    if frame.height == 0:
        raise NotFoundError(f"no {timeframe} bars for {symbol} in the requested range")
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(plot_page(symbol, timeframe, frame, requests), encoding="utf-8")
        info(f"wrote {html}")
        return
    import polars as pl

    from alphintra.strategies.report.charts import lines_chart

    cols = width or min(console.width, 120)
    stamps = (frame["time"].cast(pl.Int64)).to_list()

    def points(values: list[float | None]) -> list[tuple[int, float]]:
        return [(t, v) for t, v in zip(stamps, values, strict=True) if v is not None]

    groups = indicator_lines(frame, requests)
    price = [(f"{symbol} close", points(frame["close"].to_list()))]
    price += [line for g in groups if g.overlay for line in ((n, points(v)) for n, v in g.lines)]
    console.print(lines_chart(price, title=f"{symbol} {timeframe}", width=cols, height=height), highlight=False)
    for group in groups:
        if not group.overlay:
            lines = [(n, points(v)) for n, v in group.lines]
            console.print(lines_chart(lines, title=group.request.label, width=cols, height=10), highlight=False)
