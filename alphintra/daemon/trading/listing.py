"""Paged order and trade listings, built off the engine thread.

A listing of 10,000 orders used to build every JSON view on the engine thread (``host.call``), which stalled
order entry for 0.6-1.2 s per order while it ran. Now the engine thread only picks the page: it walks its
collection newest first, applies the filters (attribute comparisons) and keeps, for each order, the order and
the tuple of its events at that instant (one attribute read). The views are made on a worker thread:

* a terminal order never changes again (``Order.apply`` refuses), so its view is read from the live object;
* a working order may change while the worker reads it, so its view is made from a copy replayed from the
  events tuple taken on the engine thread (``Order.replay``; the tuple is immutable and ``apply`` is the only
  mutator), never from a half-applied state.

Fill events are immutable, and the order fields a trade view needs (strategy) never change.

Pages: ``limit`` (1..``MAX_PAGE``) items newest first; when more match, the response's ``X-Next-Cursor`` header
holds the cursor to pass as ``cursor`` for the next page (the id of the last item returned). A cursor whose item
is gone is refused with 422 naming ``cursor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


# (order, its events at the pick, terminal then?): a plain tuple, the engine thread makes one per order listed.
OrderPick = tuple[Order, tuple["OrderEvent", ...], bool]


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
    out: list[Any] = []
    for item in items:
        if len(out) == limit:
            return out, True
        out.append(item)
    return out, False


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
    picks = [(o, o.events, o.is_terminal) for o in orders]
    return picks, (orders[-1].id if more and orders else None)


def order_views(picks: list[OrderPick], node: TradingNode | None = None) -> list[dict[str, Any]]:
    """Worker thread: the views of a page picked by :func:`pick_orders` (with ``node``: each order's venue)."""
    return [order_view(order if terminal else Order.replay(events), node) for order, events, terminal in picks]


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


def _trade_id(fill: OrderFilled) -> str:
    return fill.trade_id


__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "NEXT_CURSOR_HEADER",
    "OrderFilter",
    "OrderPick",
    "fill_views",
    "order_views",
    "pick_fills",
    "pick_orders",
]
