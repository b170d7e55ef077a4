"""The matching engine: price-time priority over one ``OrderBook``, in integer ticks and lots.

This is the low-level core of the simulated venue. It takes ``BookOrder`` records and returns ``MatchResult``s
with ``Fill`` records; the venue maps those to order events, fees and ledger entries. It never sees a Decimal, a
clock or an Order object, so the inner loop stays small (the figures are in ``alphintra.benchmarks.matching``).

Rules:

* **Limit orders** match against the opposite side while its best price is at least as good as the limit, level
  by level, oldest order first; each maker trades at its own price. The remainder rests (GTC and GTD; expiring a
  GTD order is the caller's job, since the core has no clock) or is canceled (IOC).
* **Market orders** walk the book without a price limit; whatever cannot fill is canceled (market orders never
  rest).
* **FOK** checks, before touching the book, that the whole quantity is available at acceptable prices (counting
  the effect of self-trade prevention); otherwise it is rejected with ``FOK_NOT_FILLABLE`` and nothing changes.
* **Post-only** orders that would take liquidity are rejected with ``POST_ONLY_WOULD_TRADE``.
* **Self-trade prevention** (``SelfTradeMode``; default ``CANCEL_RESTING``): when the incoming order meets a
  resting order of the same account, the resting order is canceled and matching goes on -- the newest instruction
  is taken as the account's current intent. ``CANCEL_TAKER`` stops and cancels the incoming remainder instead
  (reason ``SELF_TRADE``), ``CANCEL_BOTH`` does both, ``ALLOW`` trades.
* **Modify**: a smaller quantity at the same price keeps the queue position; a price change or a larger quantity
  re-enters the book as a new arrival (and may match). Quantities given to ``modify`` are *remaining* lots.
* **Cancel** is O(1) by id.

Fill ``seq`` numbers are per engine, consecutive from 1, so a replay of the same commands yields the same fills.
"""

from __future__ import annotations

from enum import StrEnum, unique
from typing import NamedTuple

from alphintra.engine.core.book import BookOrder, BookSide, OrderBook, OrderKey, RestingOrder
from alphintra.engine.core.enums import OrderSide, RejectReason, SelfTradeMode, TimeInForce
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError

BUY = OrderSide.BUY
SELL = OrderSide.SELL
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
_NO_LIMIT = -(1 << 62)
# Builds a Fill without the NamedTuple's Python-level __new__ (a measurable share of the matching loop).
_new_tuple = tuple.__new__  # a threshold below every key: a market order crosses any level


@unique
class MatchStatus(StrEnum):
    """What became of an incoming order (``filled``/``canceled`` in the result give the quantities)."""

    RESTED = "RESTED"  # nothing traded; all of it rests
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # some traded, the rest rests
    FILLED = "FILLED"  # all traded
    CANCELED = "CANCELED"  # the remainder was canceled (IOC, market, self-trade); fills may have happened
    REJECTED = "REJECTED"  # refused before touching the book (post-only, FOK); ``reason`` says why


class Fill(NamedTuple):
    """One trade between a resting maker and the incoming taker, at the maker's price."""

    seq: int
    price: int
    qty: int
    taker_side: OrderSide
    maker_id: OrderKey
    maker_account: str
    taker_id: OrderKey
    taker_account: str


class MatchResult(NamedTuple):
    status: MatchStatus
    filled: int  # lots of the incoming order that traded
    canceled: int  # lots of the incoming order that neither traded nor rest
    fills: tuple[Fill, ...] = ()
    reason: RejectReason | None = None
    stp_canceled: tuple[RestingOrder, ...] = ()  # resting orders removed by self-trade prevention


_RESTED = MatchResult(MatchStatus.RESTED, 0, 0)
_ST_RESTED = MatchStatus.RESTED
_ST_PARTIAL = MatchStatus.PARTIALLY_FILLED
_ST_FILLED = MatchStatus.FILLED
_ST_CANCELED = MatchStatus.CANCELED
_ST_REJECTED = MatchStatus.REJECTED


class MatchingEngine:
    """Matching for one instrument. ``book`` is readable (depth, L3, best prices); only this class mutates it."""

    __slots__ = ("_seq", "book", "stp")

    def __init__(self, stp: SelfTradeMode = SelfTradeMode.CANCEL_RESTING) -> None:
        self.book = OrderBook()
        self.stp = stp
        self._seq = 0

    @property
    def trade_seq(self) -> int:
        """The ``seq`` of the last fill (0 before any)."""
        return self._seq

    # -- commands ---------------------------------------------------------------------------------------------

    def limit(
        self,
        order_id: OrderKey,
        account: str,
        side: OrderSide,
        price: int,
        qty: int,
        *,
        tif: TimeInForce = GTC,
        post_only: bool = False,
    ) -> MatchResult:
        """Submit a limit order (``price`` in ticks, ``qty`` in lots)."""
        return self.submit(BookOrder(order_id, account, side, price, qty, post_only), tif)

    def market(self, order_id: OrderKey, account: str, side: OrderSide, qty: int, *, fok: bool = False) -> MatchResult:
        """Submit a market order: it walks the book; what does not fill is canceled (or, with ``fok``, rejected)."""
        if qty <= 0:
            raise ValidationError("qty", "must be > 0 lots", qty)
        if side is not BUY and side is not SELL:
            raise ValidationError("side", "must be an OrderSide", side)
        order = BookOrder(order_id, account, side, 0, qty)
        if order_id in self.book.orders:
            raise ConflictError(f"order {order_id!r} is already in the book")
        opp = self.book.asks if side is BUY else self.book.bids
        return self._take(order, opp, _NO_LIMIT, False, fok)

    def submit(self, order: BookOrder, tif: TimeInForce = GTC) -> MatchResult:
        """Submit a limit order record. The engine owns ``order`` afterwards (it may rest in the book as is)."""
        price = order.price
        qty = order.qty
        if qty <= 0 or price <= 0:
            raise ValidationError("qty" if qty <= 0 else "price", "must be > 0", qty if qty <= 0 else price)
        book = self.book
        if order.order_id in book.orders:
            raise ConflictError(f"order {order.order_id!r} is already in the book")
        side = order.side
        if side is BUY:
            opp = book.asks
            threshold = -price
        elif side is SELL:
            opp = book.bids
            threshold = price
        else:  # the book compares sides by identity: a plain "BUY" string would otherwise act as a sell
            raise ValidationError("side", "must be an OrderSide", side)
        keys = opp.keys
        if not keys or keys[-1] < threshold:  # does not cross: the common case of a passive quote
            if tif is GTC or (tif is not IOC and tif is not FOK):
                book.rest(order)
                return _RESTED
            if tif is FOK:
                return MatchResult(_ST_REJECTED, 0, qty, (), RejectReason.FOK_NOT_FILLABLE)
            return MatchResult(_ST_CANCELED, 0, qty)
        if order.post_only:
            return MatchResult(_ST_REJECTED, 0, qty, (), RejectReason.POST_ONLY_WOULD_TRADE)
        return self._take(order, opp, threshold, tif is not IOC and tif is not FOK, tif is FOK)

    def cancel(self, order_id: OrderKey) -> int:
        """Remove a resting order; returns the lots canceled (0 if it was not resting: filled, canceled, unknown)."""
        return self.book.remove(order_id)

    def modify(self, order_id: OrderKey, *, price: int | None = None, qty: int | None = None) -> MatchResult:
        """Change a resting order's price (ticks) and/or remaining quantity (lots).

        A reduction at the same price keeps priority and returns ``RESTED``; anything else re-enters the book as a
        new arrival and returns that submission's result. A post-only order moved across the spread is rejected
        and left where it was.
        """
        book = self.book
        order = book.orders.get(order_id)
        if order is None:
            raise NotFoundError(f"order {order_id!r} is not resting in the book")
        new_price = order.price if price is None else price
        new_qty = order.qty if qty is None else qty
        if new_price <= 0:
            raise ValidationError("price", "must be > 0", new_price)
        if new_qty <= 0:
            raise ValidationError("qty", "must be > 0 (cancel the order instead)", new_qty)
        if new_price == order.price and new_qty <= order.qty:
            if new_qty < order.qty:
                level = (book.bids if order.side is BUY else book.asks).levels[
                    order.price if order.side is BUY else -order.price
                ]
                level.qty -= order.qty - new_qty
                order.qty = new_qty
            return _RESTED
        if order.post_only:
            best = book.best_ask() if order.side is BUY else book.best_bid()
            if best is not None and (new_price >= best if order.side is BUY else new_price <= best):
                return MatchResult(_ST_REJECTED, 0, 0, (), RejectReason.POST_ONLY_WOULD_TRADE)
        self.cancel(order_id)
        return self.submit(BookOrder(order_id, order.account, order.side, new_price, new_qty, order.post_only))

    # -- the hot loop -----------------------------------------------------------------------------------------

    def _take(self, taker: BookOrder, opp: BookSide, threshold: int, rest: bool, fok: bool) -> MatchResult:
        """Match ``taker`` against ``opp`` while its best key >= ``threshold``; rest the remainder if ``rest``."""
        stp = self.stp
        check_stp = stp is not SelfTradeMode.ALLOW
        acct = taker.account
        qty = taker.qty
        if fok and not self._fillable(opp, threshold, qty, acct, stp):
            return MatchResult(_ST_REJECTED, 0, qty, (), RejectReason.FOK_NOT_FILLABLE)
        keys = opp.keys
        levels = opp.levels
        book = self.book
        orders = book.orders
        side = taker.side
        tid = taker.order_id
        seq = self._seq
        fills: list[Fill] = []
        stp_canceled: list[RestingOrder] | None = None
        taker_stopped = False
        remaining = qty
        while remaining and keys and keys[-1] >= threshold:
            key = keys[-1]
            level = levels[key]
            queue = level.queue
            price = level.price
            # Level totals live in locals inside the loop and are written back once per level.
            level_qty = level.qty
            level_count = level.count
            while remaining and queue:
                maker = queue[0]
                mqty = maker.qty
                if not mqty:  # a canceled record left behind; drop it now
                    queue.popleft()
                    continue
                if check_stp and maker.account == acct:
                    if stp is not SelfTradeMode.CANCEL_TAKER:
                        if stp_canceled is None:
                            stp_canceled = []
                        stp_canceled.append(maker.snapshot())
                        queue.popleft()
                        del orders[maker.order_id]
                        maker.qty = 0
                        level_qty -= mqty
                        level_count -= 1
                    if stp is not SelfTradeMode.CANCEL_RESTING:
                        taker_stopped = True
                        break
                    continue
                if mqty <= remaining:
                    trade = mqty
                    queue.popleft()
                    del orders[maker.order_id]
                    maker.qty = 0
                    level_count -= 1
                else:
                    trade = remaining
                    maker.qty = mqty - remaining
                level_qty -= trade
                remaining -= trade
                seq += 1
                fills.append(_new_tuple(Fill, (seq, price, trade, side, maker.order_id, maker.account, tid, acct)))
            if level_count:
                level.qty = level_qty
                level.count = level_count
            else:
                keys.pop()
                del levels[key]
            if taker_stopped:
                break
        self._seq = seq
        filled = qty - remaining
        canceled_makers = () if stp_canceled is None else tuple(stp_canceled)
        if taker_stopped and remaining:
            return MatchResult(_ST_CANCELED, filled, remaining, tuple(fills), RejectReason.SELF_TRADE, canceled_makers)
        if not remaining:
            return MatchResult(_ST_FILLED, filled, 0, tuple(fills), None, canceled_makers)
        if rest:
            taker.qty = remaining
            book.rest(taker)
            return MatchResult(_ST_PARTIAL if filled else _ST_RESTED, filled, 0, tuple(fills), None, canceled_makers)
        return MatchResult(_ST_CANCELED, filled, remaining, tuple(fills), None, canceled_makers)

    @staticmethod
    def _fillable(opp: BookSide, threshold: int, qty: int, acct: str, stp: SelfTradeMode) -> bool:
        """Whether ``qty`` lots can trade at acceptable levels, as ``_take`` would match them."""
        levels = opp.levels
        need = qty
        for key in reversed(opp.keys):
            if key < threshold:
                return False
            level = levels[key]
            if stp is SelfTradeMode.ALLOW:
                need -= level.qty
            else:
                for maker in level.queue:
                    if not maker.qty:
                        continue
                    if maker.account == acct:
                        if stp is SelfTradeMode.CANCEL_RESTING:
                            continue  # it would be canceled, not traded
                        return False  # matching would stop here
                    need -= maker.qty
                    if need <= 0:
                        return True
            if need <= 0:
                return True
        return False

    # -- views ------------------------------------------------------------------------------------------------

    def state(self) -> tuple[int, list[RestingOrder], list[RestingOrder]]:
        """Everything that determines future behaviour: the fill sequence and both L3 queues (for replay checks)."""
        bids, asks = self.book.l3()
        return self._seq, bids, asks


__all__ = ["Fill", "MatchResult", "MatchStatus", "MatchingEngine"]
