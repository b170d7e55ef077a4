"""The Order: an immutable-looking record whose only mutator is ``apply(event)``.

State machine (``TRANSITIONS`` is the single source of truth; anything not listed raises ``InvalidTransition``)::

    NEW -> PENDING_SUBMIT -> ACCEPTED -> [TRIGGERED] -> PARTIALLY_FILLED -> FILLED
    any working status -> PENDING_CANCEL -> CANCELED   (or back to working on OrderCancelRejected)
    NEW / PENDING_SUBMIT / TRIGGERED -> REJECTED;  working statuses -> EXPIRED

Self-loops are the events that do not change the status: a modification (``OrderUpdated``) of a working order and
a partial fill of an order that is already partially filled (or whose cancel is pending). ``apply`` checks the
event completely before it touches anything, so a refused event leaves the order exactly as it was.

``average_price`` is the VWAP of the fills: ``filled_notional`` is kept exactly and the quotient is computed with
34 significant digits (exact whenever it has a finite expansion within them), so a replay gives the same value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar

from alphintra.engine.core.enums import (
    TERMINAL_STATUSES,
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TrailingOffsetType,
)
from alphintra.engine.core.errors import InvalidTransition, ValidationError
from alphintra.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    event_from_dict,
)
from alphintra.engine.core.frozen import quick_init, slot_setters

S = OrderStatus
_WORKING = (S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED)

TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        # before the venue: submit, refuse, drop, or modify an order still held locally
        (S.NEW, S.NEW),
        (S.NEW, S.PENDING_SUBMIT),
        (S.NEW, S.REJECTED),
        (S.NEW, S.CANCELED),
        (S.NEW, S.EXPIRED),
        # the venue's answer; an IOC/market order may be filled or canceled without an explicit accept
        (S.PENDING_SUBMIT, S.ACCEPTED),
        (S.PENDING_SUBMIT, S.REJECTED),
        (S.PENDING_SUBMIT, S.PARTIALLY_FILLED),
        (S.PENDING_SUBMIT, S.FILLED),
        (S.PENDING_SUBMIT, S.CANCELED),
        # working
        (S.ACCEPTED, S.ACCEPTED),
        (S.ACCEPTED, S.TRIGGERED),
        (S.ACCEPTED, S.PARTIALLY_FILLED),
        (S.ACCEPTED, S.FILLED),
        (S.ACCEPTED, S.PENDING_CANCEL),
        (S.ACCEPTED, S.CANCELED),
        (S.ACCEPTED, S.EXPIRED),
        (S.TRIGGERED, S.TRIGGERED),
        (S.TRIGGERED, S.PARTIALLY_FILLED),
        (S.TRIGGERED, S.FILLED),
        (S.TRIGGERED, S.PENDING_CANCEL),
        (S.TRIGGERED, S.CANCELED),
        (S.TRIGGERED, S.EXPIRED),
        (S.TRIGGERED, S.REJECTED),  # a triggered stop-limit the venue refuses
        (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (S.PARTIALLY_FILLED, S.FILLED),
        (S.PARTIALLY_FILLED, S.PENDING_CANCEL),
        (S.PARTIALLY_FILLED, S.CANCELED),
        (S.PARTIALLY_FILLED, S.EXPIRED),
        # a cancel in flight: it may still fill, expire, or be refused (back to working)
        (S.PENDING_CANCEL, S.PENDING_CANCEL),
        (S.PENDING_CANCEL, S.FILLED),
        (S.PENDING_CANCEL, S.CANCELED),
        (S.PENDING_CANCEL, S.EXPIRED),
        (S.PENDING_CANCEL, S.ACCEPTED),
        (S.PENDING_CANCEL, S.TRIGGERED),
        (S.PENDING_CANCEL, S.PARTIALLY_FILLED),
    }
)

_AVG = Context(prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_EXACT = Context(prec=64, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_ZERO = Decimal(0)
_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.ICEBERG})
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})

E = TypeVar("E", bound=OrderEvent)


@quick_init
@dataclass(frozen=True, slots=True, eq=True)
class Order:
    """An order and everything that happened to it. Create with ``Order.create`` / ``Order.replay``."""

    id: str
    account: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    trailing_offset: Decimal | None
    trailing_offset_type: TrailingOffsetType | None
    display_quantity: Decimal | None
    post_only: bool
    reduce_only: bool
    time_in_force: TimeInForce
    expires_at: int | None
    client_order_id: str | None
    strategy: str | None
    parent_order_id: str | None
    contingency_type: ContingencyType
    linked_order_ids: tuple[str, ...]
    tags: tuple[str, ...]
    created_at: int
    # -- state, changed only by apply() --
    status: OrderStatus = S.NEW
    updated_at: int = 0
    filled_quantity: Decimal = _ZERO
    filled_notional: Decimal = _ZERO
    average_price: Decimal | None = None
    fees: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    trade_ids: tuple[str, ...] = ()
    venue_order_id: str | None = None
    triggered_price: Decimal | None = None
    reject_reason: RejectReason | None = None
    status_message: str = ""
    status_before_cancel: OrderStatus | None = None
    events: tuple[OrderEvent, ...] = ()

    __hash__ = None  # type: ignore[assignment]  # mutable through apply(): compare by value, never hash

    # -- construction ----------------------------------------------------------------------------------------

    @classmethod
    def create(cls, init: OrderInitialized) -> Order:
        """A NEW order with the terms of ``init`` (terms are checked against the instrument by ``validation``)."""
        if not isinstance(init, OrderInitialized):
            raise TypeError("an order starts from an OrderInitialized event")
        return cls(
            id=init.order_id,
            account=init.account,
            symbol=init.symbol,
            side=init.side,
            order_type=init.order_type,
            quantity=init.quantity,
            price=init.price,
            stop_price=init.stop_price,
            trailing_offset=init.trailing_offset,
            trailing_offset_type=init.trailing_offset_type,
            display_quantity=init.display_quantity,
            post_only=init.post_only,
            reduce_only=init.reduce_only,
            time_in_force=init.time_in_force,
            expires_at=init.expires_at,
            client_order_id=init.client_order_id,
            strategy=init.strategy,
            parent_order_id=init.parent_order_id,
            contingency_type=init.contingency_type,
            linked_order_ids=init.linked_order_ids,
            tags=init.tags,
            created_at=init.ts,
            updated_at=init.ts,
            events=(init,),
        )

    @classmethod
    def replay(cls, events: Iterable[OrderEvent]) -> Order:
        """Rebuild an order from its journal: the first event must be its ``OrderInitialized``."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, OrderInitialized):
            raise ValidationError("events", "must start with OrderInitialized", type(first).__name__)
        order = cls.create(first)
        for event in iterator:
            order.apply(event)
        return order

    # -- derived views ---------------------------------------------------------------------------------------

    @property
    def leaves_quantity(self) -> Decimal:
        """What is still to be filled (zero once the order is terminal only if it was filled)."""
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES  # asked several times per event: one lookup, not two properties

    @property
    def is_buy(self) -> bool:
        return self.side is OrderSide.BUY

    @property
    def last_event(self) -> OrderEvent:
        return self.events[-1]

    # -- the one mutator -------------------------------------------------------------------------------------

    def apply(self, event: E) -> E:
        """Fold ``event`` into the order and return it; raises ``InvalidTransition`` (changing nothing) if illegal."""
        kind = type(event)
        status = self.status
        if event.order_id != self.id:
            raise InvalidTransition(self.id, kind.__name__, status, None, f"the event is for order {event.order_id!r}")
        if status in TERMINAL_STATUSES:
            raise InvalidTransition(self.id, kind.__name__, status, None, "the order is already terminal")
        handler = _HANDLERS.get(kind)
        if handler is None:
            why = "the order is already initialized" if isinstance(event, OrderInitialized) else "unknown event type"
            raise InvalidTransition(self.id, kind.__name__, status, None, why)
        changes = handler(self, event)
        target = changes["status"]
        if target is status and kind not in _SELF_LOOP_EVENTS:
            raise InvalidTransition(self.id, kind.__name__, status, target, f"the order is already {target}")
        if (status, target) not in TRANSITIONS:
            raise InvalidTransition(self.id, kind.__name__, status, target, "not in the transition table")
        changes["updated_at"] = event.ts
        changes["events"] = (*self.events, event)
        setters = _SETTERS
        for key, value in changes.items():
            setters[key](self, value)
        return event

    def to_dict(self, number: Callable[[Decimal], str] = str) -> dict[str, Any]:
        """A JSON-ready snapshot, Decimals written by ``number`` (the API passes its plain-decimal writer); not used
        for replay."""
        out: dict[str, Any] = {}
        for key in _SNAPSHOT_FIELDS:
            value = getattr(self, key)
            if isinstance(value, Decimal):
                value = number(value)
            elif isinstance(value, Enum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        out["fees"] = {asset: number(amount) for asset, amount in self.fees.items()}
        out["leaves_quantity"] = number(self.leaves_quantity)
        return out

    def to_state(self) -> dict[str, Any]:
        """The order for a journal snapshot: its events (the order is their fold, so nothing else is needed)."""
        return {"events": [event.to_dict() for event in self.events]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Order:
        """The order of :meth:`to_state`, folded again from its events (the same checks as a journal replay)."""
        return cls.replay(event_from_dict(e) for e in state["events"])

    def _fail(self, event: OrderEvent, why: str, target: OrderStatus | None = None) -> InvalidTransition:
        return InvalidTransition(self.id, type(event).__name__, self.status, target, why)


_SETTERS = slot_setters(Order)
_SNAPSHOT_FIELDS = tuple(name for name in Order.__dataclass_fields__ if name not in ("events", "fees"))


# -- per-event rules: each returns the changes (always including the target status) or raises -------------------


def _on_submitted(order: Order, event: OrderSubmitted) -> dict[str, Any]:
    return {"status": S.PENDING_SUBMIT}


def _on_accepted(order: Order, event: OrderAccepted) -> dict[str, Any]:
    if order.status is not S.PENDING_SUBMIT:
        # PENDING_CANCEL -> ACCEPTED exists for a refused cancel, not for a late accept.
        raise order._fail(event, "only a submitted order can be accepted", S.ACCEPTED)
    changes: dict[str, Any] = {"status": S.ACCEPTED}
    if event.venue_order_id is not None:
        changes["venue_order_id"] = event.venue_order_id
    return changes


def _on_rejected(order: Order, event: OrderRejected) -> dict[str, Any]:
    return {"status": S.REJECTED, "reject_reason": event.reason, "status_message": event.message}


def _on_triggered(order: Order, event: OrderTriggered) -> dict[str, Any]:
    if order.order_type not in _STOPS:
        raise order._fail(event, f"a {order.order_type} order has no trigger", S.TRIGGERED)
    if order.status is not S.ACCEPTED:
        raise order._fail(event, "only an accepted, untriggered order can trigger", S.TRIGGERED)
    return {"status": S.TRIGGERED, "triggered_price": event.trigger_price}


def _on_updated(order: Order, event: OrderUpdated) -> dict[str, Any]:
    if order.status is S.PENDING_CANCEL:
        raise order._fail(event, "a cancel is pending", order.status)
    changes: dict[str, Any] = {"status": order.status}
    if event.quantity is None and event.price is None and event.stop_price is None and event.venue_key is None:
        raise order._fail(event, "the update changes nothing", order.status)
    if event.quantity is not None:
        if event.quantity <= order.filled_quantity:
            raise order._fail(event, f"quantity {event.quantity} must exceed filled {order.filled_quantity}")
        changes["quantity"] = event.quantity
    if event.price is not None:
        if order.order_type not in _PRICED:
            raise order._fail(event, f"a {order.order_type} order has no limit price")
        if event.price <= 0:
            raise order._fail(event, f"price {event.price} must be > 0")
        changes["price"] = event.price
    if event.stop_price is not None:
        if order.order_type not in _STOPS:
            raise order._fail(event, f"a {order.order_type} order has no stop price")
        if order.status is S.TRIGGERED:
            raise order._fail(event, "the stop has already triggered")
        if event.stop_price <= 0:
            raise order._fail(event, f"stop_price {event.stop_price} must be > 0")
        changes["stop_price"] = event.stop_price
    return changes


def _on_pending_cancel(order: Order, event: OrderPendingCancel) -> dict[str, Any]:
    return {"status": S.PENDING_CANCEL, "status_before_cancel": order.status}


def _on_cancel_rejected(order: Order, event: OrderCancelRejected) -> dict[str, Any]:
    if order.status is not S.PENDING_CANCEL or order.status_before_cancel is None:
        raise order._fail(event, "no cancel is pending")
    back = order.status_before_cancel
    if order.filled_quantity > 0 and back in (S.ACCEPTED, S.TRIGGERED):
        back = S.PARTIALLY_FILLED  # it filled while the cancel was in flight
    return {"status": back, "status_before_cancel": None, "status_message": event.message}


def _on_canceled(order: Order, event: OrderCanceled) -> dict[str, Any]:
    return {"status": S.CANCELED, "status_message": event.reason}


def _on_expired(order: Order, event: OrderExpired) -> dict[str, Any]:
    return {"status": S.EXPIRED}


def _on_filled(order: Order, event: OrderFilled) -> dict[str, Any]:
    if (event.account, event.symbol, event.side) != (order.account, order.symbol, order.side):
        raise order._fail(event, "the fill's account, symbol or side differ from the order's")
    if event.last_qty <= 0:
        raise order._fail(event, f"last_qty {event.last_qty} must be > 0")
    if event.last_px <= 0:
        raise order._fail(event, f"last_px {event.last_px} must be > 0")
    if event.trade_id in order.trade_ids:
        raise order._fail(event, f"trade {event.trade_id!r} was already applied")
    filled = _EXACT.add(order.filled_quantity, event.last_qty)
    if filled > order.quantity:
        raise order._fail(event, f"fill of {event.last_qty} would overfill ({filled} > {order.quantity})")
    notional = _EXACT.add(order.filled_notional, _EXACT.multiply(event.last_qty, event.last_px))
    fees = dict(order.fees)
    fees[event.fee_asset] = _EXACT.add(fees.get(event.fee_asset, _ZERO), event.fee)
    if filled == order.quantity:
        status = S.FILLED
    elif order.status is S.PENDING_CANCEL:
        status = S.PENDING_CANCEL
    else:
        status = S.PARTIALLY_FILLED
    return {
        "status": status,
        "filled_quantity": filled,
        "filled_notional": notional,
        "average_price": _AVG.divide(notional, filled),
        "fees": MappingProxyType(fees),
        "trade_ids": (*order.trade_ids, event.trade_id),
    }


# Events that may leave the status unchanged: a modification, and a fill that does not complete the order.
_SELF_LOOP_EVENTS = frozenset({OrderUpdated, OrderFilled})

_HANDLERS: dict[type[OrderEvent], Callable[[Order, Any], dict[str, Any]]] = {
    OrderSubmitted: _on_submitted,
    OrderAccepted: _on_accepted,
    OrderRejected: _on_rejected,
    OrderTriggered: _on_triggered,
    OrderUpdated: _on_updated,
    OrderPendingCancel: _on_pending_cancel,
    OrderCancelRejected: _on_cancel_rejected,
    OrderCanceled: _on_canceled,
    OrderExpired: _on_expired,
    OrderFilled: _on_filled,
}

__all__ = ["TRANSITIONS", "Order"]
