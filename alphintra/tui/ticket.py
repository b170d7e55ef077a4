"""The order ticket's rules: what the form holds, whether the venue would take it, and what it would cost.

Pure functions over ``Decimal`` so that every keystroke can re-check the form at once and the same rules are
tested without a terminal. The daemon checks again (it is the authority); this only saves the trader a round
trip and shows notional, fee and buying power before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from alphintra.tui.models import Balance, Instrument, Ticker

SIDES = ("BUY", "SELL")
ORDER_TYPES = ("LIMIT", "MARKET", "STOP", "STOP_LIMIT")
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
NEEDS_PRICE = frozenset({"LIMIT", "STOP_LIMIT"})
NEEDS_STOP = frozenset({"STOP", "STOP_LIMIT"})


@dataclass(frozen=True, slots=True)
class Ticket:
    """The form's raw text, as typed."""

    symbol: str
    side: str = "BUY"
    order_type: str = "LIMIT"
    quantity: str = ""
    price: str = ""
    stop_price: str = ""
    time_in_force: str = "GTC"
    take_profit: str = ""
    stop_loss: str = ""


@dataclass(frozen=True, slots=True)
class Preview:
    notional: Decimal
    fee: Decimal
    fee_rate: Decimal
    buying_power: Decimal
    buying_power_after: Decimal
    reference_price: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking a ticket: errors by field name, and the preview when there are none."""

    errors: dict[str, str] = field(default_factory=dict)
    preview: Preview | None = None
    payload: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.payload is not None


def _parse(text: str) -> Decimal | None:
    text = text.strip().replace("_", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite():
        raise ValueError("not a number")
    return value


def _on_grid(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (what the form shows and sends)."""
    return format(value.normalize(), "f")


def _price_rules(name: str, raw: str, inst: Instrument, errors: dict[str, str], *, required: bool) -> Decimal | None:
    try:
        value = _parse(raw)
    except ValueError:
        errors[name] = "not a number"
        return None
    if value is None:
        if required:
            errors[name] = "required"
        return None
    if value <= 0:
        errors[name] = "must be > 0"
    elif not _on_grid(value, inst.tick_size):
        errors[name] = f"must be a multiple of tick {_plain(inst.tick_size)}"
    return value


def reference_price(
    ticket: Ticket, price: Decimal | None, stop: Decimal | None, ticker: Ticker | None
) -> Decimal | None:
    """The price the order would trade at: its limit, else its stop, else the side of the book it would take."""
    if ticket.order_type in NEEDS_PRICE and price is not None:
        return price
    if ticket.order_type in NEEDS_STOP and stop is not None:
        return stop
    if ticker is None:
        return None
    touch = ticker.ask if ticket.side == "BUY" else ticker.bid
    return touch if touch is not None else ticker.last


def _is_taker(ticket: Ticket, price: Decimal | None, ticker: Ticker | None) -> bool:
    """Market and stop orders take liquidity; a limit does when it crosses the touch."""
    if ticket.order_type != "LIMIT":
        return True
    if price is None or ticker is None:
        return False
    if ticket.side == "BUY":
        return ticker.ask is not None and price >= ticker.ask
    return ticker.bid is not None and price <= ticker.bid


def _available(balances: dict[str, Balance], asset: str) -> Decimal:
    balance = balances.get(asset)
    return balance.available if balance is not None else Decimal(0)


def check_ticket(
    ticket: Ticket,
    inst: Instrument | None,
    ticker: Ticker | None,
    balances: dict[str, Balance],
) -> Checked:
    """Every rule of the form at once, so the trader sees all problems together, plus the preview when valid."""
    errors: dict[str, str] = {}
    if inst is None:
        return Checked({"symbol": f"unknown symbol {ticket.symbol!r}"})
    if ticket.side not in SIDES:
        errors["side"] = "must be BUY or SELL"
    if ticket.order_type not in ORDER_TYPES:
        errors["order_type"] = f"must be one of {', '.join(ORDER_TYPES)}"
    if ticket.time_in_force not in TIME_IN_FORCE:
        errors["time_in_force"] = f"must be one of {', '.join(TIME_IN_FORCE)}"

    quantity: Decimal | None = None
    try:
        quantity = _parse(ticket.quantity)
    except ValueError:
        errors["quantity"] = "not a number"
    else:
        if quantity is None:
            errors["quantity"] = "required"
        elif quantity <= 0:
            errors["quantity"] = "must be > 0"
        elif not _on_grid(quantity, inst.lot_size):
            errors["quantity"] = f"must be a multiple of lot {_plain(inst.lot_size)}"
        elif quantity < inst.min_qty:
            errors["quantity"] = f"below the minimum quantity {_plain(inst.min_qty)}"

    price = _price_rules("price", ticket.price, inst, errors, required=ticket.order_type in NEEDS_PRICE)
    if ticket.order_type not in NEEDS_PRICE and price is not None and "price" not in errors:
        errors["price"] = f"a {ticket.order_type} order takes no limit price"
    stop = _price_rules("stop_price", ticket.stop_price, inst, errors, required=ticket.order_type in NEEDS_STOP)
    if ticket.order_type not in NEEDS_STOP and stop is not None and "stop_price" not in errors:
        errors["stop_price"] = f"a {ticket.order_type} order takes no stop price"
    take_profit = _price_rules("take_profit", ticket.take_profit, inst, errors, required=False)
    stop_loss = _price_rules("stop_loss", ticket.stop_loss, inst, errors, required=False)

    ref = reference_price(ticket, price, stop, ticker)
    if ref is not None and ticket.side in SIDES:
        # The exits of a bracket sit on the profitable and the losing side of the entry respectively.
        sign = 1 if ticket.side == "BUY" else -1
        if take_profit is not None and "take_profit" not in errors and sign * (take_profit - ref) <= 0:
            errors["take_profit"] = f"must be {'above' if sign > 0 else 'below'} the entry {_plain(ref)}"
        if stop_loss is not None and "stop_loss" not in errors and sign * (ref - stop_loss) <= 0:
            errors["stop_loss"] = f"must be {'below' if sign > 0 else 'above'} the entry {_plain(ref)}"

    if quantity is None or "quantity" in errors or ref is None:
        if ref is None and "quantity" not in errors and not errors:
            errors["price"] = "no market price yet; enter a limit price"
        return Checked(errors)

    notional = quantity * ref
    if notional < inst.min_notional:
        errors["quantity"] = f"notional {_plain(notional)} below the minimum {_plain(inst.min_notional)}"
    rate = inst.taker_fee if _is_taker(ticket, price, ticker) else inst.maker_fee
    fee = notional * rate
    quote = inst.quote or "USD"
    power = _available(balances, quote)
    if ticket.side == "BUY":
        after = power - notional - fee
        if after < 0:
            errors["quantity"] = f"needs {_plain(notional + fee)} {quote}; {_plain(power)} available"
    else:
        # Whether the account may sell more than it holds depends on its mode (spot or margin), which only the
        # daemon knows; it has the last word.
        after = power + notional - fee
    preview = Preview(notional, fee, rate, power, after, ref, quote)
    if errors:
        return Checked(errors, preview)
    return Checked({}, preview, _payload(ticket, quantity, price, stop, take_profit, stop_loss))


def _payload(
    ticket: Ticket,
    quantity: Decimal,
    price: Decimal | None,
    stop: Decimal | None,
    take_profit: Decimal | None,
    stop_loss: Decimal | None,
) -> dict[str, Any]:
    """The OrderCreate body of docs/api.md; decimals go as strings so nothing is rounded on the way."""
    body: dict[str, Any] = {
        "symbol": ticket.symbol,
        "side": ticket.side,
        "type": ticket.order_type,
        "quantity": _plain(quantity),
        "time_in_force": ticket.time_in_force,
    }
    if price is not None:
        body["price"] = _plain(price)
    if stop is not None:
        body["stop_price"] = _plain(stop)
    if take_profit is not None:
        body["take_profit"] = _plain(take_profit)
    if stop_loss is not None:
        body["stop_loss"] = _plain(stop_loss)
    return body


__all__ = [
    "NEEDS_PRICE",
    "NEEDS_STOP",
    "ORDER_TYPES",
    "SIDES",
    "TIME_IN_FORCE",
    "Checked",
    "Preview",
    "Ticket",
    "check_ticket",
    "reference_price",
]
