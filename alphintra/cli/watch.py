"""`alphintra watch`: live views of the engine's orders, trades and order books, streamed over WebSocket.

Each view takes a snapshot over REST once the subscription is confirmed (so no update falls between the two),
then applies the stream's updates to a Rich Live table until Ctrl-C, which ends it cleanly (exit 0).
``--json`` prints one JSON line per update instead (for scripts); ``--count N`` stops after N updates. When stdout
is not a terminal (a pipe, a file) a live table cannot redraw, so each update is printed as one line of text.
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import console, info
from alphintra.cli.order import ORDER_COLUMNS, engine_client, order_row

if TYPE_CHECKING:
    from alphintra.daemon.client import EngineClient

app = typer.Typer(help="Live views of orders, trades and books (Ctrl-C to stop).", no_args_is_help=True)

JsonLines = Annotated[bool, typer.Option("--json", help="Print each update as one JSON line instead of a table.")]
Count = Annotated[int | None, typer.Option("--count", min=1, help="Stop after this many updates.")]
Rows = Annotated[int, typer.Option("--rows", "-n", min=1, max=500, help="Rows shown in the table.")]

# How often the stream is polled so that Ctrl-C is seen promptly even when nothing happens.
_POLL_S = 0.25


class _View:
    """What a watch shows: a snapshot taken over REST, updated by each message of the stream."""

    def __init__(
        self,
        snapshot: Callable[[EngineClient], None],
        apply: Callable[[Any], None],
        render: Callable[[], Any],
        line: Callable[[Any], str],
        trim: Callable[[Any], Any] = lambda data: data,
    ) -> None:
        self.snapshot = snapshot
        self.apply = apply
        self.render = render
        self.line = line  # one update as a line of text, for a stdout that is not a terminal
        self.trim = trim  # what of an update the options ask to see (watch book -d)


def _run(topic: str, view: _View, as_json: bool, count: int | None) -> None:
    from rich.live import Live

    seen = 0
    with engine_client() as client, client.subscribe(topic) as stream:
        # The first message confirms the subscription: from now on every update reaches us.
        first = stream.recv(timeout=10)
        if first is None:
            return
        lines = not as_json and not console.is_terminal
        if not as_json and not lines:
            view.snapshot(client)
        info(f"watching {topic} (Ctrl-C to stop)")
        live = None if as_json or lines else Live(view.render(), console=console, auto_refresh=False, transient=False)
        try:
            if live is not None:
                live.start(refresh=True)
            while count is None or seen < count:
                try:
                    message = stream.recv(timeout=_POLL_S)
                except TimeoutError:
                    continue
                if message is None:  # the engine ended the stream (it is stopping)
                    info("the engine closed the stream")
                    break
                seen += 1
                if as_json:
                    typer.echo(json.dumps(view.trim(message.data), separators=(",", ":")))
                    continue
                if lines:
                    typer.echo(view.line(view.trim(message.data)))
                    continue
                view.apply(message.data)
                assert live is not None
                live.update(view.render(), refresh=True)
        except KeyboardInterrupt:
            pass
        finally:
            if live is not None:
                live.stop()


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    from alphintra.cli.common import cell

    table = Table(title=title, header_style="bold cyan")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(cell(row.get(col)) for col in columns))
    return table


def _line(row: dict[str, Any], columns: list[str]) -> str:
    """A table row as one line of text: ``column=value`` pairs, so that a pipe can grep it."""
    from alphintra.cli.common import cell

    return "  ".join(f"{col}={cell(row.get(col))}" for col in columns if row.get(col) is not None)


def _guard(fn: Callable[[], None]) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C while connecting or taking the snapshot: a clean end
        fn()


@app.command("orders")
def orders(
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this instrument.")] = None,
    rows: Rows = 20,
    as_json: JsonLines = False,
    count: Count = None,
) -> None:
    """Order updates as they happen: the latest state of each recent order."""
    latest: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def snapshot(client: EngineClient) -> None:
        params: dict[str, Any] = {"limit": rows}
        if symbol is not None:
            params["symbol"] = symbol
        for order in reversed(client.get("/api/v1/orders", params=params)):
            latest[order["id"]] = order

    def apply(order: dict[str, Any]) -> None:
        if symbol is not None and order.get("symbol") != symbol:
            return
        latest.pop(order["id"], None)
        latest[order["id"]] = order
        while len(latest) > rows:
            latest.popitem(last=False)

    def render() -> Any:
        shown = [order_row(o) for o in reversed(latest.values())]
        return _table("orders (newest first)", [*ORDER_COLUMNS, "updated"], shown)

    def line(order: dict[str, Any]) -> str:
        return _line(order_row(order), [*ORDER_COLUMNS, "updated"])

    _guard(lambda: _run("orders/updates", _View(snapshot, apply, render, line), as_json, count))


@app.command("trades")
def trades(
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this instrument.")] = None,
    rows: Rows = 20,
    as_json: JsonLines = False,
    count: Count = None,
) -> None:
    """Fills as they happen, newest first."""
    from alphintra.cli.trades import TRADE_COLUMNS, trade_row

    recent: list[dict[str, Any]] = []

    def snapshot(client: EngineClient) -> None:
        params: dict[str, Any] = {"limit": rows}
        if symbol is not None:
            params["symbol"] = symbol
        recent.extend(client.get("/api/v1/trades", params=params))

    def apply(trade: dict[str, Any]) -> None:
        if symbol is not None and trade.get("symbol") != symbol:
            return
        recent.insert(0, trade)
        del recent[rows:]

    def render() -> Any:
        return _table("trades (newest first)", TRADE_COLUMNS, [trade_row(t) for t in recent])

    def line(trade: dict[str, Any]) -> str:
        return _line(trade_row(trade), TRADE_COLUMNS)

    _guard(lambda: _run("trades/updates", _View(snapshot, apply, render, line), as_json, count))


@app.command("book")
def book(
    symbol: Annotated[str, typer.Argument(help="Instrument, e.g. BTC/USD.")],
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, max=20, help="Levels per side.")] = 10,
    as_json: JsonLines = False,
    count: Count = None,
) -> None:
    """The instrument's order book, redrawn on every market update."""
    from alphintra.cli.market import book_table

    current: dict[str, Any] = {"symbol": symbol, "bids": [], "asks": []}

    def snapshot(client: EngineClient) -> None:
        current.update(client.get("/api/v1/market-data/orderbook", params={"symbol": symbol, "depth": depth}))

    def apply(data: dict[str, Any]) -> None:
        current.update(data)

    def render() -> Any:
        return book_table(current, depth)

    def trim(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "bids": (data.get("bids") or [])[:depth], "asks": (data.get("asks") or [])[:depth]}

    def line(data: dict[str, Any]) -> str:
        from alphintra.cli.common import ns_time

        def side(levels: list[list[Any]]) -> str:
            return " ".join(f"{qty}@{price}" for price, qty, *_ in levels) or "-"

        when = ns_time(data.get("ts")) or "-"
        return f"{when}  {symbol}  bids {side(data.get('bids') or [])}  |  asks {side(data.get('asks') or [])}"

    view = _View(snapshot, apply, render, line, trim)
    _guard(lambda: _run(f"market-data/orderbook/{symbol}", view, as_json, count))


__all__ = ["app"]
