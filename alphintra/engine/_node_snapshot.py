"""Snapshots of the trading node, and the retention of finished orders.

A snapshot is the node's state as a plain JSON-safe dict (the journal's ``write_snapshot`` stores it): the orders
still in memory (each as its events: an order is their fold), the ledger (balances, positions, reservations), the
id counters (node order sequence, the venue's trade sequence), the emulator's links, the algorithms, the client
order ids of orders that already left memory, and the last prices. :func:`restore` puts such a state back into a
node, fresh or running; the journal records after the snapshot then replay on top of it
(:meth:`TradingNode.replay`), so restart costs the snapshot plus the tail instead of the whole history.

Taking one is split so that the engine thread pays little: :func:`capture` runs between two batches and only
takes references to immutable things (each order's event tuple, the fill events) and the small tables
(ledger, links, algorithms, counters); :meth:`NodeCapture.to_state` turns that into the dict and may run on
another thread while the engine goes on.

Retention (:func:`forget_finished`): a finished order leaves ``node.orders`` and ``node.fills`` once more than
``keep`` finished orders are held or it finished more than ``max_age_ns`` ago -- unless it is tied to an order
still working (OCO sibling, bracket entry or leg, child of a running algorithm). Its client order id stays used
(a compact 64-bit digest per id), so a reused id is refused for the life of the home.

Marks and last prices are market data, not journal facts: a snapshot keeps the latest ones (a restart values
positions at them until the feed moves), which a full replay cannot know; everything else equals a full replay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.ledger import Ledger
from alphintra.engine.core.orders import Order
from alphintra.engine.venue.base import TradeIdCounter, Venue

if TYPE_CHECKING:
    from alphintra.engine.node_api import NodeCore

SNAPSHOT_VERSION = 1


def client_key(account: str, client_order_id: str) -> int:
    """A stable 64-bit digest of a used client order id (Python's ``hash`` changes with every process)."""
    digest = hashlib.blake2b(f"{account}\x00{client_order_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True, slots=True)
class NodeCapture:
    """The node's state between two batches, as references to immutable parts (see :func:`capture`)."""

    order_events: tuple[tuple[OrderEvent, ...], ...]
    fills: tuple[tuple[str, str], ...]
    finished: tuple[tuple[str, int], ...]
    used_client_ids: tuple[int, ...]
    tables: dict[str, Any]

    def to_state(self, order_entry: Callable[[tuple[OrderEvent, ...]], Any] | None = None) -> dict[str, Any]:
        """The snapshot's dict; ``order_entry`` may stand in for :func:`order_state` (the daemon passes one that
        reuses the encoded entries of orders unchanged since its last snapshot)."""
        entry = order_state if order_entry is None else order_entry
        return {
            "version": SNAPSHOT_VERSION,
            **self.tables,
            "ledger": self.tables["ledger"](),  # in its place among the tables: the same JSON as before
            "orders": [entry(events) for events in self.order_events],
            "fills": [list(pair) for pair in self.fills],
            "finished": [list(pair) for pair in self.finished],
            "used_client_ids": list(self.used_client_ids),
        }


def order_state(events: tuple[OrderEvent, ...]) -> dict[str, Any]:
    """One order in a snapshot: its events (the order is their fold)."""
    return {"events": [e.to_dict() for e in events]}


def capture(node: NodeCore) -> NodeCapture:
    """Engine thread: what :meth:`NodeCapture.to_state` needs, without building the orders' dicts here."""
    venue_seq = _trade_seq(node.venue)
    return NodeCapture(
        order_events=tuple(order.events for order in node.orders.values()),
        fills=tuple((f.order_id, f.trade_id) for f in node.fills),
        finished=tuple(node.finished.items()),
        used_client_ids=tuple(sorted(node.used_client_ids)),
        tables={
            "order_seq": node.order_seq,
            "venue_trade_seq": venue_seq,
            # every venue's trade id counter (several venues in one node), and the venues a reconciliation halted
            "venue_trade_seqs": {n: v.trade_seq for n, v in node.venues.items() if isinstance(v, TradeIdCounter)},
            "venue_halts": dict(node.venue_halts),
            "ledger": node.ledger.capture(),  # built by to_state, off the engine thread
            "emulator": node.emulator.to_state(),
            "algos": node.algos.to_state(),
            "last_prices": {s: str(p) for s, p in sorted(node.last_prices.items())},
        },
    )


def snapshot_state(node: NodeCore) -> dict[str, Any]:
    return capture(node).to_state()


def restore(node: NodeCore, state: Mapping[str, Any]) -> None:
    """Replace the node's journaled state with ``state`` (of :func:`snapshot_state`); records after it may follow.

    Nothing is journaled or sent to the venue: :meth:`TradingNode.resume` does that afterwards, as after a replay.
    """
    if state.get("version") != SNAPSHOT_VERSION:
        raise ValidationError("snapshot.version", f"must be {SNAPSHOT_VERSION}", state.get("version"))
    try:
        orders = [Order.from_state(raw) for raw in state["orders"]]
        ledger = Ledger.from_dict(state["ledger"])
        by_id = {o.id: o for o in orders}
        fills: list[OrderFilled] = []
        for order_id, trade_id in state["fills"]:
            fills.append(_fill_of(by_id[order_id], trade_id))
        finished = {str(k): int(v) for k, v in state["finished"]}
        used = {int(k) for k in state["used_client_ids"]}
        seq = int(state["order_seq"])
        prices = {str(s): Decimal(str(p)) for s, p in state["last_prices"].items()}
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError("snapshot", f"malformed node snapshot: {exc!r}") from None
    for inst in node.instruments:
        ledger.register(inst)
    node.orders = by_id
    node.working = {}
    node.client_ids = {}
    for order in orders:
        node.track(order)
        if order.client_order_id is not None:
            node.client_ids[(order.account, order.client_order_id)] = order.id
    node.finished = finished
    node.used_client_ids = used
    node.fills = fills
    node.order_seq = max(node.order_seq, seq)
    node.ledger = ledger
    node.last_prices = prices
    node.emulator.from_state(state["emulator"])
    node.algos.from_state(state["algos"])
    if isinstance(node.venue, TradeIdCounter):
        node.venue.restore_trade_seq(int(state.get("venue_trade_seq", 0)))
    seqs = dict(state.get("venue_trade_seqs", {}))
    for name, venue in node.venues.items():
        if isinstance(venue, TradeIdCounter):
            venue.restore_trade_seq(int(seqs.get(name, 0)))
    node.venue_halts = {str(k): str(v) for k, v in dict(state.get("venue_halts", {})).items()}
    node.restored = True


def empty_state(node: NodeCore) -> dict[str, Any]:
    """The state of a node before its first record (what a rewind starts from when no snapshot exists yet)."""
    return {
        "version": SNAPSHOT_VERSION,
        "order_seq": 0,
        "venue_trade_seq": 0,
        "ledger": Ledger().to_dict(),
        "emulator": {},
        "algos": {},
        "last_prices": {s: str(p) for s, p in node.last_prices.items()},
        "orders": [],
        "fills": [],
        "finished": [],
        "used_client_ids": [],
    }


def rewind(node: NodeCore, venue: Venue, state: Mapping[str, Any] | None, records: Iterable[Mapping[str, Any]]) -> int:
    """Put a running node back to what its journal holds: ``state`` (a snapshot, or None for none) and the records
    after it, on the fresh ``venue`` (the old one holds orders that were never written). The timers of the
    engine's own orders and algorithms go (:meth:`TradingNode.resume` sets them again); counters never go back,
    so an id handed out by the undone work is not reused. Returns the records replayed."""
    clock = node.clock
    for name in clock.timer_names():
        if name.startswith(("gtd:", "algo:", "venue:")):
            clock.cancel_timer(name)
    node.expiring.clear()
    node.cancel_reasons.clear()
    old_trades = _trade_seq(node.venue)
    node.bind_venue(venue)
    if isinstance(venue, TradeIdCounter):
        venue.restore_trade_seq(old_trades)
    restore(node, empty_state(node) if state is None else state)
    return node.replay(records)


def _trade_seq(venue: Venue) -> int:
    """The venue's trade id counter, for a venue that numbers its own trade ids (else 0)."""
    return venue.trade_seq if isinstance(venue, TradeIdCounter) else 0


def _fill_of(order: Order, trade_id: str) -> OrderFilled:
    for event in order.events:
        if isinstance(event, OrderFilled) and event.trade_id == trade_id:
            return event
    raise ValidationError("snapshot.fills", f"order {order.id} has no trade {trade_id}", trade_id)


# -- retention -------------------------------------------------------------------------------------------------


def forget_finished(node: NodeCore, *, keep: int, max_age_ns: int, now_ns: int) -> int:
    """Drop finished orders past the retention window (see the module docstring); returns how many left."""
    finished = node.finished
    excess = len(finished) - keep
    cutoff = now_ns - max_age_ns
    dropped: set[str] = set()
    pinned: list[tuple[str, int]] = []
    for order_id, ts in list(finished.items()):
        if excess <= 0 and ts >= cutoff:
            break  # finished in order: everything after is younger and within the count
        del finished[order_id]
        if _tied_to_working(node, order_id):
            pinned.append((order_id, ts))  # looked at again next time, once its partners finished
            continue
        dropped.add(order_id)
        excess -= 1
    for order_id, ts in pinned:
        finished[order_id] = ts
    if not dropped:
        return 0
    for order_id in dropped:
        order = node.orders.pop(order_id)
        if order.client_order_id is not None:
            node.client_ids.pop((order.account, order.client_order_id), None)
            node.used_client_ids.add(client_key(order.account, order.client_order_id))
    node.fills = [f for f in node.fills if f.order_id not in dropped]
    node.emulator.forget(dropped)
    node.algos.forget(dropped)
    return len(dropped)


def _tied_to_working(node: NodeCore, order_id: str) -> bool:
    orders = node.orders
    for other in node.emulator.linked(order_id):
        partner = orders.get(other)
        if partner is not None and not partner.is_terminal:
            return True
    parent = orders[order_id].parent_order_id
    return parent is not None and node.algos.is_running(parent)


__all__ = [
    "NodeCapture",
    "capture",
    "client_key",
    "empty_state",
    "forget_finished",
    "restore",
    "rewind",
    "snapshot_state",
]
