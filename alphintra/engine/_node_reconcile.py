"""What the node does when its view and the venue's may differ: reconciliation, external orders, commands in doubt.

* **Commands in doubt.** A submit or cancel that got no answer (:class:`VenueUnavailable`: a timeout, a dropped
  connection, a 5xx) may or may not have reached the venue. The order stays in flight (PENDING_SUBMIT or
  PENDING_CANCEL) and the node asks the venue for it by client order id on its clock's timers, with a bounded
  number of attempts and a doubling backoff. A submit the venue has is accepted (and its fills booked); one it
  still does not know after every attempt is rejected; a cancel that did not land sends the order back to working
  (OrderCancelRejected). Nothing is ever sent again blindly.
* **External orders.** A fill (or an open order) the node does not know was placed outside Alphintra: it is adopted
  as an order tagged ``external`` (journaled like any other order, so a replay has it), never a ``KeyError``.
* **Reconciliation** (on start and after a reconnect, :func:`reconcile`): missing fills are booked once (keyed by
  the venue's trade id), orders closed at the venue are closed, orders the venue never got are rejected, external
  orders are adopted, and balances are compared. A balance difference no fill explains is booked (so that the node
  holds what the venue holds) and halts new orders on the venue (``node.venue_halts``).

Part of :class:`~alphintra.engine.node.TradingNode`; it uses the node through
:class:`~alphintra.engine.node_api.NodeCore`, as the other helpers do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from alphintra.engine.core.enums import OrderStatus, OrderType, RejectReason
from alphintra.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderInitialized,
    OrderRejected,
    OrderSubmitted,
)
from alphintra.engine.core.orders import Order
from alphintra.engine.node_records import VenueHalted
from alphintra.engine.venue.base import Venue, VenueFill, VenueOrder, VenueOrderState, VenueUnavailable

if TYPE_CHECKING:
    from alphintra.engine.node_api import NodeCore

_log = logging.getLogger("alphintra.engine.reconcile")
EXTERNAL = "external"  # the tag of an order placed outside Alphintra and adopted from the venue
ASK_ATTEMPTS = 5
ASK_FIRST_NS = 1_000_000_000  # the first question after 1 s, then 2, 4, 8, 16 s
LOOKBACK_NS = 86_400 * 1_000_000_000  # fills a reconciliation asks for when the node has no open order: a day
_SENT = (OrderStatus.PENDING_SUBMIT, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)


@dataclass(slots=True)
class Reconciliation:
    """What a reconciliation found and did (with ``dry_run``, what it would do)."""

    fills_booked: list[str] = field(default_factory=list)  # venue trade ids
    closed: list[str] = field(default_factory=list)  # order ids closed because the venue closed them
    accepted: list[str] = field(default_factory=list)  # order ids in flight the venue turned out to have
    rejected: list[str] = field(default_factory=list)  # order ids in flight the venue never received
    adopted: list[str] = field(default_factory=list)  # order ids of external orders
    differences: list[str] = field(default_factory=list)  # what no fill explains (trading halts)

    @property
    def clean(self) -> bool:
        return not self.differences


# -- commands in doubt ----------------------------------------------------------------------------------------


def submit_to_venue(node: NodeCore, order: Order, venue_order: VenueOrder) -> None:
    try:
        node.venue_for(order.symbol).submit(venue_order)
    except VenueUnavailable as exc:
        _log.warning("submit of %s got no answer (%s); asking the venue", venue_order.key, exc)
        _ask_later(node, venue_order.key, order.id, "submit", 1)


def cancel_at_venue(node: NodeCore, order: Order, key: str) -> None:
    try:
        node.venue_for(order.symbol).cancel(key)
    except VenueUnavailable as exc:
        _log.warning("cancel of %s got no answer (%s); asking the venue", key, exc)
        _ask_later(node, key, order.id, "cancel", 1)


def in_doubt(node: NodeCore, key: str, command: str, message: str) -> None:
    """A venue that sends commands asynchronously reports one that got no answer: ask for it as for a
    :class:`VenueUnavailable` raised at once."""
    order = node.orders.get(node.emulator.order_for_key(key))
    if order is None or order.is_terminal:
        return
    _log.warning("%s of %s got no answer (%s); asking the venue", command, key, message)
    _ask_later(node, key, order.id, command, 1)


def _ask_later(node: NodeCore, key: str, order_id: str, command: str, attempt: int) -> None:
    due = node.clock.now_ns() + ASK_FIRST_NS * (1 << (attempt - 1))
    node.clock.set_timer(
        f"venue-ask:{command}:{key}",
        lambda _name, _ts: _ask(node, key, order_id, command, attempt),
        at_ns=due,
    )


def _ask(node: NodeCore, key: str, order_id: str, command: str, attempt: int) -> None:
    order = node.orders.get(order_id)
    if order is None or order.is_terminal:
        return
    try:
        state = node.venue_for(order.symbol).order_status(key)
    except VenueUnavailable:
        state = None
        unknown = True
    else:
        unknown = False
    if state is not None:
        _settle(node, order, key, state, Reconciliation())
        if command == "cancel" and not order.is_terminal and order.status is OrderStatus.PENDING_CANCEL:
            node.cancel_reasons.pop(order.id, None)
            node.emit(order, OrderCancelRejected(order.id, node.clock.now_ns(), message="the cancel never arrived"))
        return
    if attempt < ASK_ATTEMPTS:
        _ask_later(node, key, order_id, command, attempt + 1)
        return
    if command == "submit" and order.status is OrderStatus.PENDING_SUBMIT:
        why = "no answer from the venue" if unknown else "the venue never received it"
        node.at_venue.pop(key, None)
        node.emit(order, OrderRejected(order.id, node.clock.now_ns(), reason=RejectReason.VENUE_REJECTED, message=why))
    elif command == "cancel" and order.status is OrderStatus.PENDING_CANCEL and not unknown:
        # The venue does not know the order at all: nothing is working there.
        node.at_venue.pop(key, None)
        node.emit(order, OrderCanceled(order.id, node.clock.now_ns(), reason="not at the venue"))


def _settle(
    node: NodeCore, order: Order, key: str, state: VenueOrderState, report: Reconciliation, *, fills: bool = True
) -> None:
    """Bring ``order`` to what the venue says of it: accepted, its missing fills, then still open or closed."""
    now = node.clock.now_ns()
    if order.status is OrderStatus.PENDING_SUBMIT:
        node.emit(order, OrderAccepted(order.id, now, venue_order_id=state.venue_order_id or key))
        report.accepted.append(order.id)
    if fills:
        _book_fills(node, node.venue_for(order.symbol), key, report, since=order.created_at)
    if order.is_terminal:
        return
    if state.status == "open":
        node.at_venue[key] = state.quantity - state.filled
        return
    node.at_venue.pop(key, None)
    if not order.is_terminal and order.order_type is not OrderType.ICEBERG:
        node.emit(order, OrderCanceled(order.id, now, reason=state.reason or "closed at the venue"))
        report.closed.append(order.id)


def _book_fills(node: NodeCore, venue: Venue, key: str | None, report: Reconciliation, *, since: int) -> None:
    booked = _booked_trades(node)
    for fill in venue.fills(since):
        if (key is not None and fill.key != key) or fill.trade_id in booked:
            continue
        before = len(node.fills)
        node.venue_filled(fill)
        if len(node.fills) > before:
            report.fills_booked.append(fill.trade_id)


# -- external orders ------------------------------------------------------------------------------------------


def _booked_trades(node: NodeCore) -> set[str]:
    """The venue trade ids the node holds fills of: a reconciliation books a venue's fill once by trade id, also on
    a venue that does not replay its reports (the simulator), which :func:`seen_trade` skips."""
    return {f.trade_id for f in node.fills}


def seen_trade(node: NodeCore, order: Order, trade_id: str) -> bool:
    """Whether ``order`` already booked venue trade ``trade_id``. Only a venue that keeps its state replays its
    reports (after a reconnect); the simulator never does, and its hot path skips the scan."""
    if not node.venue_for(order.symbol).capabilities.keeps_state:
        return False
    return any(isinstance(e, OrderFilled) and e.trade_id == trade_id for e in order.events)


def adopt_for_fill(node: NodeCore, fill: VenueFill) -> Order | None:
    """The order of a fill the node does not know, adopted as EXTERNAL (None if the fill names no instrument)."""
    account = fill.account or node.default_account
    known = _local(node, fill.key, account)
    if known is not None:
        return known
    if fill.symbol is None or fill.side is None or fill.symbol not in node.instruments.symbols():
        _log.error("fill %s of unknown order %s names no known instrument; not booked", fill.trade_id, fill.key)
        why = f"fill {fill.trade_id} of unknown order {fill.key} names no instrument"
        node.venue_halts[node.venue.name] = why
        node.record({"type": "VenueHalted", "venue": node.venue.name, "differences": [why], "reason": why})
        return None
    try:
        state = node.venue_for(fill.symbol).order_status(fill.key)
    except VenueUnavailable:
        state = None
    if state is None:
        state = VenueOrderState(fill.key, account, fill.symbol, fill.side, fill.quantity, fill.quantity, "closed")
    return adopt(node, state)


def adopt(node: NodeCore, state: VenueOrderState) -> Order:
    """Journal an order placed outside Alphintra as the node's own (tagged ``external``, nothing locked)."""
    now = node.clock.now_ns()
    node.order_seq += 1
    order_id = f"{node.id_prefix}-{node.order_seq:08d}"
    init = OrderInitialized(
        order_id,
        now,
        account=state.account,
        symbol=state.symbol,
        side=state.side,
        order_type=OrderType.MARKET if state.price is None else OrderType.LIMIT,
        quantity=state.quantity,
        price=state.price,
        client_order_id=state.key,
        tags=(EXTERNAL,),
    )
    order = Order.create(init)
    node.orders[order_id] = order
    node.client_ids[(state.account, state.key)] = order_id
    node.after_apply(order, init)
    node.emit(order, OrderSubmitted(order_id, now))
    node.emit(order, OrderAccepted(order_id, now, venue_order_id=state.venue_order_id or state.key))
    node.emulator.map_key(state.key, order_id)
    if state.status == "open":
        node.at_venue[state.key] = state.quantity - state.filled
    _log.warning("adopted external order %s (%s at the venue)", order_id, state.key)
    return order


# -- reconciliation -------------------------------------------------------------------------------------------


def _mine(node: NodeCore, venue: Venue) -> list[Order]:
    """The node's open orders that trade on ``venue``."""
    return [o for o in node.working.values() if node.venue_for(o.symbol) is venue]


def reconcile(node: NodeCore, venue: Venue, *, dry_run: bool = False) -> Reconciliation:
    """Compare ``venue``'s open orders, fills and balances with the node's and settle them (see the module)."""
    if dry_run:
        return _preview(node, venue)
    report = Reconciliation()
    now = node.clock.now_ns()
    open_at_venue = {s.key: s for s in venue.open_orders()}
    for held in open_at_venue.values():
        if _local(node, held.key, held.account) is None:
            report.adopted.append(adopt(node, held).id)
    since = min((o.created_at for o in _mine(node, venue)), default=now - LOOKBACK_NS)
    # What the venue says of each order in flight, asked before any fill is booked (a fill moves it on).
    found: dict[str, tuple[str, VenueOrderState | None]] = {}
    for order in _mine(node, venue):
        sent = node.emulator.venue_key(order)
        if sent is not None and order.status in _SENT and order.order_type is not OrderType.ICEBERG:
            found[order.id] = (sent, open_at_venue.get(sent) or venue.order_status(sent))
            if order.status is OrderStatus.PENDING_SUBMIT and found[order.id][1] is not None:
                node.emit(order, OrderAccepted(order.id, now, venue_order_id=sent))
                report.accepted.append(order.id)
    venue_fills = venue.fills(since)
    booked = _booked_trades(node)
    for fill in venue_fills:
        if fill.trade_id in booked:
            continue
        before = len(node.fills)
        node.venue_filled(fill)
        if len(node.fills) > before:
            report.fills_booked.append(fill.trade_id)
    _resume_icebergs(node, _mine(node, venue), open_at_venue, venue_fills)
    for order_id, (key, state) in found.items():
        order = node.orders[order_id]
        if order.is_terminal:
            continue
        if state is not None:
            _settle(node, order, key, state, report, fills=False)
            if order.status is OrderStatus.PENDING_CANCEL and key in node.at_venue:
                cancel_at_venue(node, order, key)  # the restart interrupted a cancel: it is still wanted
        elif order.status is OrderStatus.PENDING_SUBMIT:
            node.emit(
                order,
                OrderRejected(order.id, now, reason=RejectReason.VENUE_REJECTED, message="the venue never received it"),
            )
            report.rejected.append(order.id)
        else:
            node.emit(order, OrderCanceled(order.id, now, reason="not at the venue"))
            report.closed.append(order.id)
    _compare_balances(node, venue, report, book=True)
    return report


def _resume_icebergs(
    node: NodeCore, orders: list[Order], open_at_venue: dict[str, VenueOrderState], fills: list[VenueFill]
) -> None:
    """An iceberg's slices are venue orders ``<id>/<n>``: the one still open stays (never sent twice), and the
    next slice numbers on from the highest the venue has seen."""
    seen = list(open_at_venue) + [f.key for f in fills]
    for order in orders:
        if order.order_type is not OrderType.ICEBERG:
            continue
        prefix = order.id + "/"
        numbers = [int(k[len(prefix) :]) for k in seen if k.startswith(prefix) and k[len(prefix) :].isdigit()]
        if not numbers:
            continue
        key = f"{order.id}/{max(numbers)}"
        state = open_at_venue.get(key)
        left = Decimal(0) if state is None else state.quantity - state.filled
        node.emulator.restore_slice(order.id, max(numbers), left)
        if state is not None:
            node.at_venue[key] = left


def _local(node: NodeCore, key: str, account: str) -> Order | None:
    order = node.orders.get(node.emulator.order_for_key(key))
    if order is None and "/" in key:
        order = node.orders.get(key.rpartition("/")[0])  # a slice of one of the node's icebergs
    return order if order is not None else node.by_client_id(account, key)


def _preview(node: NodeCore, venue: Venue) -> Reconciliation:
    """What :func:`reconcile` would do, changing nothing."""
    report = Reconciliation()
    open_at_venue = {s.key: s for s in venue.open_orders()}
    report.adopted = [k for k, s in open_at_venue.items() if _local(node, k, s.account) is None]
    booked = _booked_trades(node)
    mine = _mine(node, venue)
    since = min((o.created_at for o in mine), default=node.clock.now_ns() - LOOKBACK_NS)
    report.fills_booked = [f.trade_id for f in venue.fills(since) if f.trade_id not in booked]
    for order in mine:
        key = node.emulator.venue_key(order)
        if key is None or order.status not in _SENT or order.order_type is OrderType.ICEBERG:
            continue
        state = open_at_venue.get(key) or venue.order_status(key)
        if state is None:
            (report.rejected if order.status is OrderStatus.PENDING_SUBMIT else report.closed).append(order.id)
        elif state.status == "closed":
            report.closed.append(order.id)
    _compare_balances(node, venue, report, book=False)
    return report


def halt_reason(differences: list[str]) -> str:
    """Why trading on a venue stopped, from the differences a reconciliation found (journaled as VenueHalted)."""
    return "reconciliation found differences no fill explains: " + "; ".join(differences)


def _compare_balances(node: NodeCore, venue: Venue, report: Reconciliation, *, book: bool) -> None:
    held = venue.balances()
    if held is None:
        return
    ledger = node.ledger
    for entry in held:
        if entry.account not in ledger.accounts():
            report.differences.append(f"account {entry.account} is at the venue but not in the node")
            continue
        assets = set(entry.totals) | set(ledger.balances(entry.account))
        for asset in sorted(assets):
            theirs = entry.totals.get(asset, Decimal(0))
            ours = ledger.balance(entry.account, asset).total
            if theirs == ours:
                continue
            diff = theirs - ours
            report.differences.append(f"{entry.account} {asset}: venue {theirs}, node {ours} (difference {diff})")
            if book:
                # The node must hold what the venue holds; the difference is journaled like a transfer.
                if diff > 0:
                    node.deposit(entry.account, asset, diff)
                else:
                    node.withdraw(entry.account, asset, -diff)
    if report.differences and book:
        why = halt_reason(report.differences)
        node.venue_halts[venue.name] = why
        node.record(VenueHalted(venue.name, tuple(report.differences), why))
        _log.error("trading on venue %s halted: %s", venue.name, why)


__all__ = [
    "EXTERNAL",
    "Reconciliation",
    "adopt",
    "adopt_for_fill",
    "halt_reason",
    "in_doubt",
    "reconcile",
    "seen_trade",
]
