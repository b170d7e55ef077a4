"""Modal dialogs: confirm an order, modify one, edit a strategy's parameters, give a reason for a halt."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from alphintra.tui.base import money, qty
from alphintra.tui.models import Order, Strategy
from alphintra.tui.ticket import Preview


class ConfirmOrderDialog(ModalScreen[bool]):
    """The ticket as it will be sent, with its cost; y or Enter sends it, n or Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Send"),
        Binding("enter", "answer(True)", "Send", show=False),
        Binding("n", "answer(False)", "Back"),
        Binding("escape", "answer(False)", "Back", show=False),
    ]

    def __init__(self, payload: dict[str, Any], preview: Preview) -> None:
        super().__init__()
        self.payload = payload
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.payload
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        side_style = "bold green" if p["side"] == "BUY" else "bold red"
        table.add_row("Order", Text(f"{p['side']} {p['quantity']} {p['symbol']}", style=side_style))
        table.add_row("Type", f"{p['type']} {p['time_in_force']}")
        for key, label in (
            ("price", "Limit"),
            ("stop_price", "Stop"),
            ("take_profit", "Take-profit"),
            ("stop_loss", "Stop-loss"),
        ):
            if key in p:
                table.add_row(label, p[key])
        v = self.preview
        table.add_row("Notional", f"{money(v.notional)} {v.currency}")
        table.add_row("Fee", f"{money(v.fee)} {v.currency}")
        table.add_row("Buying power", f"{money(v.buying_power)} → {money(v.buying_power_after)}")
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Send this order?", classes="dialog-title")
            yield Static(table)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send (y)", variant="success", id="yes", compact=True)
                yield Button("Back (n)", id="no", compact=True)

    def action_answer(self, ok: bool) -> None:
        self.dismiss(ok)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def _decimal_or_none(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text} must be a positive number")
    return value


class ModifyOrderDialog(ModalScreen[dict[str, str] | None]):
    """New quantity and/or price of a working order; unchanged fields are not sent."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back")]

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order

    def compose(self) -> ComposeResult:
        o = self.order
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Modify {o.id} ({o.side} {qty(o.quantity)} {o.symbol})", classes="dialog-title")
            yield Label("Quantity")
            yield Input(value=qty(o.quantity), id="mod-qty", compact=True)
            if o.price is not None:
                yield Label("Price")
                yield Input(value=qty(o.price), id="mod-price", compact=True)
            if o.stop_price is not None:
                yield Label("Stop")
                yield Input(value=qty(o.stop_price), id="mod-stop", compact=True)
            yield Static(id="mod-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", variant="primary", id="apply", compact=True)
                yield Button("Back", id="back", compact=True)

    def _changes(self) -> dict[str, str]:
        o = self.order
        changes: dict[str, str] = {}
        for wid, name, old in (
            ("mod-qty", "quantity", o.quantity),
            ("mod-price", "price", o.price),
            ("mod-stop", "stop_price", o.stop_price),
        ):
            found = self.query(f"#{wid}")
            if not found:
                continue
            value = _decimal_or_none(found.first(Input).value)
            if value is not None and value != old:
                changes[name] = format(value.normalize(), "f")
        return changes

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        try:
            changes = self._changes()
        except ValueError as exc:
            self.query_one("#mod-error", Static).update(str(exc))
            return
        self.dismiss(changes or None)

    @on(Button.Pressed, "#back")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ParamsDialog(ModalScreen[dict[str, Any] | None]):
    """A strategy's parameters as JSON; the daemon validates them against the strategy's schema."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back")]

    def __init__(self, strategy: Strategy) -> None:
        super().__init__()
        self.strategy = strategy

    def compose(self) -> ComposeResult:
        s = self.strategy
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Parameters of {s.name} ({s.strategy})", classes="dialog-title")
            yield Input(value=json.dumps(dict(s.params), sort_keys=True, default=str), id="params", compact=True)
            yield Static(id="params-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Back", id="back", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        text = self.query_one("#params", Input).value
        try:
            params = json.loads(text)
        except ValueError as exc:
            self.query_one("#params-error", Static).update(f"not JSON: {exc}")
            return
        if not isinstance(params, dict):
            self.query_one("#params-error", Static).update("parameters must be a JSON object")
            return
        self.dismiss(params)

    @on(Button.Pressed, "#back")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonDialog(ModalScreen[str | None]):
    """A one-line reason, kept with the change in the daemon's history."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back")]

    def __init__(self, title: str, prompt: str) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(placeholder=self.prompt, id="reason", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="warning", id="ok", compact=True)
                yield Button("Back", id="back", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if reason:
            self.dismiss(reason)
        else:
            self.notify("a reason is required", severity="warning")

    @on(Button.Pressed, "#back")
    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["ConfirmOrderDialog", "ModifyOrderDialog", "ParamsDialog", "ReasonDialog"]
