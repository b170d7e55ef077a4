"""Paged order and trade listings, built off the engine thread.

A listing of 10,000 orders used to build every JSON view on the engine thread (``host.call``), which stalled
order entry for 0.6-1.2 s per order while it ran. Now the engine thread only picks the page: it walks its
collection newest first, applies the filters (attribute comparisons) and keeps, for each order, the tuple of its
events at that instant (one attribute read; the tuple is immutable, ``apply`` is the only mutator and the first
event names the order). The views are made on a worker thread, from a copy replayed from those events
(``Order.replay``), never from a live order the engine thread may be changing.

Fill events are immutable, and the order fields a trade view needs (strategy) never change.

An order's view is a function of its events (``apply`` is the only mutator) and of its venue, so its JSON is
kept by the events tuple it was made from (:class:`OrderJsonCache`): a listing of orders that did not change since
the last one joins bytes instead of building and encoding every view again. A 10,000-order listing took about
0.9 s of a worker thread's CPU, holding the GIL the order path needs for as long; unchanged, it now costs a
lookup per order.

The body leaves in pieces of about ``CHUNK_BYTES`` (:func:`array_chunks`), each its own write on the event loop:
a 10,000-order listing is some 6 MB, and one write of it copied it twice, under the GIL, in one step of the loop
that every order's answer waits behind.

Pages: ``limit`` (1..``MAX_PAGE``) items newest first; when more match, the response's ``X-Next-Cursor`` header
holds the cursor to pass as ``cursor`` for the next page (the id of the last item returned). A cursor whose item
is gone is refused with 422 naming ``cursor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from alphintra.daemon.protocol import json_bytes
from alphintra.daemon.trading.views import fill_view, order_view
from alphintra.engine.core.orders import Order
from alphintra.errors import ValidationError

if TYPE_CHECKING:
    from alphintra.engine.core.enums import OrderStatus
    from alphintra.engine.core.events import OrderEvent, OrderFilled
    from alphintra.engine.node import TradingNode

MAX_PAGE = 10_000
DEFAULT_PAGE = 200
NEXT_CURSOR_HEADER = "X-Next-Cursor"
# Bytes per piece of a listing's body (array_chunks): a write this size is a few microseconds of the event loop.
CHUNK_BYTES = 64 * 1024


# An order's events at the pick (the first one is its OrderInitialized): the engine thread reads one per order.
OrderPick = tuple["OrderEvent", ...]


@dataclass(frozen=True, slots=True)
class OrderFilter:
    status: OrderStatus | None = None
    symbol: str | None = None
    strategy: str | None = None
    open: bool = False
    # Parent ids (execution algorithms) whose child orders the listing leaves out.
    hide_children_of: frozenset[str] = frozenset()
    accounts: frozenset[str] | None = None  # the caller's accounts (ownership.py); None: every account

    @property
    def trivial(self) -> bool:
        """Nothing to filter beyond the collection walked (the common "all" and "open" listings)."""
        return (
            self.status is None
            and self.symbol is None
            and self.strategy is None
            and not self.hide_children_of
            and self.accounts is None
        )

    def matches(self, order: Order) -> bool:
        return (
            (self.status is None or order.status is self.status)
            and (self.symbol is None or order.symbol == self.symbol)
            and (self.strategy is None or order.strategy == self.strategy)
            and not (self.open and order.is_terminal)
            and not (order.parent_order_id is not None and order.parent_order_id in self.hide_children_of)
            and (self.accounts is None or order.account in self.accounts)
        )


def _after(items: Iterable[Any], cursor: str | None, key: Any) -> Iterator[Any] | None:
    """The items after the one whose key is ``cursor`` (all of them without a cursor); None when it is absent."""
    iterator = iter(items)
    if cursor is None:
        return iterator
    for item in iterator:
        if key(item) == cursor:
            return iterator
    return None


def _page(items: Iterator[Any], limit: int) -> tuple[list[Any], bool]:
    # islice in C: the engine thread walks a 10,000-order page without a Python step per order
    out = list(islice(items, limit + 1))
    more = len(out) > limit
    if more:
        out.pop()
    return out, more


def pick_orders(
    node: TradingNode, where: OrderFilter, limit: int, cursor: str | None
) -> tuple[list[OrderPick], str | None]:
    """Engine thread: one page of matching orders, newest first, and the cursor of the next page (or None)."""
    # An open-only listing walks the working orders, not every order ever placed; a cursor whose order has
    # finished since is no longer among them, and is looked up among all orders instead.
    working_only = where.open or (where.status is not None and not where.status.is_terminal)
    # The working orders' own dict, newest first, without a copy: this runs on the engine thread, which nothing else
    # changes it from, and a copy (open_orders) was a Python step per order while order entry waited.
    walk = _after(reversed(node.working.values()), cursor, _order_id) if working_only else None
    # Filters to apply: none when walking the working orders for a plain open listing, or all orders for "all".
    trivial = where.trivial and (walk is not None or not where.open)
    if walk is None:
        walk = _after(reversed(node.orders.values()), cursor, _order_id)
    if walk is None:
        raise ValidationError("cursor", "is not the cursor of a page of this listing (take it from X-Next-Cursor)")
    orders, more = _page(walk if trivial else (o for o in walk if where.matches(o)), limit)
    return list(map(_events, orders)), (orders[-1].id if more and orders else None)


class OrderJsonCache:
    """The JSON of order views by the tuple of events they were made from (see the module docstring).

    An entry holds its events tuple alive, so its ``id`` stays that tuple's while the entry exists: a page's
    events are looked up by ``id`` (an int: a C loop over 10,000 of them takes a fraction of a millisecond, where
    hashing a key tuple per order held the GIL for milliseconds in one uninterruptible step). A new event makes a
    new tuple, so a changed order misses and is built again. The venue an order is shown on can change (routes):
    the cache starts again empty when the venue of a page's symbol differs from the one its views were made with.

    Bounded: past ``limit`` entries it starts again empty (a listing bigger than that still works, it just builds
    what it misses). Worker threads share it: a dict's get and set are atomic, and two threads that miss the same
    entry build the same bytes.
    """

    def __init__(self, limit: int = 4 * MAX_PAGE) -> None:
        self._items: dict[int, tuple[OrderPick, bytes]] = {}
        self._venues: dict[str, str] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._items)

    def items(self, picks: list[OrderPick], node: TradingNode | None = None) -> list[bytes]:
        """Worker thread: the JSON of each order view of a page picked by :func:`pick_orders` (with ``node``: each
        order's venue), in the page's order. Lookups are C loops (``map``); only the orders missed take a Python
        step each, and the venues are asked once per symbol of the page."""
        if node is not None:
            venue_for = node.venue_for
            venues = {s: venue_for(s).name for s in set(map(_symbol, map(_first, picks)))}
            known = self._venues
            if any(known.get(symbol, venue) != venue for symbol, venue in venues.items()):
                self._items = {}  # a symbol's venue changed: views made before show the old one
            known.update(venues)
        cached = self._items
        entries: list[Any] = list(map(cached.get, map(id, picks)))
        if None in entries:
            for i, entry in enumerate(entries):
                if entry is None:
                    events = picks[i]
                    entry = entries[i] = (events, json_bytes(order_view(Order.replay(events), node)))
                    if len(cached) >= self._limit:
                        cached.clear()
                    cached[id(events)] = entry
        return list(map(_second, entries))


def array_chunks(items: list[bytes], size: int = CHUNK_BYTES) -> list[bytes]:
    """The JSON array of ``items`` (each one encoded JSON value) as pieces of about ``size`` bytes, in order; their
    concatenation is the array. A big listing leaves as many small writes, with the event loop free between them:
    one write of the whole body copied it twice (megabytes) in one step that order entry waited behind."""
    if not items:
        return [b"[]"]
    total = sum(map(len, items)) + len(items)
    step = max(1, len(items) * size // total)
    pieces: list[bytes] = []
    for start in range(0, len(items), step):
        group = items[start : start + step]
        # One copy of each piece: the brackets and the comma before it ride on its first and last items.
        group[0] = (b"," if start else b"[") + group[0]
        if start + step >= len(items):
            group[-1] += b"]"
        pieces.append(b",".join(group))
    return pieces


def pick_fills(
    node: TradingNode,
    symbol: str | None,
    order_id: str | None,
    limit: int,
    cursor: str | None,
    accounts: frozenset[str] | None = None,
) -> tuple[list[tuple[OrderFilled, Order]], str | None]:
    """Engine thread: one page of fills (of ``accounts``; None: all), newest first, each with its order; and the
    next page's cursor."""
    walk = _after(reversed(node.fills), cursor, _trade_id)
    if walk is None:
        raise ValidationError("cursor", "is not the cursor of a page of this listing (take it from X-Next-Cursor)")
    matching = (
        f
        for f in walk
        if (order_id is None or f.order_id == order_id)
        and (symbol is None or f.symbol == symbol)
        and (accounts is None or f.account in accounts)
    )
    fills, more = _page(matching, limit)
    return [(f, node.orders[f.order_id]) for f in fills], (fills[-1].trade_id if more and fills else None)


def fill_views(picks: list[tuple[OrderFilled, Order]]) -> list[dict[str, Any]]:
    """Worker thread: fill events are immutable, and so are the order fields a trade view reads."""
    return [fill_view(fill, order) for fill, order in picks]


_first = itemgetter(0)
_second = itemgetter(1)
_symbol = attrgetter("symbol")


def _order_id(order: Order) -> str:
    return order.id


_events = attrgetter("events")


def _trade_id(fill: OrderFilled) -> str:
    return fill.trade_id


__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "NEXT_CURSOR_HEADER",
    "OrderFilter",
    "OrderJsonCache",
    "OrderPick",
    "array_chunks",
    "fill_views",
    "pick_fills",
    "pick_orders",
]
