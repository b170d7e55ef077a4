"""Trade: pick a symbol, watch its book and chart, enter orders, manage the working ones."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical

from alphintra.tui.base import workstation
from alphintra.tui.screens.workspace import WorkspaceScreen
from alphintra.tui.widgets.account import OpenOrders
from alphintra.tui.widgets.market import TIMEFRAMES, BookLadder, PriceChart, Watchlist
from alphintra.tui.widgets.order_form import OrderForm


class TradeScreen(WorkspaceScreen):
    NAME = "Trade"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "next_timeframe", "Timeframe"),
        Binding("v", "toggle_chart", "Candles/line"),
        Binding("o", "focus_form", "Order entry"),
        Binding("ctrl+s", "review", "Review order"),
    ]

    def body(self) -> ComposeResult:
        with Horizontal(id="trade"):
            with Vertical(id="trade-left"):
                yield Watchlist(id="trade-watch")
                yield BookLadder(id="trade-book")
            with Vertical(id="trade-center"):
                yield PriceChart(id="trade-chart")
                yield OpenOrders(id="trade-orders")
            yield OrderForm(id="trade-form")

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        workstation(self).load_candles()

    def action_next_timeframe(self) -> None:
        app = workstation(self)
        i = TIMEFRAMES.index(app.timeframe) if app.timeframe in TIMEFRAMES else -1
        app.timeframe = TIMEFRAMES[(i + 1) % len(TIMEFRAMES)]

    def action_toggle_chart(self) -> None:
        chart = self.query_one(PriceChart)
        chart.mode = "line" if chart.mode == "candles" else "candles"

    def action_review(self) -> None:
        self.query_one(OrderForm).action_review()

    def action_focus_form(self) -> None:
        self.query_one("#of-qty").focus()


__all__ = ["TradeScreen"]
