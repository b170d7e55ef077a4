"""Small helpers the built-in strategies share: exact prices and quantities from float signals, and bar alignment
for strategies that need every symbol's bar of the same instant (pairs, arbitrage, portfolio)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from alphintra.engine.core.enums import OrderStatus
from alphintra.strategies.base import BarData, Strategy

if TYPE_CHECKING:
    from alphintra.engine.core.instrument import Instrument
    from alphintra.engine.core.orders import Order


def dec(value: float) -> Decimal:
    """A float signal as the Decimal it prints as (``repr`` is the shortest exact round trip, not 0.1000000001)."""
    return Decimal(repr(value))


def instrument(strategy: Strategy, symbol: str) -> Instrument:
    return strategy.ctx.node.instruments.get(symbol)


def price_on_grid(
    strategy: Strategy, symbol: str, value: Decimal | float, rounding: Literal["nearest", "up", "down"] = "nearest"
) -> Decimal:
    """``value`` snapped to the instrument's tick (``up``/``down`` keep a stop or quote on the safe side)."""
    raw = value if isinstance(value, Decimal) else dec(value)
    return instrument(strategy, symbol).round_price(raw, rounding)


def available(strategy: Strategy, asset: str, symbol: str | None = None) -> Decimal:
    """What the strategy's account (the account ``symbol`` trades in, on several venues) holds of ``asset`` that no
    working order has locked."""
    return strategy.ctx.available(asset, symbol)


def market_buy_lock(strategy: Strategy, symbol: str, price: Decimal) -> Decimal:
    """The price per unit a market buy of ``symbol`` expected at ``price`` locks: the node locks it at the last
    price, beyond the venue's protective collar in a spot account (``engine/_node_funds.reservation_price``), so a
    buy sized at ``price`` alone can be refused for funds it does hold."""
    ctx = strategy.ctx
    last = ctx.price(symbol) or price
    collar = ctx.node.venue_for(symbol).capabilities.market_collar_bps
    if collar is None or ctx.can_short():
        return max(price, last)
    return max(price, instrument(strategy, symbol).round_price(last * (1 + collar / 10_000), "up"))


def qty_for_notional(strategy: Strategy, symbol: str, notional: Decimal, price: Decimal) -> Decimal:
    """Whole lots worth at most ``notional`` at ``price`` (zero when even one lot costs more)."""
    if price <= 0:
        return Decimal(0)
    return instrument(strategy, symbol).round_qty(notional / price, "down")


class WorkingOrders:
    """The orders a strategy placed that are still working.

    Kept by the strategy itself: asking the node means scanning every order it ever saw, which makes a long run
    that trades every bar quadratic. The node updates each order in place, so a finished one is simply dropped.
    """

    def __init__(self) -> None:
        self._orders: list[Order] = []

    def add(self, order: Order | None) -> Order | None:
        if order is not None and not order.is_terminal:
            self._orders.append(order)
        return order

    def working(self, symbol: str | None = None) -> list[Order]:
        self._orders = [o for o in self._orders if not o.is_terminal]
        return [o for o in self._orders if symbol is None or o.symbol == symbol]

    def cancel(self, strategy: Strategy, symbol: str | None = None) -> None:
        for order in self.working(symbol):
            if order.status is not OrderStatus.PENDING_CANCEL:
                strategy.cancel(order.id)


def cancel_if_open(strategy: Strategy, order: Order | None) -> None:
    """Cancel ``order`` unless it already finished (a stop that just triggered and filled, for example)."""
    if order is not None and not order.is_terminal:
        strategy.cancel(order.id)


class BarSync:
    """Collects the bars of several symbols and reports each instant once every symbol has a bar for it.

    The backtester delivers the bars of one instant symbol after symbol; a strategy that compares symbols must
    wait for the last of them, or it would compare this instant's price of one with the previous of another.
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = list(symbols)
        self.closes: dict[str, float] = {}
        self._ts: dict[str, int] = {}
        self._done_ts: int | None = None

    def update(self, bar: BarData) -> dict[str, float] | None:
        """Feed one bar; returns the closes of all symbols when this bar completes an instant, else ``None``."""
        self.closes[bar.symbol] = bar.close
        self._ts[bar.symbol] = bar.ts
        if self._done_ts == bar.ts or len(self._ts) < len(self.symbols):
            return None
        if any(self._ts.get(s) != bar.ts for s in self.symbols):
            return None
        self._done_ts = bar.ts
        return {s: self.closes[s] for s in self.symbols}


__all__ = [
    "BarSync",
    "WorkingOrders",
    "available",
    "cancel_if_open",
    "dec",
    "instrument",
    "market_buy_lock",
    "price_on_grid",
    "qty_for_notional",
]
