"""The port every venue implements, and the records that cross it.

The trading node knows a venue only through :class:`Venue` and the :class:`VenueCapabilities` it declares. A
venue executes *native* orders (market and limit with the time-in-force and flags it declares); everything else
(stops, trailing stops, icebergs, OCO, brackets, GTD, TWAP/VWAP) is emulated above it by the node, so it behaves
the same on the simulated venue and on an exchange. Venues answer through a :class:`VenueListener` on the node's
thread; ``key`` is the node's client order id for the venue order (an order id, or ``<order id>/<n>`` for a
slice).

What drives a venue in time (bars, liquidity, latency) is not part of the port: a simulated venue has its own
driver (:mod:`alphintra.engine.venue.sim_driver`); an exchange is driven by the exchange.

Reconciliation (:mod:`alphintra.engine._node_reconcile`) asks a venue what it holds: its open orders, its fills
since a time, one order's state by client order id, and its balances. A command that got no answer raises
:class:`VenueUnavailable`: the node then does not know whether it reached the venue and asks instead of re-sending.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from alphintra.engine.core.enums import LiquiditySide, OrderSide, OrderType, RejectReason, TimeInForce
from alphintra.engine.core.errors import RetryableError
from alphintra.engine.core.frozen import quick_init


class VenueUnavailable(RetryableError):
    """A command got no answer (timeout, dropped connection, 5xx): the venue may or may not have acted on it."""


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue does natively; the node emulates the rest or refuses what it cannot emulate.

    ``fee_model``: ``"instrument"`` when fills carry no fee and the node charges the instrument's maker/taker
    schedule, ``"venue"`` when the venue reports the fee it charged (amount and asset). ``keeps_state``: the venue
    keeps its orders across a restart of the node (every exchange); a venue that loses its book (the paper
    simulator) says False, and a restart sends the working orders again instead of asking for them.
    ``market_collar_bps``: a market order may walk the book this far from the best price (funds are locked up to
    it); None when a market order fills at the reference price (a bar fill model).
    """

    order_types: frozenset[OrderType] = frozenset({OrderType.MARKET, OrderType.LIMIT})
    time_in_force: frozenset[TimeInForce] = frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK})
    post_only: bool = True
    modify: bool = True
    reduce_only: bool = False
    fee_model: Literal["instrument", "venue"] = "instrument"
    keeps_state: bool = True
    market_collar_bps: Decimal | None = None


@quick_init
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


@quick_init
@dataclass(frozen=True, slots=True)
class VenueFill:
    """One trade as the venue reports it. ``fee`` None: the venue reports no fee (the node charges its schedule);
    otherwise the amount charged in ``fee_asset`` (negative: a rebate). ``symbol``/``side``/``account`` let the
    node adopt a fill of an order it does not know (placed outside Alphintra)."""

    key: str
    trade_id: str
    quantity: Decimal
    price: Decimal
    liquidity: LiquiditySide
    ts: int
    venue_order_id: str | None = None
    fee: Decimal | None = None
    fee_asset: str | None = None
    symbol: str | None = None
    side: OrderSide | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True)
class VenueOrderState:
    """An order as the venue holds it (``open_orders``, ``order_status``). ``status``: ``open`` or ``closed``
    (filled, canceled, expired or rejected at the venue); ``filled`` counts every fill so far."""

    key: str
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    filled: Decimal
    status: Literal["open", "closed"]
    price: Decimal | None = None
    venue_order_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VenueBalances:
    """An account's balances at the venue, asset -> total."""

    account: str
    totals: Mapping[str, Decimal] = field(default_factory=dict)


class VenueListener(Protocol):
    def venue_accepted(self, key: str, ts: int, venue_order_id: str | None = None) -> None: ...

    def venue_filled(self, fill: VenueFill) -> None: ...

    def venue_canceled(self, key: str, reason: str, ts: int) -> None: ...

    def venue_rejected(self, key: str, reason: RejectReason, message: str, ts: int) -> None: ...

    def venue_cancel_rejected(self, key: str, message: str, ts: int) -> None:
        """A cancel arrived after the order stopped working (it filled first)."""
        ...

    def venue_unknown(self, key: str, command: Literal["submit", "cancel"], message: str) -> None:
        """A command the venue sent on asynchronously got no answer (what :class:`VenueUnavailable` says of a
        synchronous one): the node asks the venue for ``key`` instead of sending it again."""
        ...


class Venue(Protocol):
    name: str
    capabilities: VenueCapabilities

    def bind(self, listener: VenueListener) -> None: ...

    def submit(self, order: VenueOrder) -> None:
        """Send a native order; raises :class:`VenueUnavailable` when the outcome is unknown."""
        ...

    def cancel(self, key: str) -> None: ...

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None: ...

    def defer(self, action: Callable[[], None]) -> bool:
        """If a command sent now reaches the venue later (latency, a match being reported), run ``action`` at that
        point and return True; otherwise return False without running it (the command would act at once)."""
        ...

    # -- what the venue holds (reconciliation) --------------------------------------------------------------

    def open_orders(self) -> list[VenueOrderState]: ...

    def fills(self, since_ns: int) -> list[VenueFill]: ...

    def order_status(self, key: str) -> VenueOrderState | None:
        """The order with client order id ``key``, or None when the venue never received it."""
        ...

    def balances(self) -> list[VenueBalances] | None:
        """Each account's balances, or None when the venue keeps none (a simulator settles in the node's ledger)."""
        ...


@runtime_checkable
class TradeIdCounter(Protocol):
    """An optional part of the port: a venue that numbers its own trade ids from a counter (the simulator).

    The node tells it every trade id a replay books (:meth:`trade_id_issued`), and a snapshot keeps its counter
    (:attr:`trade_seq`, put back by :meth:`restore_trade_seq`), so that an id is never issued twice in the life of a
    home. An exchange issues its own ids and implements none of this.
    """

    @property
    def trade_seq(self) -> int:
        """The number of the last trade id issued."""
        ...

    def trade_id_issued(self, trade_id: str) -> None:
        """``trade_id`` was issued before: later ids continue after it (ids not of this venue are ignored)."""
        ...

    def restore_trade_seq(self, seq: int) -> None:
        """Continue after ``seq`` (never goes back)."""
        ...
