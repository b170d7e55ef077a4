"""The port every venue implements, and the records that cross it.

A venue only knows *native* orders: market and limit with GTC/IOC/FOK and post-only. Everything else (stops,
trailing stops, icebergs, OCO, brackets, GTD, TWAP/VWAP) is emulated above it by the trading node, so it behaves
the same on the simulated venue and on an exchange. Venues answer through a :class:`VenueListener` on the
node's thread; ``key`` is the node's id for the venue order (an order id, or ``<order id>/<n>`` for a slice).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from alphintra.engine.core.enums import LiquiditySide, OrderSide, RejectReason, TimeInForce


@dataclass(frozen=True, slots=True)
class VenueOrder:
    key: str
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal | None = None  # None: a market order
    time_in_force: TimeInForce = TimeInForce.GTC  # GTD is emulated: the venue sees GTC
    post_only: bool = False
    # A stop that triggered inside a bar fills at this price on the simulated venue (see fill model docs).
    trigger_price: Decimal | None = None

    @property
    def is_market(self) -> bool:
        return self.price is None


class VenueListener(Protocol):
    def venue_accepted(self, key: str, ts: int) -> None: ...

    def venue_filled(
        self, key: str, qty: Decimal, price: Decimal, liquidity: LiquiditySide, trade_id: str, ts: int
    ) -> None: ...

    def venue_canceled(self, key: str, reason: str, ts: int) -> None: ...

    def venue_rejected(self, key: str, reason: RejectReason, message: str, ts: int) -> None: ...

    def venue_cancel_rejected(self, key: str, message: str, ts: int) -> None:
        """A cancel arrived after the order stopped working (it filled first)."""
        ...


class Venue(Protocol):
    name: str

    def bind(self, listener: VenueListener) -> None: ...

    def submit(self, order: VenueOrder) -> None: ...

    def cancel(self, key: str) -> None: ...

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None: ...
