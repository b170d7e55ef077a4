"""Recovery of the trading node from its journal: :func:`replay` folds the records into a fresh node, :func:`resume`
then puts its working orders back on the venue.

The journal holds two kinds of records: order events (``Order*``), folded through ``Order.apply`` and the node's
ledger effects exactly as when they happened, and the node's own records (account funding, locks, emulator links,
algorithm progress), applied to the ledger, the emulator and the algorithm engine. Nothing is journaled, emitted
or sent to a venue while replaying. This module is part of :class:`~alphintra.engine.node.TradingNode` (its
``replay`` and ``resume`` call here) and so uses the node's private state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from alphintra.engine._node_reconcile import EXTERNAL, halt_reason
from alphintra.engine.core.enums import OrderStatus
from alphintra.engine.core.errors import ConflictError
from alphintra.engine.core.events import OrderCanceled, OrderFilled, OrderInitialized, event_from_dict
from alphintra.engine.core.orders import Order

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode


def replay(node: TradingNode, records: Iterable[Mapping[str, Any]]) -> int:
    """Rebuild orders, balances and positions from journal records (into a fresh node). Returns the count."""
    if node.orders and not node._restored:
        raise ConflictError("replay needs a fresh node (or one restored from a snapshot)")
    node._replaying = True
    try:
        return fold(node, records)
    finally:
        node._replaying = False


def fold(node: TradingNode, records: Iterable[Mapping[str, Any]]) -> int:
    """Fold records into ``node`` exactly as :func:`replay` does -- for a node that only ever folds (the state
    projection's copy of the engine), which may fold the journal a piece at a time. Records of unknown types are
    skipped. Nothing is journaled, emitted or sent while ``node._replaying`` is set; :func:`replay` sets it."""
    ledger = node.ledger
    count = 0
    for rec in records:
        count += 1
        kind = rec.get("type")
        if kind == "AccountOpened":
            ledger.open_account(
                str(rec["account"]),
                mode=str(rec["mode"]),
                currency=str(rec["currency"]),
                leverage=str(rec["leverage"]),
            )
        elif kind == "Deposited":
            ledger.deposit(str(rec["account"]), str(rec["asset"]), str(rec["amount"]))
        elif kind == "Withdrawn":
            ledger.withdraw(str(rec["account"]), str(rec["asset"]), str(rec["amount"]))
        elif kind == "Reserved":
            inst = node.instruments.get(str(rec["symbol"]))
            price = rec.get("price")
            ledger.reserve(
                str(rec["account"]),
                str(rec["order_id"]),
                inst,
                str(rec["side"]),
                str(rec["quantity"]),
                None if price is None else str(price),
            )
        elif kind == "Released":
            ledger.release(str(rec["order_id"]))
        elif kind == "VenueHalted":
            node.venue_halts[str(rec["venue"])] = str(
                rec.get("reason") or halt_reason(list(rec.get("differences", ())))
            )
        elif kind == "VenueResumed":
            node.venue_halts.pop(str(rec["venue"]), None)
        elif kind == "EmulatorLink":
            node.emulator.restore_record(rec)
        elif isinstance(kind, str) and kind.startswith("Algo"):
            node.algos.restore_record(rec)
        elif isinstance(kind, str) and kind.startswith("Order"):
            _replay_event(node, rec)
    return count


def _replay_event(node: TradingNode, rec: Mapping[str, Any]) -> None:
    event = event_from_dict(rec)
    if isinstance(event, OrderInitialized):
        order = Order.create(event)
        node.orders[order.id] = order
        node.track(order)
        # New ids continue after the highest one replayed.
        node._seq = max(node._seq, _seq_of(order.id, node.id_prefix))
        if event.client_order_id is not None:
            node._client_ids[(event.account, event.client_order_id)] = order.id
            if EXTERNAL in event.tags:
                node.emulator.map_key(event.client_order_id, order.id)
    else:
        order = node.orders[event.order_id]
        order.apply(event)
        node._effects(order, event)
        if isinstance(event, OrderFilled):
            # The venue's trade ids continue after every one journaled, like order ids (unique for the home's life).
            # Only a venue that issues its own ids from a counter (the simulator) needs telling; an exchange does not.
            for venue in node.venues.values():
                issued = getattr(venue, "trade_id_issued", None)
                if issued is not None:
                    issued(event.trade_id)


def resume(node: TradingNode) -> None:
    """After a replay: re-arm the emulator and put working orders back on the venue, oldest first.

    A venue that keeps its orders across the node's restart (every exchange) is asked first (a reconciliation):
    an order it has is never sent again; only what it cannot have (armed stops, slices still to send) goes out.
    A venue that lost its book (the paper simulator declares ``keeps_state`` False) gets its working orders again.
    """
    for venue in node.venues.values():
        if venue.capabilities.keeps_state:
            node.reconcile(venue.name)
    for order in sorted(node._open.values(), key=lambda o: (o.created_at, o.id)):
        if order.is_terminal:
            continue
        keeps = node.venue_for(order.symbol).capabilities.keeps_state
        if keeps:
            key = node.emulator.venue_key(order)
            if order.status is OrderStatus.PENDING_CANCEL or (key is not None and key in node._at_venue):
                node.emulator.resume_timers(order)
                continue
        elif order.status is OrderStatus.PENDING_CANCEL:
            node._emit(order, OrderCanceled(order.id, node.clock.now_ns(), reason="canceled during restart"))
            continue
        node.emulator.resume(order)
    node.algos.resume()


def _seq_of(order_id: str, prefix: str) -> int:
    head, _, tail = order_id.rpartition("-")
    return int(tail) if head == prefix and tail.isdigit() else 0


__all__ = ["fold", "replay", "resume"]
