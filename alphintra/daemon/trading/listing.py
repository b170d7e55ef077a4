"""Paged order and trade listings, built off the engine thread.

A listing of 10,000 orders used to build every JSON view on the engine thread (``host.call``), which stalled
order entry for 0.6-1.2 s per order while it ran. Now the engine thread only picks the page: it walks its
collection newest first, applies the filters (attribute comparisons) and keeps, for each order, the tuple of its
events at that instant (one attribute read; the tuple is immutable, ``apply`` is the only mutator and the first
event names the order). The views are made on a worker thread, from a copy replayed from those events
(``Order.replay``), never from a live order the engine thread may be changing.

Fill events are immutable, and the order fields a trade view needs (strategy) never change.

An order's view is a function of its events (``apply`` is the only mutator) and of its venue, so its JSON is
kept by ``(id, events applied, venue)`` (:class:`OrderJsonCache`): a listing of orders that did not change since
the last one joins bytes instead of building and encoding every view again. A 10,000-order listing took about
0.9 s of a worker thread's CPU, holding the GIL the order path needs for as long; unchanged, it now costs a
lookup per order.

Pages: ``limit`` (1..``MAX_PAGE``) items newest first; when more match, the response's ``X-Next-Cursor`` header
holds the cursor to pass as ``cursor`` for the next page (the id of the last item returned). A cursor whose item
is gone is refused with 422 naming ``cursor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any, cast

from alphintra.daemon.protocol import json_bytes
from alphintra.daemon.trading.views import fill_view, order_view
from alphintra.engine.core.orders import Order
from alphintra.errors import ValidationError

if TYPE_CHECKING:
    from alphintra.engine.core.enums import OrderStatus
    from alphintra.engine.core.events import OrderEvent, OrderFilled, OrderInitialized
    from alphintra.engine.node import TradingNode

MAX_PAGE = 10_000
DEFAULT_PAGE = 200
NEXT_CURSOR_HEADER = "X-Next-Cursor"


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
    walk = _after(reversed(node.open_orders()), cursor, _order_id) if working_only else None
    # Filters to apply: none when walking the working orders for a plain open listing, or all orders for "all".
    trivial = where.trivial and (walk is not None or not where.open)
    if walk is None:
        walk = _after(reversed(node.orders.values()), cursor, _order_id)
    if walk is None:
        raise ValidationError("cursor", "is not the cursor of a page of this listing (take it from X-Next-Cursor)")
    orders, more = _page(walk if trivial else (o for o in walk if where.matches(o)), limit)
    return list(map(_events, orders)), (orders[-1].id if more and orders else None)


class OrderJsonCache:
    """The JSON of order views by ``(order id, events applied, venue)`` (see the module docstring).

    Bounded: past ``limit`` entries it starts again empty (a listing bigger than that still works, it just builds
    what it misses). Worker threads share it: a dict's get and set are atomic, and two threads that miss the same
    key build the same bytes.
    """

    def __init__(self, limit: int = 4 * MAX_PAGE) -> None:
        self._items: dict[tuple[str, int, str | None], bytes] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._items)

    def page(self, picks: list[OrderPick], node: TradingNode | None = None) -> bytes:
        """Worker thread: the JSON array of the views of a page picked by :func:`pick_orders` (with ``node``: each
        order's venue), byte for byte what encoding the list of views gives."""
        items = self._items
        venue_for = None if node is None else node.venue_for
        parts: list[bytes] = []
        for events in picks:
            first = cast("OrderInitialized", events[0])  # Order.replay refuses a history that starts otherwise
            venue = None if venue_for is None else venue_for(first.symbol).name
            key = (first.order_id, len(events), venue)
            raw = items.get(key)
            if raw is None:
                raw = json_bytes(order_view(Order.replay(events), node))
                if len(items) >= self._limit:
                    items.clear()
                items[key] = raw
            parts.append(raw)
        return b"[" + b",".join(parts) + b"]"


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


def _order_id(order: Order) -> str:
    return order.id


_events = attrgetter("events")


def _trade_id(fill: OrderFilled) -> str:
    return fill.trade_id


__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "NEXT_CURSOR_HEADER",
    "OrderFilter",
    "OrderJsonCache",
    "OrderPick",
    "fill_views",
    "pick_fills",
    "pick_orders",
]
