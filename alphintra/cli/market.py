"""`alphintra market`: tickers, order books, candles and instruments of the running engine's market."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, console, ns_time, print_json, print_table
from alphintra.cli.order import engine_client

app = typer.Typer(help="Market data from the running engine: ticker, book, candles, symbols.", no_args_is_help=True)

Symbol = Annotated[str, typer.Argument(help="Instrument, e.g. BTC/USD.")]


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def ticker_row(t: dict[str, Any]) -> dict[str, Any]:
    change = t.get("change_pct")
    return {
        "symbol": t["symbol"],
        "last": _dec(t.get("last")),
        "bid": _dec(t.get("bid")),
        "ask": _dec(t.get("ask")),
        "change_pct": None if change is None else round(float(change), 3),
        "volume": _dec(t.get("volume")),
    }


@app.command("ticker")
def ticker(
    symbol: Annotated[str | None, typer.Argument(help="Instrument (all when omitted).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Last price, best bid/ask, change since the session's open and volume."""
    with engine_client() as client:
        data = client.get("/api/v1/market-data/ticker", params={"symbol": symbol} if symbol else None)
    if as_json:
        print_json(data)
        return
    rows = [data] if isinstance(data, dict) else data
    print_table([ticker_row(t) for t in rows], title="ticker")


def book_table(book: dict[str, Any], depth: int) -> Any:
    """A Rich table of the book: bids on the left, asks on the right, best prices on the first row."""
    from rich.table import Table

    table = Table(title=f"{book['symbol']} order book", header_style="bold cyan")
    for name, style in (("orders", "dim"), ("bid qty", "green"), ("bid", "bold green")):
        table.add_column(name, justify="right", style=style)
    for name, style in (("ask", "bold red"), ("ask qty", "red"), ("orders", "dim")):
        table.add_column(name, justify="right", style=style)
    bids, asks = book["bids"][:depth], book["asks"][:depth]
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else ["", "", ""]
        a = asks[i] if i < len(asks) else ["", "", ""]
        table.add_row(str(b[2]), str(b[1]), str(b[0]), str(a[0]), str(a[1]), str(a[2]))
    return table


@app.command("book")
def book(
    symbol: Symbol,
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, max=500, help="Levels per side.")] = 10,
    venues: Annotated[
        str | None,
        typer.Option("--venues", metavar="A,B", help="Merge these venues' books, fee-adjusted ('all': every venue)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The venue's L2 book: price, quantity and number of orders per level; with --venues the venues' books merged,
    each level with its venue and its price after that venue's taker fee."""
    if venues is not None:
        from alphintra.cli.routed import CONSOLIDATED, show_consolidated, venue_list

        params: dict[str, Any] = {"symbol": symbol, "depth": depth}
        if venues.strip().lower() != "all":
            params["venues"] = ",".join(venue_list(venues))
        with engine_client() as client:
            data = client.get(CONSOLIDATED, params=params)
        show_consolidated(data, depth, as_json)
        return
    with engine_client() as client:
        data = client.get("/api/v1/market-data/orderbook", params={"symbol": symbol, "depth": depth})
    if as_json:
        print_json(data)
        return
    console.print(book_table(data, depth))


@app.command("ohlcv")
def ohlcv(
    symbol: Symbol,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar size (1m: the live paper bars).")] = "1m",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=5000, help="Newest bars to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Candles: open, high, low, close and volume per bar."""
    with engine_client() as client:
        bars = client.get(
            "/api/v1/market-data/ohlcv", params={"symbol": symbol, "timeframe": timeframe, "limit": limit}
        )
    if as_json:
        print_json(bars)
        return
    rows = [
        {"time": ns_time(b["time"]), **{k: _dec(b[k]) for k in ("open", "high", "low", "close", "volume")}}
        for b in bars
    ]
    print_table(rows, title=f"{symbol} {timeframe}", empty="no bars yet")


@app.command("symbols")
def symbols(as_json: JsonOption = False) -> None:
    """Instruments the engine trades, with tick and lot sizes, minimums and fees."""
    with engine_client() as client:
        data = client.get("/api/v1/market-data/symbols")
    if as_json:
        print_json(data)
        return
    columns = ["symbol", "tick_size", "lot_size", "min_qty", "min_notional", "maker_fee", "taker_fee"]
    print_table([{k: s.get(k) for k in columns} for s in data], columns, title="symbols")


__all__ = ["app", "book_table", "ticker_row"]
