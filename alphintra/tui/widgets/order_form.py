"""The order ticket: side, type, quantity, price, stop, time in force and a take-profit / stop-loss bracket.

Every keystroke re-checks the ticket against the instrument's tick, lot and minimum notional
(``alphintra.tui.ticket``) and previews notional, fee and buying power after the order. Review (Enter or ctrl+s)
opens a confirmation; only a confirmed ticket is sent.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Button, Input, Label, Select, Static

from alphintra.tui.base import Panel, money, places_for, workstation
from alphintra.tui.models import Order
from alphintra.tui.state import TuiState
from alphintra.tui.ticket import ORDER_TYPES, SIDES, TIME_IN_FORCE, Checked, Ticket, check_ticket

INPUTS = {
    "quantity": "of-qty",
    "price": "of-price",
    "stop_price": "of-stop",
    "take_profit": "of-tp",
    "stop_loss": "of-sl",
}
SELECTS = {"side": "of-side", "order_type": "of-type", "time_in_force": "of-tif"}


class OrderForm(Panel):
    KINDS = frozenset({"symbol", "ticker", "balances", "symbols"})
    TITLE = "Order entry"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checked = Checked()

    def compose(self) -> ComposeResult:
        with Grid(id="of-grid"):
            yield Label("Side")
            yield Select([(s, s) for s in SIDES], value="BUY", allow_blank=False, compact=True, id="of-side")
            yield Label("Type")
            yield Select([(t, t) for t in ORDER_TYPES], value="LIMIT", allow_blank=False, compact=True, id="of-type")
            yield Label("Qty")
            yield Input(placeholder="quantity", compact=True, id="of-qty")
            yield Label("Price")
            yield Input(placeholder="limit price", compact=True, id="of-price")
            yield Label("Stop")
            yield Input(placeholder="stop price", compact=True, id="of-stop")
            yield Label("TIF")
            yield Select([(t, t) for t in TIME_IN_FORCE], value="GTC", allow_blank=False, compact=True, id="of-tif")
            yield Label("TP")
            yield Input(placeholder="take-profit (optional)", compact=True, id="of-tp")
            yield Label("SL")
            yield Input(placeholder="stop-loss (optional)", compact=True, id="of-sl")
        yield Static(id="of-preview")
        yield Static(id="of-errors")
        yield Button("Review order", id="of-submit", variant="primary", compact=True)

    # -- reading the form ------------------------------------------------------------------------------------------

    def ticket(self) -> Ticket:
        values: dict[str, str] = {name: self.query_one(f"#{wid}", Input).value for name, wid in INPUTS.items()}
        for name, wid in SELECTS.items():
            values[name] = str(self.query_one(f"#{wid}", Select).value)
        return Ticket(symbol=workstation(self).symbol, **values)

    def fill(self, **values: str) -> None:
        """Set fields by name (used by the command palette and tests); the form re-checks itself."""
        for name, value in values.items():
            if name in INPUTS:
                self.query_one(f"#{INPUTS[name]}", Input).value = value
            elif name in SELECTS:
                self.query_one(f"#{SELECTS[name]}", Select).value = value
            else:
                raise KeyError(name)
        self.recheck()

    # -- checking --------------------------------------------------------------------------------------------------

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        self.border_title = f"Order entry · {symbol}" if symbol else "Order entry"
        self.recheck()

    def recheck(self) -> None:
        app = workstation(self)
        state = app.state
        ticket = self.ticket()
        inst = state.instruments.get(ticket.symbol)
        self.checked = check_ticket(ticket, inst, state.tickers.get(ticket.symbol), state.balances)
        typing = {name for name, wid in INPUTS.items() if self.query_one(f"#{wid}", Input).value.strip()}
        for name, wid in INPUTS.items():
            self.query_one(f"#{wid}", Input).set_class(name in self.checked.errors and name in typing, "-invalid")
        self.query_one("#of-price", Input).disabled = ticket.order_type not in ("LIMIT", "STOP_LIMIT")
        self.query_one("#of-stop", Input).disabled = ticket.order_type not in ("STOP", "STOP_LIMIT")

        preview = self.checked.preview
        text = Text()
        if inst is not None:
            text.append(f"tick {inst.tick_size.normalize()}  lot {inst.lot_size.normalize()}", style="dim")
            text.append(f"  min {money(inst.min_notional)}\n", style="dim")
        if preview is not None:
            places = places_for(inst.tick_size) if inst else 2
            text.append("Notional ", style="dim")
            text.append(f"{money(preview.notional)} {preview.currency}", style="bold")
            text.append(f"  @ {money(preview.reference_price, places)}\n", style="dim")
            text.append("Fee ", style="dim")
            text.append(f"{money(preview.fee)} ({preview.fee_rate * 100:.2f}%)\n")
            text.append("Buying power ", style="dim")
            after_style = "bold red" if preview.buying_power_after < 0 else "bold"
            text.append(f"{money(preview.buying_power)} → ")
            text.append(money(preview.buying_power_after), style=after_style)
        self.query_one("#of-preview", Static).update(text)

        # Errors of fields not typed into yet would only nag; show them once the trader has started on the ticket.
        shown = {k: v for k, v in self.checked.errors.items() if typing or k not in ("quantity", "price")}
        errors = Text("\n".join(f"✗ {k.replace('_', ' ')}: {v}" for k, v in shown.items()), style="red")
        self.query_one("#of-errors", Static).update(errors)

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        if self.is_mounted:
            self.recheck()

    # -- sending ---------------------------------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#of-submit")
    def _submit(self) -> None:
        self.action_review()

    def action_review(self) -> None:
        self.recheck()
        if not self.checked.ok or self.checked.payload is None or self.checked.preview is None:
            first = next(iter(self.checked.errors.items()), ("ticket", "incomplete"))
            self.notify(f"{first[0].replace('_', ' ')}: {first[1]}", title="Order not valid", severity="error")
            if first[0] in INPUTS:
                self.query_one(f"#{INPUTS[first[0]]}", Input).focus()
            return
        from alphintra.tui.screens.dialogs import ConfirmOrderDialog

        payload, preview = self.checked.payload, self.checked.preview
        app = workstation(self)

        def confirmed(ok: bool | None) -> None:
            if ok:
                app.act(app.source.place_order(payload), _placed)

        self.app.push_screen(ConfirmOrderDialog(payload, preview), confirmed)


def _placed(order: Order) -> str:
    return f"{order.id} {order.side} {order.quantity.normalize()} {order.symbol}: {order.status}"


__all__ = ["OrderForm"]
