"""Market panels: the watchlist, the depth ladder of the selected symbol, and its price chart."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static

from alphintra.tui.base import Panel, SyncTable, money, places_for, qty, right, signed, workstation
from alphintra.tui.chart import Mark, Point, render_chart
from alphintra.tui.state import TuiState

TIMEFRAMES = ("1m", "5m", "15m", "1h", "1d")


class Watchlist(Panel):
    """Last, change and volume of every symbol; type to filter, Enter selects."""

    KINDS = frozenset({"ticker", "symbols", "symbol"})
    TITLE = "Watchlist"

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search symbol", id="watch-search", compact=True)
        yield SyncTable("Symbol", "Last", "Chg %", "Volume", id="watch-table")

    @property
    def table(self) -> SyncTable:
        return self.query_one("#watch-table", SyncTable)

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        needle = self.query_one("#watch-search", Input).value.strip().upper()
        rows = []
        for name in state.symbols:
            if needle and needle not in name.upper():
                continue
            ticker = state.tickers.get(name)
            inst = state.instruments.get(name)
            places = places_for(inst.tick_size) if inst else 2
            mark = Text(name, style="bold")
            if ticker is None:
                rows.append((name, (mark, right("-"), right("-"), right("-"))))
                continue
            rows.append(
                (
                    name,
                    (
                        mark,
                        right(money(ticker.last, places)),
                        signed(ticker.change_pct, 2, "%"),
                        right(f"{ticker.volume:,.0f}" if ticker.volume >= 100 else qty(ticker.volume)),
                    ),
                )
            )
        table = self.table
        table.sync(rows)
        # Keep the cursor on the selected symbol, wherever it moved to in the (filtered) list.
        keys = table.keys
        if symbol in keys and table.selected_key != symbol:
            table.move_cursor(row=keys.index(symbol), animate=False)

    @on(Input.Changed, "#watch-search")
    def _filter(self) -> None:
        app = workstation(self)
        self.refresh_state(app.state, app.symbol)

    @on(Input.Submitted, "#watch-search")
    def _pick_first(self) -> None:
        keys = self.table.keys
        if keys:
            workstation(self).select_symbol(keys[0])

    @on(DataTable.RowSelected, "#watch-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        workstation(self).select_symbol(str(event.row_key.value))


class BookLadder(Panel):
    """Asks above, bids below, with a depth bar per level and the spread between them."""

    KINDS = frozenset({"book", "symbol", "orders", "connection"})
    TITLE = "Order book"
    DEFAULT_CSS = "BookLadder { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Static(id="book-body")

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        book = state.books.get(symbol)
        merged = book is not None and bool(book.bid_venues or book.ask_venues)
        # A live exchange's book: its venue and whether the feed is connected (a stale ladder must say so).
        home = None if book is None else book.venue
        live = state.connection.venue_state(home)
        title = f"Order book {symbol}"
        if merged:
            title += " · all venues, after taker fees"
        elif live is not None:
            title += f" · {home} {live}"
        self.border_title = title
        body = self.query_one("#book-body", Static)
        if book is None:
            body.update(Text("waiting for the book...", style="dim"))
            return
        inst = state.instruments.get(symbol)
        places = places_for(inst.tick_size) if inst else 2
        levels = max(1, (self.size.height - 4) // 2)
        asks = list(book.asks[:levels])[::-1]
        bids = list(book.bids[:levels])
        ask_venues = list(book.ask_venues[:levels])[::-1]
        biggest = max((q for _, q, _ in asks + bids), default=Decimal(1)) or Decimal(1)
        mine = {o.price for o in state.open_orders(symbol) if o.price is not None}
        bar_w = max(4, self.size.width - 28)
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(justify="right", no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(no_wrap=True, ratio=1)
        if merged:  # the venue of each level of a consolidated book
            table.add_column(no_wrap=True)

        def venue(names: list[str] | tuple[str, ...], i: int) -> tuple[Text, ...]:
            return (Text(names[i] if i < len(names) else "", style="cyan"),) if merged else ()

        for i, (price, size, _) in enumerate(asks):
            table.add_row(*self._row(price, size, biggest, bar_w, places, "red", price in mine), *venue(ask_venues, i))
        spread = book.spread
        gap = Text(f"spread {money(spread, places)}" if spread is not None else "", style="dim")
        table.add_row(gap, "", "", *(("",) if merged else ()))
        for i, (price, size, _) in enumerate(bids):
            table.add_row(
                *self._row(price, size, biggest, bar_w, places, "green", price in mine), *venue(book.bid_venues, i)
            )
        body.update(table)

    def on_resize(self, event: Resize) -> None:
        app = workstation(self)
        self.refresh_state(app.state, app.symbol)

    @staticmethod
    def _row(
        price: Decimal, size: Decimal, biggest: Decimal, width: int, places: int, style: str, mine: bool
    ) -> tuple[Text, Text, Text]:
        filled = max(1, int(width * float(size / biggest)))
        price_text = Text(money(price, places), style=f"bold {style}" + (" reverse" if mine else ""))
        return price_text, Text(qty(size)), Text("▇" * filled, style=f"{style} dim")


class PriceChart(Panel):
    """Candles or a line for the selected symbol and timeframe, with the trader's orders (lines) and fills."""

    KINDS = frozenset({"candles", "symbol", "orders", "fills", "timeframe"})
    TITLE = "Chart"
    mode: reactive[str] = reactive("candles")

    def compose(self) -> ComposeResult:
        yield Static(id="chart-body")

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        timeframe = workstation(self).timeframe
        self.border_title = f"{symbol} {timeframe} · {self.mode}"
        self.border_subtitle = "f timeframe · v candles/line"
        candles = state.candles.get((symbol, timeframe), [])
        inst = state.instruments.get(symbol)
        places = places_for(inst.tick_size) if inst else 2
        marks = [
            Mark(o.price, "B " if o.side == "BUY" else "S ", "green" if o.side == "BUY" else "red")
            for o in state.open_orders(symbol)
            if o.price is not None
        ]
        points = [
            Point(
                f.timestamp, f.price, "▲" if f.side == "BUY" else "▼", "bold green" if f.side == "BUY" else "bold red"
            )
            for f in state.fills_for(symbol)
        ]
        width, height = self.size.width - 2, self.size.height - 2
        body = self.query_one("#chart-body", Static)
        body.update(
            render_chart(
                candles,
                width,
                height,
                mode=self.mode,
                marks=marks,
                points=points,
                decimals=places,
                empty=f"no {timeframe} bars for {symbol}",
            )
        )

    def watch_mode(self) -> None:
        if self.is_mounted:
            app = workstation(self)
            self.refresh_state(app.state, app.symbol)

    def on_resize(self, event: Resize) -> None:
        app = workstation(self)
        self.refresh_state(app.state, app.symbol)


__all__ = ["TIMEFRAMES", "BookLadder", "PriceChart", "Watchlist"]
