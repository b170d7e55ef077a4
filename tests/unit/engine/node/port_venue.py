"""A venue that implements only the port (``alphintra.engine.venue.base``), as an exchange adapter would.

It keeps its own orders, fills and balances across the node's restarts, charges its own fee (in the quote, or
in the base asset for buys with ``fee_in_base``), and trades when the test moves its market (:meth:`trade`):
market orders and marketable limits take at the last price, resting limits fill at their price when the market
reaches them. ``down`` makes every command raise ``VenueUnavailable`` (``lands`` decides whether it acted first)
and drops every report, as a lost connection does; with ``asynchronous`` the missing answer is reported through
``venue_unknown`` (as an adapter that sends commands from its own thread does) instead of raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from alphintra.engine.core.enums import LiquiditySide, OrderSide, RejectReason, TimeInForce
from alphintra.engine.venue.base import (
    VenueBalances,
    VenueCapabilities,
    VenueFill,
    VenueOrder,
    VenueOrderState,
    VenueUnavailable,
)

BUY, MAKER, TAKER = OrderSide.BUY, LiquiditySide.MAKER, LiquiditySide.TAKER


@dataclass
class _Order:
    o: VenueOrder
    leaves: Decimal
    status: str = "open"
    reason: str = ""


class PortVenue:
    def __init__(self, assets: dict[str, tuple[str, str]], now: Any, fee_rate: str = "0.001", name: str = "TEST"):
        self.name, self.assets, self.now, self.fee_rate = name, assets, now, Decimal(fee_rate)
        self.capabilities = VenueCapabilities(fee_model="venue", keeps_state=True)
        self.fee_in_base = False
        self.down = self.lands = False
        self.asynchronous = False  # no answer is reported through venue_unknown instead of raised
        self.orders: dict[str, _Order] = {}
        self.trades: list[VenueFill] = []
        self.held: dict[str, dict[str, Decimal]] = {}
        self.last: dict[str, Decimal] = {}
        self.sent: list[str] = []  # every key submitted (a re-send shows up twice)
        self.listener: Any = None

    def bind(self, listener: Any) -> None:
        self.listener = listener

    def fund(self, account: str, asset: str, amount: str) -> None:
        book = self.held.setdefault(account, {})
        book[asset] = book.get(asset, Decimal(0)) + Decimal(amount)

    def _tell(self, method: str, *args: Any) -> None:
        if not self.down and self.listener is not None:
            getattr(self.listener, method)(*args)

    def _no_answer(self, key: str, command: str, message: str) -> None:
        """A command got no answer: raised at once, or (``asynchronous``, as an adapter with its own I/O thread
        does) reported to the node later through ``venue_unknown``."""
        if not self.asynchronous:
            raise VenueUnavailable(message)
        self.listener.venue_unknown(key, command, message)

    def _command(self, key: str, command: str) -> bool:
        """Whether a command acts; no answer (after acting, when it ``lands``) while the connection is down."""
        if self.down and not self.lands:
            self._no_answer(key, command, "no answer from the test venue")
            return False
        return True

    def submit(self, order: VenueOrder) -> None:
        if not self._command(order.key, "submit"):
            return
        self.sent.append(order.key)
        self.orders[order.key] = w = _Order(order, order.quantity)
        last = self.last.get(order.symbol)
        marketable = order.price is None or (
            last is not None and (last <= order.price if order.side is BUY else last >= order.price)
        )
        if marketable and order.post_only:
            self._close(w, "post-only would trade")
            self._tell("venue_rejected", order.key, RejectReason.POST_ONLY_WOULD_TRADE, "would trade", self.now())
            return
        self._tell("venue_accepted", order.key, self.now(), "V-" + order.key)
        if marketable and last is not None:
            self._fill(w, last, TAKER)
        if w.status == "open" and (order.price is None or order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)):
            self._close(w, "IOC remainder")
            self._tell("venue_canceled", order.key, "IOC remainder", self.now())
        if self.down:
            self._no_answer(order.key, "submit", "the answer was lost")

    def cancel(self, key: str) -> None:
        if not self._command(key, "cancel"):
            return
        w = self.orders.get(key)
        if w is None or w.status != "open":
            self._tell("venue_cancel_rejected", key, "not working", self.now())
        else:
            self._close(w, "canceled")
            self._tell("venue_canceled", key, "canceled", self.now())
        if self.down:
            self._no_answer(key, "cancel", "the answer was lost")

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None:
        w = self.orders[key]
        w.leaves = w.leaves if leaves is None else leaves
        if price is not None:
            w.o = VenueOrder(key, w.o.account, w.o.symbol, w.o.side, w.o.quantity, price, w.o.time_in_force)

    def defer(self, action: Any) -> bool:
        return False

    def trade(self, symbol: str, price: str) -> None:
        """The market trades at ``price``: resting limits it reaches fill at their price."""
        px = self.last[symbol] = Decimal(price)
        for w in [w for w in self.orders.values() if w.o.symbol == symbol and w.status == "open"]:
            assert w.o.price is not None
            if (px <= w.o.price) if w.o.side is BUY else (px >= w.o.price):
                self._fill(w, w.o.price, MAKER)

    def _fill(self, w: _Order, price: Decimal, liquidity: LiquiditySide) -> None:
        o, qty = w.o, w.leaves
        base, quote = self.assets[o.symbol]
        in_base = self.fee_in_base and o.side is BUY
        fee = (qty if in_base else qty * price) * self.fee_rate
        sign = 1 if o.side is BUY else -1
        self.fund(o.account, base, str(sign * qty - (fee if in_base else 0)))
        self.fund(o.account, quote, str(-sign * qty * price - (0 if in_base else fee)))
        w.leaves = Decimal(0)
        self._close(w, "filled")
        fill = VenueFill(
            o.key, f"T{len(self.trades) + 1}", qty, price, liquidity, self.now(), "V-" + o.key, fee,
            base if in_base else quote, o.symbol, o.side, o.account,
        )  # fmt: skip
        self.trades.append(fill)
        self._tell("venue_filled", fill)

    def _close(self, w: _Order, reason: str) -> None:
        w.status, w.reason = "closed", reason

    def _state(self, w: _Order) -> VenueOrderState:
        o = w.o
        filled = sum((f.quantity for f in self.trades if f.key == o.key), Decimal(0))
        return VenueOrderState(
            o.key, o.account, o.symbol, o.side, filled + w.leaves if w.status == "open" else o.quantity, filled,
            "open" if w.status == "open" else "closed", o.price, "V-" + o.key, w.reason,
        )  # fmt: skip

    def _query(self) -> None:
        if self.down:
            raise VenueUnavailable("no answer from the test venue")

    def open_orders(self) -> list[VenueOrderState]:
        self._query()
        return [self._state(w) for w in self.orders.values() if w.status == "open"]

    def fills(self, since_ns: int) -> list[VenueFill]:
        self._query()
        return [f for f in self.trades if f.ts >= since_ns]

    def order_status(self, key: str) -> VenueOrderState | None:
        self._query()
        w = self.orders.get(key)
        return None if w is None else self._state(w)

    def balances(self) -> list[VenueBalances]:
        self._query()
        return [VenueBalances(a, dict(b)) for a, b in self.held.items()]
