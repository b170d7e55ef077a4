"""Account panels: open orders (cancel and modify by key), positions, balances with the portfolio's totals, fills,
and the engine log."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import RichLog, Static

from alphintra.tui.base import Panel, SyncTable, clock, money, places_for, qty, right, side_text, signed, workstation
from alphintra.tui.models import Order
from alphintra.tui.state import TuiState

LEVEL_STYLES = {"ERROR": "bold red", "CRITICAL": "bold red", "WARNING": "yellow", "INFO": "", "DEBUG": "dim"}


class OpenOrders(Panel):
    """Working orders, newest first; c cancels the highlighted one, m modifies it, ctrl+x cancels them all."""

    KINDS = frozenset({"orders", "symbols"})
    TITLE = "Open orders"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_order", "Cancel"),
        Binding("m", "modify_order", "Modify"),
        Binding("ctrl+x", "cancel_all", "Cancel all"),
    ]

    def compose(self) -> ComposeResult:
        yield SyncTable(
            "Id", "Symbol", "Venue", "Side", "Type", "Qty", "Filled", "Price", "Stop", "TIF", "Status", id="orders"
        )

    @property
    def table(self) -> SyncTable:
        return self.query_one("#orders", SyncTable)

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        orders = state.open_orders()
        self.border_title = f"Open orders ({len(orders)})"
        rows = []
        for o in orders:
            inst = state.instruments.get(o.symbol)
            places = places_for(inst.tick_size) if inst else 2
            rows.append(
                (
                    o.id,
                    (
                        o.id,
                        o.symbol,
                        o.venue or "",
                        side_text(o.side),
                        o.order_type,
                        right(qty(o.quantity)),
                        right(qty(o.filled_quantity)),
                        right(money(o.price, places) if o.price is not None else "MKT"),
                        right(money(o.stop_price, places) if o.stop_price is not None else ""),
                        o.time_in_force,
                        o.status,
                    ),
                )
            )
        self.table.sync(rows)

    def selected(self) -> Order | None:
        key = self.table.selected_key
        return None if key is None else workstation(self).state.orders.get(key)

    def action_cancel_order(self) -> None:
        order = self.selected()
        if order is None:
            self.notify("no order selected", severity="warning")
            return
        app = workstation(self)
        app.act(app.source.cancel_order(order.id), f"cancel requested for {order.id}")

    def action_modify_order(self) -> None:
        order = self.selected()
        if order is None:
            self.notify("no order selected", severity="warning")
            return
        from alphintra.tui.screens.dialogs import ModifyOrderDialog

        app = workstation(self)

        def done(changes: dict[str, str] | None) -> None:
            if changes:
                app.act(app.source.modify_order(order.id, changes), f"{order.id} modified")

        self.app.push_screen(ModifyOrderDialog(order), done)

    def action_cancel_all(self) -> None:
        app = workstation(self)
        app.act(app.source.cancel_all(), "cancel requested for every open order")


class Positions(Panel):
    KINDS = frozenset({"positions", "symbols"})
    TITLE = "Positions"

    def compose(self) -> ComposeResult:
        yield SyncTable("Symbol", "Qty", "Avg", "Mark", "Value", "Unreal. PnL", "Real. PnL", id="positions")

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        rows = []
        for p in state.positions:
            inst = state.instruments.get(p.symbol)
            places = places_for(inst.tick_size) if inst else 2
            rows.append(
                (
                    p.symbol,
                    (
                        Text(p.symbol, style="bold"),
                        right(qty(p.quantity), "green" if p.quantity > 0 else "red"),
                        right(money(p.average_price, places)),
                        right(money(p.mark, places)),
                        right(money(p.market_value)),
                        signed(p.unrealised_pnl),
                        signed(p.realised_pnl),
                    ),
                )
            )
        self.query_one("#positions", SyncTable).sync(rows)


class Balances(Panel):
    """Cash and assets, under the portfolio's equity and PnL."""

    KINDS = frozenset({"balances", "portfolio"})
    TITLE = "Balances"

    def compose(self) -> ComposeResult:
        yield Static(id="portfolio-summary")
        yield SyncTable("Asset", "Total", "Available", "Locked", id="balances")

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        p = state.portfolio
        summary = Text()
        if p is not None:
            summary.append("Equity ", style="dim")
            summary.append(f"{money(p.equity)} {p.currency}", style="bold")
            summary.append("  Cash ", style="dim")
            summary.append(money(p.cash))
            summary.append("\nUnreal. ", style="dim")
            summary.append_text(signed(p.unrealised_pnl))
            summary.append("  Real. ", style="dim")
            summary.append_text(signed(p.realised_pnl))
            summary.append("  Exposure ", style="dim")
            summary.append(money(p.exposure))
        self.query_one("#portfolio-summary", Static).update(summary)
        rows = [
            (b.asset, (Text(b.asset, style="bold"), right(qty(b.total)), right(qty(b.available)), right(qty(b.locked))))
            for b in sorted(state.balances.values(), key=lambda b: b.asset)
        ]
        self.query_one("#balances", SyncTable).sync(rows)


class Fills(Panel):
    KINDS = frozenset({"fills"})
    TITLE = "Fills"

    def compose(self) -> ComposeResult:
        yield SyncTable("Time", "Symbol", "Side", "Qty", "Price", "Fee", "Liq.", "Order", "Strategy", id="fills")

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        rows = []
        for f in reversed(state.fills):
            inst = state.instruments.get(f.symbol)
            places = places_for(inst.tick_size) if inst else 2
            rows.append(
                (
                    f.id,
                    (
                        clock(f.timestamp),
                        f.symbol,
                        side_text(f.side),
                        right(qty(f.quantity)),
                        right(money(f.price, places)),
                        right(money(f.fee, 4)),
                        f.liquidity[:1],
                        f.order_id,
                        f.strategy or "",
                    ),
                )
            )
        self.query_one("#fills", SyncTable).sync(rows)


class EngineLog(Panel):
    """The engine's events and the TUI's own messages (connection changes, order actions), newest last."""

    KINDS = frozenset({"log"})
    TITLE = "Engine log"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown = 0

    def compose(self) -> ComposeResult:
        yield RichLog(id="log", wrap=False, markup=False, max_lines=500)

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        log = self.query_one("#log", RichLog)
        fresh = state.log_total - self._shown
        if fresh <= 0:
            return
        lines = list(state.log)[-min(fresh, len(state.log)) :]
        for line in lines:
            text = Text(f"{clock(line.ts)} ", style="dim")
            text.append(f"{line.level:<7} ", style=LEVEL_STYLES.get(line.level, ""))
            text.append(line.text)
            log.write(text)
        self._shown = state.log_total


class ConnectionBanner(Static):
    """Shown across the top while the daemon is unreachable or read-only (its journal cannot be written), or a live
    exchange venue is not connected."""

    def show(self, state: TuiState) -> None:
        conn = state.connection
        self.display = not conn.connected or bool(conn.read_only) or bool(conn.venues)
        if conn.connected and not conn.read_only and conn.venues:
            self.update(f"⚠ venue {conn.venues} — its orders and fills catch up once the exchange answers")
        elif conn.connected and conn.read_only:
            self.update(f"⚠ engine READ-ONLY — new orders are refused until it can write its journal: {conn.read_only}")
        elif not conn.connected and conn.attempt == 0:
            self.update(f"connecting to the engine{': ' + conn.detail if conn.detail else ''}...")
        elif not conn.connected:
            attempt = f" (attempt {conn.attempt})" if conn.attempt else ""
            detail = f": {conn.detail}" if conn.detail else ""
            self.update(f"⚠ engine connection lost{detail} — reconnecting{attempt}")


__all__ = ["Balances", "ConnectionBanner", "EngineLog", "Fills", "OpenOrders", "Positions"]
