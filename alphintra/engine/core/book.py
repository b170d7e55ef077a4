"""A limit order book in integer ticks and lots: the passive data structure the matching engine works on.

Layout, chosen for CPython speed:

* each side keeps ``levels: dict[key -> PriceLevel]`` and ``keys``, a list sorted ascending with the *best* level
  last, so the best price is ``keys[-1]`` and removing an exhausted best level is ``keys.pop()`` (O(1)). Bids use
  ``key = price``, asks ``key = -price``. A new level is placed with ``bisect.insort`` (a C memmove; books have
  hundreds of levels, not millions);
* each level is a FIFO ``deque`` of ``BookOrder`` records (time priority) plus running totals of live quantity and
  live order count;
* ``orders`` maps every resting order id to its record, so a cancel is O(1): the record is marked dead
  (``qty = 0``) and left in its queue, to be skipped when it reaches the front. A level whose queue holds more than
  twice as many dead records as live ones is compacted, which keeps memory and scans bounded (amortised O(1)).

Nothing here knows about Decimals, instruments, fees or clocks; ``matching.MatchingEngine`` adds the rules.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Hashable, Iterator
from typing import NamedTuple

from alphintra.engine.core.enums import OrderSide

BUY = OrderSide.BUY
SELL = OrderSide.SELL

OrderKey = Hashable
"""A book order id: whatever the venue uses (an int sequence is the cheapest, a str works as well)."""


class BookOrder:
    """A resting (or incoming) order as the book sees it. ``qty`` is the remaining quantity in lots; 0 = gone.

    Callers treat a record handed to the engine as owned by it; read the book through ``RestingOrder`` snapshots.
    """

    __slots__ = ("account", "order_id", "post_only", "price", "qty", "side")

    def __init__(
        self, order_id: OrderKey, account: str, side: OrderSide, price: int, qty: int, post_only: bool = False
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.side = side
        self.price = price
        self.qty = qty
        self.post_only = post_only

    def snapshot(self) -> RestingOrder:
        return RestingOrder(self.order_id, self.account, self.side, self.price, self.qty)

    def __repr__(self) -> str:
        return (
            f"BookOrder({self.order_id!r}, {self.account!r}, {self.side.value}, price={self.price}, "
            f"qty={self.qty}, post_only={self.post_only})"
        )


class RestingOrder(NamedTuple):
    """An immutable view of one resting order (L3 entry)."""

    order_id: OrderKey
    account: str
    side: OrderSide
    price: int
    qty: int


class DepthLevel(NamedTuple):
    """One aggregated price level (L2 entry)."""

    price: int
    qty: int
    orders: int


class PriceLevel:
    __slots__ = ("count", "price", "qty", "queue")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[BookOrder] = deque()
        self.qty = 0  # live lots
        self.count = 0  # live orders

    def live(self) -> Iterator[BookOrder]:
        return (o for o in self.queue if o.qty)


class BookSide:
    """One side of the book. ``keys`` ascending with the best level last (``key = price`` for bids, ``-price`` for
    asks)."""

    __slots__ = ("is_bid", "keys", "levels", "sign")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.sign = 1 if is_bid else -1
        self.keys: list[int] = []
        self.levels: dict[int, PriceLevel] = {}

    def best_price(self) -> int | None:
        keys = self.keys
        return keys[-1] * self.sign if keys else None

    def drop_level(self, key: int) -> None:
        """Remove an emptied level (the best one is the common case and costs a pop)."""
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]
        del self.levels[key]

    def depth(self, n: int) -> list[DepthLevel]:
        levels = self.levels
        out = []
        for key in reversed(self.keys[-n:] if n > 0 else []):
            level = levels[key]
            out.append(DepthLevel(level.price, level.qty, level.count))
        return out

    def resting(self) -> list[RestingOrder]:
        levels = self.levels
        return [o.snapshot() for key in reversed(self.keys) for o in levels[key].live()]

    @property
    def total_qty(self) -> int:
        return sum(level.qty for level in self.levels.values())


class OrderBook:
    """Resting orders of one instrument, in price-time priority. Mutated only by ``MatchingEngine``."""

    __slots__ = ("asks", "bids", "orders")

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.orders: dict[OrderKey, BookOrder] = {}

    # -- mutation (engine-internal) ---------------------------------------------------------------------------

    def rest(self, order: BookOrder) -> None:
        """Append ``order`` at the back of its price level (no matching; the caller checked it does not cross)."""
        if order.side is BUY:
            side = self.bids
            key = order.price
        else:
            side = self.asks
            key = -order.price
        level = side.levels.get(key)
        if level is None:
            level = side.levels[key] = PriceLevel(order.price)
            insort(side.keys, key)
        level.queue.append(order)
        level.qty += order.qty
        level.count += 1
        self.orders[order.order_id] = order

    def remove(self, order_id: OrderKey) -> int:
        """Take a resting order out of the book; returns the lots it still had (0 if it was not resting)."""
        order = self.orders.pop(order_id, None)
        if order is None:
            return 0
        if order.side is BUY:
            side = self.bids
            key = order.price
        else:
            side = self.asks
            key = -order.price
        qty = order.qty
        order.qty = 0  # dead: skipped (and dropped) when it reaches the front of its queue
        level = side.levels[key]
        level.qty -= qty
        level.count -= 1
        if level.count == 0:
            side.drop_level(key)
        elif len(level.queue) > 2 * level.count + 8:
            level.queue = deque(o for o in level.queue if o.qty)
        return qty

    # -- queries ----------------------------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        keys = self.bids.keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self.asks.keys
        return -keys[-1] if keys else None

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid >= ask

    def get(self, order_id: OrderKey) -> RestingOrder | None:
        order = self.orders.get(order_id)
        return None if order is None else order.snapshot()

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.orders

    def __len__(self) -> int:
        return len(self.orders)

    def depth(self, n: int = 10) -> tuple[list[DepthLevel], list[DepthLevel]]:
        """L2: the best ``n`` levels of each side, best first: (bids descending, asks ascending)."""
        return self.bids.depth(n), self.asks.depth(n)

    def l3(self) -> tuple[list[RestingOrder], list[RestingOrder]]:
        """L3: every resting order in priority order (best price first, then arrival), bids then asks."""
        return self.bids.resting(), self.asks.resting()

    def queue_position(self, order_id: OrderKey) -> int | None:
        """How many lots rest ahead of ``order_id`` at its price (what a queue-position fill model needs)."""
        order = self.orders.get(order_id)
        if order is None:
            return None
        side = self.bids if order.side is BUY else self.asks
        ahead = 0
        for other in side.levels[order.price * side.sign].queue:
            if other is order:
                return ahead
            ahead += other.qty
        raise AssertionError("a resting order is missing from its level")  # pragma: no cover


__all__ = ["BookOrder", "BookSide", "DepthLevel", "OrderBook", "OrderKey", "PriceLevel", "RestingOrder"]
