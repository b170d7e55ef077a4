"""Recovery of the trading node from its journal: :func:`replay` folds the records into a fresh node, :func:`resume`
then puts its working orders back on the venue.

The journal holds two kinds of records: order events (``Order*``), folded through ``Order.apply`` and the node's
ledger effects exactly as when they happened, and the node's own records (account funding, locks, emulator links,
algorithm progress), applied to the ledger, the emulator and the algorithm engine. Nothing is journaled, emitted
or sent to a venue while replaying. This module is part of :class:`~alphintra.engine.node.TradingNode` (its
``replay`` and ``resume`` call here); it uses the node through
:class:`~alphintra.engine.node_api.NodeCore`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from alphintra.engine._node_reconcile import EXTERNAL, halt_reason
from alphintra.engine.core.enums import OrderStatus
from alphintra.engine.core.errors import ConflictError
from alphintra.engine.core.events import OrderCanceled, OrderFilled, OrderInitialized, event_from_dict
from alphintra.engine.core.orders import Order
from alphintra.engine.node_records import (
    AccountOpened,
    AlgoCanceled,
    AlgoCompleted,
    AlgoRespread,
    AlgoSlice,
    AlgoStarted,
    Deposited,
    EmulatorLink,
    NodeRecord,
    Released,
    Reserved,
    VenueHalted,
    VenueResumed,
    Withdrawn,
    is_node_record,
    node_record_from_dict,
)

if TYPE_CHECKING:
    from alphintra.engine.algos import AlgoRecord
    from alphintra.engine.node_api import NodeCore


def replay(node: NodeCore, records: Iterable[Mapping[str, Any]]) -> int:
    """Rebuild orders, balances and positions from journal records (into a fresh node). Returns the count."""
    if node.orders and not node.restored:
        raise ConflictError("replay needs a fresh node (or one restored from a snapshot)")
    node.replaying = True
    try:
        return fold(node, records)
    finally:
        node.replaying = False


def fold(node: NodeCore, records: Iterable[Mapping[str, Any]]) -> int:
    """Fold records into ``node`` exactly as :func:`replay` does -- for a node that only ever folds (the state
    projection's copy of the engine), which may fold the journal a piece at a time. Records of unknown types are
    skipped. Nothing is journaled, emitted or sent while ``node.replaying`` is set; :func:`replay` sets it."""
    count = 0
    for rec in records:
        count += 1
        kind = rec.get("type")
        if isinstance(kind, str) and kind.startswith("Order"):  # most records: test them first
            _replay_event(node, rec)
        elif is_node_record(rec):
            record = node_record_from_dict(rec)
            apply = _APPLY.get(type(record))
            if apply is not None:
                apply(node, record)
    return count


def _opened(node: NodeCore, r: AccountOpened) -> None:
    node.ledger.open_account(r.account, mode=r.mode, currency=r.currency, leverage=r.leverage)


def _deposited(node: NodeCore, r: Deposited) -> None:
    node.ledger.deposit(r.account, r.asset, r.amount)


def _withdrawn(node: NodeCore, r: Withdrawn) -> None:
    node.ledger.withdraw(r.account, r.asset, r.amount)


def _reserved(node: NodeCore, r: Reserved) -> None:
    node.ledger.lock(r.account, r.order_id, node.instruments.get(r.symbol), r.side, r.quantity, r.price)


def _released(node: NodeCore, r: Released) -> None:
    node.ledger.release(r.order_id)


def _linked(node: NodeCore, r: EmulatorLink) -> None:
    node.emulator.restore_link(r)


def _algo(node: NodeCore, r: AlgoRecord) -> None:
    node.algos.restore_record(r)


def _venue_halted(node: NodeCore, r: VenueHalted) -> None:
    node.venue_halts[r.venue] = r.reason or halt_reason(list(r.differences))


def _venue_resumed(node: NodeCore, r: VenueResumed) -> None:
    node.venue_halts.pop(r.venue, None)


# How each node record folds into the node; a margin call changes nothing a replay rebuilds.
_APPLY: dict[type[NodeRecord], Callable[[NodeCore, Any], None]] = {
    AccountOpened: _opened,
    Deposited: _deposited,
    Withdrawn: _withdrawn,
    Reserved: _reserved,
    Released: _released,
    EmulatorLink: _linked,
    AlgoStarted: _algo,
    AlgoSlice: _algo,
    AlgoRespread: _algo,
    AlgoCanceled: _algo,
    AlgoCompleted: _algo,
    VenueHalted: _venue_halted,
    VenueResumed: _venue_resumed,
}


def _replay_event(node: NodeCore, rec: Mapping[str, Any]) -> None:
    event = event_from_dict(rec)
    if isinstance(event, OrderInitialized):
        order = Order.create(event)
        node.orders[order.id] = order
        node.track(order)
        # New ids continue after the highest one replayed.
        node.order_seq = max(node.order_seq, _seq_of(order.id, node.id_prefix))
        if event.client_order_id is not None:
            node.client_ids[(event.account, event.client_order_id)] = order.id
            if EXTERNAL in event.tags:
                node.emulator.map_key(event.client_order_id, order.id)
    else:
        order = node.orders[event.order_id]
        order.apply(event)
        node.apply_effects(order, event)
        if isinstance(event, OrderFilled):
            # The venue's trade ids continue after every one journaled, like order ids (unique for the home's life).
            # Only a venue that issues its own ids from a counter (the simulator) needs telling; an exchange does not.
            for counter in node.trade_counters:
                counter.trade_id_issued(event.trade_id)


def resume(node: NodeCore) -> None:
    """After a replay: re-arm the emulator and put working orders back on the venue, oldest first.

    A venue that keeps its orders across the node's restart (every exchange) is asked first (a reconciliation):
    an order it has is never sent again; only what it cannot have (armed stops, slices still to send) goes out.
    A venue that lost its book (the paper simulator declares ``keeps_state`` False) gets its working orders again.
    """
    for venue in node.venues.values():
        if venue.capabilities.keeps_state:
            node.reconcile(venue.name)
    for order in sorted(node.working.values(), key=lambda o: (o.created_at, o.id)):
        if order.is_terminal:
            continue
        keeps = node.venue_for(order.symbol).capabilities.keeps_state
        if keeps:
            key = node.emulator.venue_key(order)
            if order.status is OrderStatus.PENDING_CANCEL or (key is not None and key in node.at_venue):
                node.emulator.resume_timers(order)
                continue
        elif order.status is OrderStatus.PENDING_CANCEL:
            node.emit(order, OrderCanceled(order.id, node.clock.now_ns(), reason="canceled during restart"))
            continue
        node.emulator.resume(order)
    node.algos.resume()


def _seq_of(order_id: str, prefix: str) -> int:
    head, _, tail = order_id.rpartition("-")
    return int(tail) if head == prefix and tail.isdigit() else 0


__all__ = ["fold", "replay", "resume"]
