"""Modify by cancel-replace, for a venue that cannot amend a working order (``capabilities.modify`` False: Binance
spot through ccxt, or the simulator configured so).

The order keeps its identity: one order, its history one ``OrderUpdated`` event more. What changes is its key at
the venue (the exchange's client order id): the original is canceled there, and once the venue confirms the
cancel the replacement goes out under a new key, ``<order id>/m<n>``, carried by the ``OrderUpdated`` event that
applies the new terms -- journaled in the same batch the replacement is sent from, so a restart knows the order by
its new key (:func:`alphintra.engine.emulator.replaced_key`). An iceberg's replacement is simply its next slice,
on the new terms, under the slice's own key.

Funds: a modification that needs more than the order holds locks the larger amount at once (the original may
still fill on its old terms until the cancel lands, so the lock covers both) and is refused, with nothing sent,
when the account cannot fund it; the lock is set to the new terms exactly when the replacement is sent.

The race: the original may fill while its cancel is on the way.

- It filled completely: the venue refuses the cancel; the order is FILLED by its own fills on its old terms,
  its history holds no ``OrderUpdated``, and the log names the venue's answer.
- It filled in part: the replacement is sent for what is left of the new quantity; if nothing is left, the order
  ends CANCELED with a reason naming the fills that came first.

Not covered: a crash between the cancel and the replacement leaves the order canceled at the venue, which the
restart's reconciliation books as a cancel (the user modifies a canceled order: place it again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from alphintra.engine import _node_reconcile
from alphintra.engine._node_funds import reserve_and_record
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.engine.core.errors import ConflictError, ValidationError
from alphintra.engine.core.events import OrderCanceled, OrderUpdated

if TYPE_CHECKING:
    from alphintra.engine.core.instrument import Instrument
    from alphintra.engine.core.orders import Order
    from alphintra.engine.node import TradingNode

_log = logging.getLogger("alphintra.engine.node")


@dataclass(frozen=True, slots=True)
class Replacement:
    """A modification waiting for the venue to confirm the cancel of ``old_key``."""

    old_key: str
    quantity: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None


def start(
    node: TradingNode,
    order: Order,
    inst: Instrument,
    key: str,
    qty: Decimal | None,
    px: Decimal | None,
    stop: Decimal | None,
) -> None:
    """Begin the cancel-replace of ``order`` (working at the venue under ``key``); raises, sending nothing, when
    it cannot be done."""
    if order.id in node.replacing:
        raise ConflictError(f"order {order.id} is being replaced at the venue (an earlier modify); try again")
    if stop is not None and order.status is OrderStatus.TRIGGERED:
        # refused now: once the original is canceled the update could no longer be applied
        raise ConflictError(f"order {order.id} has triggered; its stop price can no longer change")
    res = node.ledger.reservation(order.id)
    if res is not None:
        new_leaves = (qty if qty is not None else order.quantity) - order.filled_quantity
        new_price = px if px is not None else res.price
        both_qty = max(new_leaves, res.remaining)
        both_px = new_price if res.price is None or new_price is None else max(new_price, res.price)
        if order.side is OrderSide.SELL:
            both_px = res.price
        if both_qty != res.remaining or both_px != res.price:
            reserve_and_record(node, order.account, order.id, inst, order.side, both_qty, both_px, replacing=res)
    node.replacing[order.id] = Replacement(key, qty, px, stop)
    _node_reconcile.cancel_at_venue(node, order, key)


def pending(node: TradingNode, key: str) -> tuple[Order, Replacement] | None:
    order = node.orders.get(node.emulator.order_for_key(key))
    if order is None:
        return None
    replacement = node.replacing.get(order.id)
    if replacement is None or replacement.old_key != key:
        return None
    return order, replacement


def on_canceled(node: TradingNode, key: str) -> bool:
    """The venue canceled ``key``: True when that was a replacement's cancel (the replacement went out or the
    order ended), False for any other cancel (the node's usual handling)."""
    found = pending(node, key)
    if found is None:
        return False
    order, rep = found
    del node.replacing[order.id]
    if order.is_terminal or order.status is OrderStatus.PENDING_CANCEL:
        return False  # the user canceled it meanwhile: a plain cancel
    node.at_venue.pop(key, None)
    now = node.clock.now_ns()
    inst = node.instruments.get(order.symbol)
    new_qty = rep.quantity if rep.quantity is not None else order.quantity
    left = new_qty - order.filled_quantity
    if left <= 0:
        reason = (
            f"modify: {order.filled_quantity} filled before the cancel-replace reached the venue, which is all of "
            f"the new quantity {new_qty}"
        )
        node.emit(order, OrderCanceled(order.id, now, reason=reason))
        return True
    res = node.ledger.reservation(order.id)
    try:
        if res is not None:
            new_price = rep.price if rep.price is not None else res.price
            reserve_and_record(node, order.account, order.id, inst, order.side, left, new_price, replacing=res)
    except ValidationError as exc:
        node.emit(order, OrderCanceled(order.id, now, reason=f"modify: the replacement cannot be funded ({exc})"))
        return True
    if order.order_type is OrderType.ICEBERG:  # the next slice, on the new terms, is the replacement
        node.emit(order, OrderUpdated(order.id, now, quantity=rep.quantity, price=rep.price))
        node.emulator.next_slice(order)
        return True
    n = sum(1 for e in order.events if isinstance(e, OrderUpdated) and e.venue_key is not None) + 1
    new_key = f"{order.id}/m{n}"
    quantity = rep.quantity if rep.quantity is not None and rep.quantity != order.quantity else None
    price = rep.price if rep.price is not None and rep.price != order.price else None
    node.emit(
        order,
        OrderUpdated(order.id, now, quantity=quantity, price=price, stop_price=rep.stop_price, venue_key=new_key),
    )
    node.emulator.map_key(new_key, order.id)
    node.send_to_venue(order, key=new_key, quantity=left, market=False)
    _log.info("order %s replaced at the venue: %s -> %s", order.id, key, new_key)
    return True


def on_cancel_rejected(node: TradingNode, key: str, message: str) -> Order | None:
    """The venue refused a replacement's cancel (the original filled first): nothing is replaced, the order
    stands on its old terms (FILLED by its own fills); returns it, or None when ``key`` had no replacement
    waiting."""
    found = pending(node, key)
    if found is None:
        return None
    order, _ = found
    del node.replacing[order.id]
    _log.warning("modify of %s not applied: %s", order.id, message)
    return order


__all__ = ["Replacement", "on_cancel_rejected", "on_canceled", "pending", "start"]
