"""Order events: immutable, past-tense facts. An order is the fold of its events (see ``Order.apply``).

Every event serialises to a flat, JSON-ready dict ``{"type": <class name>, "v": <schema version>, ...fields}``
with Decimals as strings and enums as their values, and ``event_from_dict`` reads it back into an equal event.
The journal stores these dicts; replaying them onto fresh orders rebuilds the orders exactly.

The codec is the journal's one typed-record codec (:mod:`alphintra.engine.core.codec`), shared with the risk
records and the node's own records. Schema evolution: a change to an event's fields registers the event at the
next version (``CODEC.register(cls, version=...)``) and an upgrader for the old one (``register_upgrader``), so
journals written by older versions still replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from alphintra.engine.core.codec import RecordCodec
from alphintra.engine.core.enums import (
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderType,
    RejectReason,
    TimeInForce,
    TrailingOffsetType,
)
from alphintra.engine.core.frozen import quick_init

EVENT_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Base of every order event: which order, and when (int nanoseconds since the epoch, UTC)."""

    order_id: str
    ts: int

    def to_dict(self) -> dict[str, Any]:
        return event_to_dict(self)


@dataclass(frozen=True, slots=True)
class OrderInitialized(OrderEvent):
    """The order came into existence with these terms (status NEW). Always the first event of an order."""

    account: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    display_quantity: Decimal | None = None
    post_only: bool = False
    reduce_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None
    client_order_id: str | None = None
    strategy: str | None = None
    parent_order_id: str | None = None
    contingency_type: ContingencyType = ContingencyType.NONE
    linked_order_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderSubmitted(OrderEvent):
    """Sent towards the venue (or the emulator); the answer is pending."""


@dataclass(frozen=True, slots=True)
class OrderAccepted(OrderEvent):
    """The venue took the order; ``venue_order_id`` is its own id for it, when it has one."""

    venue_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRejected(OrderEvent):
    reason: RejectReason
    message: str = ""


@dataclass(frozen=True, slots=True)
class OrderTriggered(OrderEvent):
    """A stop, stop-limit or trailing stop reached its trigger and now works as a market or limit order."""

    trigger_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderUpdated(OrderEvent):
    """The working order was modified; ``None`` leaves that term unchanged. ``venue_key``: the modification was a
    cancel-replace (a venue that cannot amend) and the order now works at the venue under this new key."""

    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    venue_key: str | None = None


@dataclass(frozen=True, slots=True)
class OrderPendingCancel(OrderEvent):
    """A cancel request is on its way to the venue."""


@dataclass(frozen=True, slots=True)
class OrderCancelRejected(OrderEvent):
    """The venue refused the cancel (it usually filled first); the order goes back to working."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class OrderCanceled(OrderEvent):
    """No longer working; ``reason`` says why when it was not the user (IOC remainder, SELF_TRADE, OCO ...)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderExpired(OrderEvent):
    """A GTD order reached ``expires_at``."""


@dataclass(frozen=True, slots=True)
class OrderFilled(OrderEvent):
    """One execution. ``account``/``symbol``/``side`` repeat the order's so that a fill is a self-contained trade
    record for the ledger and the trades table (``Order.apply`` checks they match)."""

    trade_id: str
    account: str
    symbol: str
    side: OrderSide
    last_qty: Decimal
    last_px: Decimal
    fee: Decimal
    fee_asset: str
    liquidity_side: LiquiditySide


# -- serialisation ---------------------------------------------------------------------------------------------

E = TypeVar("E", bound=OrderEvent)

CODEC: RecordCodec[OrderEvent] = RecordCodec("order event", version=EVENT_SCHEMA_VERSION)
EVENT_TYPES: Mapping[str, type[OrderEvent]] = CODEC.types


def register_event(cls: type[E]) -> type[E]:
    """Make an event class (de)serialisable under its class name. Field types must be ones the codec knows."""
    CODEC.register(cls)
    return cls


register_upgrader = CODEC.register_upgrader
# Every event the engine applies is journaled through here, and replay reads every one back: bound once.
event_to_dict: Callable[[OrderEvent], dict[str, Any]] = CODEC.to_dict
event_from_dict: Callable[[Mapping[str, Any]], OrderEvent] = CODEC.from_dict


for _cls in (
    OrderInitialized,
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
    OrderPendingCancel,
    OrderCancelRejected,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
):
    register_event(quick_init(_cls))  # built four or more times per order: see quick_init

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "EVENT_TYPES",
    "OrderAccepted",
    "OrderCancelRejected",
    "OrderCanceled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderInitialized",
    "OrderPendingCancel",
    "OrderRejected",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderUpdated",
    "event_from_dict",
    "event_to_dict",
    "register_event",
    "register_upgrader",
]
