"""The order emulator: order types a venue does not need to support, emulated identically in every mode.

* **Stop / stop-limit** orders wait here (ACCEPTED, nothing at the venue, no funds locked for a protective leg)
  until the price path reaches the stop; then they trigger (TRIGGERED) and go to the venue as a market or limit
  order. Inside a bar the trigger price is the stop, or the price the segment started at if it gapped through.
* **Trailing stops** keep the best price seen since they were armed; the stop follows it by an absolute or a
  percentage offset, snapped to the tick grid against the holder, and each move is an ``OrderUpdated`` event (so
  a replay restores the level). They never move back.
* **Icebergs** show ``display_quantity`` at a time as venue orders ``<id>/<n>``; each refill is a new venue order
  and so goes to the back of the queue. Their fills are fills of the one parent order. A refill is sent once the
  fills counted against the current slice reach its size (never twice for one slice, never oversized).
* **OCO**: the first fill (or trigger) of either leg cancels the other; canceling one cancels both. A stop leg
  that spends what the other leg spends (same account, symbol and side) holds no lock of its own: when it
  triggers it cancels the other leg and only then locks and goes out -- after the cancel is confirmed, if venue
  latency keeps it in flight (the other leg may still fill meanwhile; the stop is then reduced or dropped).
* **Brackets**: the take-profit and stop-loss wait (NEW) for the entry to fill; they activate with the filled
  quantity, grow with further entry fills and shrink as either exit fills (they behave as an OCO: the working
  quantity of each is the position still to protect). The stop-loss shares the take-profit's lock on the
  position; when it triggers it first cancels the take-profit, then sends its own order -- once that cancel is
  confirmed, sized to what the take-profit left to protect.
* **GTD**: a timer on the engine clock expires the order at ``expires_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine._node_funds import reserve_and_record
from alphintra.engine._node_reconcile import EXTERNAL
from alphintra.engine.core.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TrailingOffsetType,
)
from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from alphintra.engine.core.orders import Order
from alphintra.engine.node_records import EmulatorLink

if TYPE_CHECKING:
    from alphintra.engine.node_api import NodeServices

_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
_HUNDRED = Decimal(100)
_BPS = Decimal(10_000)
_TERMINAL = (OrderCanceled, OrderExpired, OrderRejected)


@dataclass(slots=True)
class _Armed:
    order_id: str
    side: OrderSide
    stop: Decimal | None
    extreme: Decimal | None = None  # trailing: best price seen


def replaced_key(order: Order) -> str | None:
    """The key of the order's latest cancel-replace replacement at the venue (None: never replaced)."""
    for event in reversed(order.events):
        if isinstance(event, OrderUpdated) and event.venue_key is not None:
            return event.venue_key
    return None


class OrderEmulator:
    def __init__(self, node: NodeServices) -> None:
        self.node = node
        self._armed: dict[str, dict[str, _Armed]] = {}  # symbol -> order id -> armed stop
        self._slice_no: dict[str, int] = {}  # iceberg order id -> current slice number
        # iceberg order id -> what its current slice has still to fill. The refill is sent when the fills
        # counted against the slice reach its size: the venue may report a slice's last fills after it has left
        # the book, and a refill sized before those fills would overfill the order.
        self._slice_left: dict[str, Decimal] = {}
        self._key_order: dict[str, str] = {}  # venue key of a slice -> order id
        self._oco: dict[str, str] = {}
        self._bracket: dict[str, tuple[str, str]] = {}  # entry -> (take-profit, stop-loss)
        self._parent: dict[str, str] = {}  # exit leg -> entry
        self._waiting: dict[str, tuple[str, Decimal]] = {}  # take-profit being canceled -> (its stop, trigger ref)

    # -- keys -----------------------------------------------------------------------------------------------

    def has_armed(self, symbol: str) -> bool:
        return bool(self._armed.get(symbol))

    def order_for_key(self, key: str) -> str:
        found = self._key_order.get(key)
        if found is not None:
            return found
        base, slash, _ = key.rpartition("/")  # a cancel-replace's replacement (see _node_replace), after a restart
        return base if slash and base in self.node.orders else key

    def map_key(self, key: str, order_id: str) -> None:
        """Venue key ``key`` (an order placed outside Alphintra, adopted) belongs to ``order_id``."""
        self._key_order[key] = order_id

    def venue_key(self, order: Order) -> str | None:
        if order.tags and EXTERNAL in order.tags:
            return order.client_order_id  # placed outside Alphintra: the venue knows it by its own client id
        if order.order_type is OrderType.ICEBERG:
            n = self._slice_no.get(order.id)
            return None if n is None else f"{order.id}/{n}"
        if order.order_type in _STOPS and order.status is OrderStatus.ACCEPTED:
            return None
        if order.status is OrderStatus.NEW:
            return None
        return replaced_key(order) or order.id

    def venue_leaves(self, order: Order) -> Decimal:
        if order.order_type is OrderType.ICEBERG and order.display_quantity is not None:
            return min(order.display_quantity, order.leaves_quantity)
        return order.leaves_quantity

    # -- links ----------------------------------------------------------------------------------------------

    def link_oco(self, a: str, b: str) -> None:
        self._oco[a] = b
        self._oco[b] = a
        self.node.record(EmulatorLink("oco", a=a, b=b))
        # A leg may have traded the moment it arrived, before the link existed: apply the rule now.
        node = self.node
        for first, other in ((a, b), (b, a)):
            if node.orders[first].filled_quantity > 0 and not node.orders[other].is_terminal:
                node.cancel(other, reason="OCO: the other leg filled")
                break

    def link_bracket(self, entry: str, tp: str, sl: str) -> None:
        self._bracket[entry] = (tp, sl)
        self._parent[tp] = entry
        self._parent[sl] = entry
        self._oco[tp] = sl
        self._oco[sl] = tp
        self.node.record(EmulatorLink("bracket", entry=entry, tp=tp, sl=sl))
        if self.node.orders[entry].filled_quantity > 0:
            self._sync_bracket(entry)  # the entry traded on arrival, before its exits existed

    def restore_link(self, rec: EmulatorLink) -> None:
        """Fold an ``EmulatorLink`` record (during a replay, and from a snapshot's links)."""
        if rec.kind == "oco" and rec.a is not None and rec.b is not None:
            self._oco[rec.a] = rec.b
            self._oco[rec.b] = rec.a
        elif rec.kind == "bracket" and rec.entry is not None and rec.tp is not None and rec.sl is not None:
            entry, tp, sl = rec.entry, rec.tp, rec.sl
            self._bracket[entry] = (tp, sl)
            self._parent[tp] = entry
            self._parent[sl] = entry
            self._oco[tp] = sl
            self._oco[sl] = tp

    # -- stops ----------------------------------------------------------------------------------------------

    def arm(self, order: Order) -> None:
        armed = _Armed(order.id, order.side, order.stop_price)
        if order.order_type is OrderType.TRAILING_STOP:
            ref = self.node.last_price(order.symbol)
            if armed.stop is not None:
                armed.extreme = self._extreme_for(order, armed.stop)
            elif ref is not None:
                armed.extreme = ref
                self._set_trailing_stop(order, armed, self._trail(order, ref))
        self._armed.setdefault(order.symbol, {})[order.id] = armed

    def _trail(self, order: Order, extreme: Decimal) -> Decimal:
        inst = self.node.instruments.get(order.symbol)
        offset = order.trailing_offset or Decimal(0)
        sell = order.side is OrderSide.SELL
        if order.trailing_offset_type is TrailingOffsetType.PERCENT:
            raw = extreme * (1 - offset / _HUNDRED) if sell else extreme * (1 + offset / _HUNDRED)
        else:
            raw = extreme - offset if sell else extreme + offset
        # Snap against the holder: a sell stop rounds down, a buy stop up (never tighter than asked).
        return inst.round_price(raw, "down" if sell else "up")

    def _extreme_for(self, order: Order, stop: Decimal) -> Decimal:
        offset = order.trailing_offset or Decimal(0)
        sell = order.side is OrderSide.SELL
        if order.trailing_offset_type is TrailingOffsetType.PERCENT:
            factor = (1 - offset / _HUNDRED) if sell else (1 + offset / _HUNDRED)
            return stop / factor
        return stop + offset if sell else stop - offset

    def _set_trailing_stop(self, order: Order, armed: _Armed, stop: Decimal) -> None:
        if armed.stop is not None:
            better = stop > armed.stop if order.side is OrderSide.SELL else stop < armed.stop
            if not better:
                return
        armed.stop = stop
        if order.stop_price != stop:
            self.node.emit(order, OrderUpdated(order.id, self.node.clock.now_ns(), stop_price=stop))

    def on_segment(self, symbol: str, start: Decimal, end: Decimal) -> None:
        """The price moved from ``start`` to ``end``: move trailing stops, then trigger the stops it reached."""
        armed_here = self._armed.get(symbol)
        if not armed_here:
            return
        for armed in list(armed_here.values()):
            if armed.order_id not in armed_here:
                continue  # canceled or triggered by a reaction to an earlier stop in this same move
            order = self.node.orders[armed.order_id]
            sell = armed.side is OrderSide.SELL
            trailing = order.order_type is OrderType.TRAILING_STOP
            if trailing and armed.extreme is None:
                armed.extreme = start
                self._set_trailing_stop(order, armed, self._trail(order, start))
            # Trigger against the stop as it stood when the move began; only then let a trailing stop follow
            # a favourable move (it trails behind the price, so moving it can never trigger it).
            stop = armed.stop
            if stop is not None:
                if sell and min(start, end) <= stop:
                    self._trigger(order, armed, start if start <= stop else stop)
                    continue
                if not sell and max(start, end) >= stop:
                    self._trigger(order, armed, start if start >= stop else stop)
                    continue
            if trailing:
                favourable = end > start if sell else end < start
                if favourable and armed.extreme is not None:
                    best = max(armed.extreme, end) if sell else min(armed.extreme, end)
                    if best != armed.extreme:
                        armed.extreme = best
                        self._set_trailing_stop(order, armed, self._trail(order, best))

    def _trigger(self, order: Order, armed: _Armed, fill_ref: Decimal) -> None:
        node = self.node
        self._armed[order.symbol].pop(order.id, None)
        sibling_id = self._oco.get(order.id)
        wait_for = None
        if sibling_id is not None:
            sibling = node.orders.get(sibling_id)
            if sibling is not None and not sibling.is_terminal:
                node.cancel(sibling_id, reason="OCO: the other leg triggered")
                shares = order.id in self._parent or not node.ledger.has_reservation(order.id)
                if shares and not sibling.is_terminal:
                    # The stop shares what it sells with the other leg (a bracket's take-profit, or an OCO limit
                    # holding the common lock), whose cancel is still in flight (venue latency): it may yet
                    # fill. Sending now could sell twice, and the other leg still holds the lock; the stop goes
                    # out once the other leg is done.
                    wait_for = sibling_id
        node.emit(order, OrderTriggered(order.id, node.clock.now_ns(), trigger_price=armed.stop))
        if wait_for is not None:
            self._waiting[wait_for] = (order.id, fill_ref)
            return
        self._send_triggered(order, fill_ref)

    def _send_triggered(self, order: Order, fill_ref: Decimal | None) -> None:
        """Lock what a triggered stop needs (unless it already holds a lock) and send it to the venue."""
        node = self.node
        now = node.clock.now_ns()
        inst = node.instruments.get(order.symbol)
        if not node.ledger.has_reservation(order.id):
            price = order.price if order.order_type is OrderType.STOP_LIMIT else fill_ref
            if price is None:
                price = node.last_price(order.symbol)
            collar = node.venue_for(order.symbol).capabilities.market_collar_bps
            if price is not None and order.order_type is not OrderType.STOP_LIMIT and collar is not None:
                # A market order in the book may walk up to the collar: lock what it may cost, not the trigger.
                price = inst.round_price(price * (1 + collar / _BPS), "up")
            try:
                reserve_and_record(node, order.account, order.id, inst, order.side, order.leaves_quantity, price)
            except ValidationError as exc:
                node.emit(
                    order, OrderRejected(order.id, now, reason=RejectReason.INSUFFICIENT_BALANCE, message=exc.message)
                )
                return
        market = order.order_type is not OrderType.STOP_LIMIT
        trigger = fill_ref
        if not market and fill_ref is not None and order.price is not None:
            # A stop-limit whose limit is marketable where it triggered trades there (as a taker, never beyond
            # its limit); one that gapped past its limit rests until the market comes back to it.
            marketable = order.price >= fill_ref if order.side is OrderSide.BUY else order.price <= fill_ref
            trigger = fill_ref if marketable else None
        node.send_to_venue(order, key=order.id, market=market, trigger_price=trigger)

    def _release_waiting(self, sibling: Order) -> None:
        """The take-profit a triggered stop-loss waited for is done: send the stop for what is left to protect."""
        node = self.node
        stop_id, fill_ref = self._waiting.pop(sibling.id)
        stop = node.orders[stop_id]
        if stop.is_terminal or stop.status is OrderStatus.PENDING_CANCEL:
            return
        entry_id = self._parent.get(stop_id)
        if entry_id is not None:
            protect = node.orders[entry_id].filled_quantity - sibling.filled_quantity - stop.filled_quantity
        else:  # a plain OCO: what the other leg sold during its cancel is no longer there to stop out
            protect = stop.leaves_quantity - sibling.filled_quantity
        if protect <= 0:
            node.cancel(stop_id, reason="OCO: the position is closed")
            return
        target = stop.filled_quantity + protect
        if target != stop.quantity:
            node.emit(stop, OrderUpdated(stop.id, node.clock.now_ns(), quantity=target))
        self._send_triggered(stop, fill_ref)

    # -- icebergs -------------------------------------------------------------------------------------------

    def next_slice(self, order: Order) -> None:
        n = self._slice_no.get(order.id, 0) + 1
        self._slice_no[order.id] = n
        key = f"{order.id}/{n}"
        self._key_order[key] = order.id
        qty = self.venue_leaves(order)
        self._slice_left[order.id] = qty
        self.node.send_to_venue(order, key=key, quantity=qty, market=False)

    def restore_slice(self, order_id: str, n: int, left: Decimal) -> None:
        """After a restart on a venue that kept it: slice ``n`` of an iceberg is the current one, ``left`` to fill."""
        self._slice_no[order_id] = n
        self._slice_left[order_id] = left
        self._key_order[f"{order_id}/{n}"] = order_id

    def slice_resized(self, order: Order) -> None:
        """The working slice of an iceberg was modified: what it still has to fill is its new size."""
        if order.id in self._slice_left:
            self._slice_left[order.id] = self.venue_leaves(order)

    # -- expiry ---------------------------------------------------------------------------------------------

    def schedule_expiry(self, order: Order) -> None:
        assert order.expires_at is not None
        order_id = order.id
        self.node.clock.set_timer(f"gtd:{order_id}", lambda _n, _t: self.node.expire(order_id), at_ns=order.expires_at)

    # -- reactions ------------------------------------------------------------------------------------------

    def before_cancel(self, order: Order) -> None:
        armed = self._armed.get(order.symbol)
        if armed is not None:
            armed.pop(order.id, None)

    def on_fill(self, order: Order, fill: OrderFilled, key: str) -> None:
        node = self.node
        if order.order_type is OrderType.ICEBERG and key == f"{order.id}/{self._slice_no.get(order.id)}":
            left = self._slice_left.get(order.id, Decimal(0)) - fill.last_qty
            self._slice_left[order.id] = left
            if left <= 0 and not order.is_terminal and order.status is not OrderStatus.PENDING_CANCEL:
                self.next_slice(order)
        if order.id in self._bracket:
            self._sync_bracket(order.id)
            return
        entry_id = self._parent.get(order.id)
        if entry_id is not None:
            self._sync_bracket(entry_id)
            return
        sibling_id = self._oco.get(order.id)
        if sibling_id is not None:
            sibling = node.orders.get(sibling_id)
            if sibling is not None and not sibling.is_terminal:
                node.cancel(sibling_id, reason="OCO: the other leg filled")

    def on_event(self, order: Order, event: OrderEvent) -> None:
        """Clean-up after terminal events (called by the node once an event is applied, never during replay)."""
        # Every event of every order passes here: the cheap tests first (a bracket leg's accept only with brackets).
        if self._waiting and order.is_terminal and order.id in self._waiting:
            self._release_waiting(order)
        if self._parent and isinstance(event, OrderAccepted) and order.id in self._parent:
            self._sync_bracket(self._parent[order.id])  # entry fills that came while the leg was in flight
        if isinstance(event, OrderUpdated) and event.stop_price is not None:
            armed_stop = self._armed.get(order.symbol, {}).get(order.id)
            if armed_stop is not None and order.order_type is not OrderType.TRAILING_STOP:
                armed_stop.stop = event.stop_price  # a modified stop triggers at its new price, not the old one
        if not order.is_terminal:
            return
        node = self.node
        if order.time_in_force is TimeInForce.GTD:
            node.clock.cancel_timer(f"gtd:{order.id}")  # a filled GTD order must not leave its timer behind
        if not isinstance(event, _TERMINAL):
            return
        armed = self._armed.get(order.symbol)
        if armed is not None:
            armed.pop(order.id, None)
        if order.id in self._bracket:
            if order.filled_quantity == 0:
                for child_id in self._bracket[order.id]:
                    child = node.orders[child_id]
                    if not child.is_terminal:
                        node.cancel(child_id, reason="bracket entry did not fill")
            return
        if order.id in self._parent:
            return  # a bracket leg: its sibling is managed by _sync_bracket / _trigger
        sibling_id = self._oco.get(order.id)
        if sibling_id is not None and isinstance(event, OrderCanceled) and not event.reason.startswith("OCO"):
            sibling = node.orders.get(sibling_id)
            if sibling is not None and not sibling.is_terminal and sibling.status is not OrderStatus.PENDING_CANCEL:
                node.cancel(sibling_id, reason="OCO: the other leg was canceled")

    def _sync_bracket(self, entry_id: str) -> None:
        """Size the exit legs to the position still to protect (entry filled minus exits filled)."""
        node = self.node
        entry = node.orders[entry_id]
        tp_id, sl_id = self._bracket[entry_id]
        tp, sl = node.orders[tp_id], node.orders[sl_id]
        protect = entry.filled_quantity - tp.filled_quantity - sl.filled_quantity
        for leg in (tp, sl):
            if leg.is_terminal or leg.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_SUBMIT):
                continue  # a leg still on its way to the venue is re-synced once accepted (see on_event)
            target = leg.filled_quantity + protect
            if protect <= 0:
                if leg.filled_quantity > 0 or tp.filled_quantity + sl.filled_quantity > 0:
                    node.cancel(leg.id, reason="OCO: the position is closed")
                continue
            if leg.status is OrderStatus.NEW:
                if target != leg.quantity:
                    node.emit(leg, OrderUpdated(leg.id, node.clock.now_ns(), quantity=target))
                self._activate(leg, is_take_profit=leg.id == tp_id)
            elif target != leg.quantity:
                self._resize(leg, target)

    def _activate(self, leg: Order, *, is_take_profit: bool) -> None:
        node = self.node
        now = node.clock.now_ns()
        if is_take_profit:
            inst = node.instruments.get(leg.symbol)
            reserve_and_record(node, leg.account, leg.id, inst, leg.side, leg.leaves_quantity, leg.price)
            node.route(leg)
        else:
            node.emit(leg, OrderSubmitted(leg.id, now))
            node.emit(leg, OrderAccepted(leg.id, now))
            self.arm(leg)

    def _resize(self, leg: Order, target: Decimal) -> None:
        node = self.node
        if leg.order_type in _STOPS and leg.status is OrderStatus.ACCEPTED:
            node.emit(leg, OrderUpdated(leg.id, node.clock.now_ns(), quantity=target))
            return
        node.modify(leg.id, quantity=target)

    # -- recovery -------------------------------------------------------------------------------------------

    def resume_timers(self, order: Order) -> None:
        """After a restart: the order's own timers (GTD expiry), for an order the venue still has."""
        if order.time_in_force.value == "GTD" and order.expires_at is not None:
            self.schedule_expiry(order)

    def resume(self, order: Order) -> None:
        node = self.node
        self.resume_timers(order)
        if order.status is OrderStatus.NEW:
            return  # a bracket leg waiting for its entry
        if order.order_type in _STOPS and order.status is OrderStatus.ACCEPTED:
            self.arm(order)
        elif order.order_type in _STOPS and order.status is OrderStatus.TRIGGERED:
            self._send_triggered(order, None)
        elif order.order_type is OrderType.ICEBERG:
            self.next_slice(order)
        elif order.contingency_type is ContingencyType.NONE or order.status is not OrderStatus.PENDING_SUBMIT:
            node.send_to_venue(
                order,
                key=replaced_key(order) or order.id,
                market=order.order_type is not OrderType.STOP_LIMIT and order.order_type not in (OrderType.LIMIT,),
            )
        else:
            node.send_to_venue(order, key=order.id)

    # -- snapshots ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The journaled part of the emulator (its OCO and bracket links) for a snapshot. Armed stops, iceberg
        slices and waiting stops are not saved: :meth:`resume` rebuilds them from the orders, as after a replay."""
        plain_oco = {a: b for a, b in self._oco.items() if a not in self._parent}
        return {
            "oco": sorted([a, b] for a, b in plain_oco.items() if a < b),
            "brackets": sorted([entry, tp, sl] for entry, (tp, sl) in self._bracket.items()),
        }

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Replace every link with those of :meth:`to_state` (the per-run state is left to :meth:`resume`)."""
        for table in (
            self._armed,
            self._slice_no,
            self._slice_left,
            self._key_order,
            self._oco,
            self._bracket,
            self._parent,
            self._waiting,
        ):
            table.clear()
        for a, b in state.get("oco", ()):
            self.restore_link(EmulatorLink("oco", a=a, b=b))
        for entry, tp, sl in state.get("brackets", ()):
            self.restore_link(EmulatorLink("bracket", entry=entry, tp=tp, sl=sl))

    def forget(self, order_ids: set[str]) -> None:
        """Drop what the emulator keeps of finished orders that leave memory (their links, slice counters)."""
        for a in [a for a in self._oco if a in order_ids]:
            del self._oco[a]
        for entry in [e for e in self._bracket if e in order_ids]:
            del self._bracket[entry]
        for leg in [leg for leg in self._parent if leg in order_ids]:
            del self._parent[leg]
        for key in [k for k, o in self._key_order.items() if o in order_ids]:
            del self._key_order[key]
        for order_id in order_ids:
            self._slice_no.pop(order_id, None)
            self._slice_left.pop(order_id, None)

    def linked(self, order_id: str) -> list[str]:
        """The orders ``order_id`` is tied to (OCO sibling, bracket entry or legs): they leave memory together."""
        out = []
        if order_id in self._oco:
            out.append(self._oco[order_id])
        if order_id in self._parent:
            entry = self._parent[order_id]
            out.append(entry)
            out.extend(self._bracket.get(entry, ()))
        if order_id in self._bracket:
            out.extend(self._bracket[order_id])
        return out


__all__ = ["OrderEmulator"]
