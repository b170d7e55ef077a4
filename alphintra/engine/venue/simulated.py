"""The simulated venue: the matching engine (book mode) or the bar fill model (bar mode) behind the Venue port.

See :mod:`alphintra.engine.venue.fill_model` for the rules. The venue calls its listener synchronously, always
after its own state is consistent, so the listener may call back into the venue (an OCO cancel on a fill).
Market data reaches it through its driver (:mod:`alphintra.engine.venue.sim_driver`): bars, the liquidity ladder
and the clock that delivers simulated latency. It loses its book when the process stops (``keeps_state`` False).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from alphintra.engine.core.enums import LiquiditySide, OrderSide, RejectReason, TimeInForce
from alphintra.engine.core.errors import NotFoundError
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.core.matching import MatchingEngine, MatchResult, MatchStatus
from alphintra.engine.data import Bar
from alphintra.engine.venue.base import (
    VenueBalances,
    VenueCapabilities,
    VenueFill,
    VenueListener,
    VenueOrder,
    VenueOrderState,
)
from alphintra.engine.venue.fill_model import FillModel

MAKER = LiquiditySide.MAKER
TAKER = LiquiditySide.TAKER
BUY = OrderSide.BUY
_BPS = Decimal(10_000)
LIQUIDITY_ACCOUNT = "__liquidity__"
_FILLS_KEPT = 10_000  # fills a reconciliation may ask for (the simulator keeps nothing across a restart anyway)

# How much more a venue order may fill at a price, given the account's funds (None: no limit).
CapacityFn = Callable[[str, Decimal], Decimal | None]
# Runs an action at an engine time (ns); the node passes one backed by its clock's timers.
ScheduleFn = Callable[[int, Callable[[], None]], None]


@dataclass(slots=True)
class _Working:
    """A venue order in bar mode (the book holds them in book mode)."""

    order: VenueOrder
    leaves: Decimal
    seq: int
    fresh: bool = True  # arrived since the last bar opened: gets the open-auction treatment
    # Arrived while a bar was being walked (an iceberg refill, a bracket exit): the path before its arrival is
    # unknown to it, so for the rest of that bar it trades only at its own limit price, never at a better one.
    mid_bar: bool = False


class SimulatedVenue:
    def __init__(
        self,
        instruments: InstrumentRegistry,
        fill_model: FillModel | None = None,
        *,
        name: str = "SIM",
        now: Callable[[], int] = lambda: 0,
    ) -> None:
        self.name = name
        self.instruments = instruments
        self.model = fill_model or FillModel()
        self._now = now
        self._listener: VenueListener | None = None
        self._capacity: CapacityFn | None = None
        self._schedule: ScheduleFn | None = None
        self._trade_seq = 0
        self._seq = 0
        # bar mode
        self._working: dict[str, dict[str, _Working]] = {}  # symbol -> key -> working order
        self._budget: dict[str, Decimal | None] = {}  # symbol -> lots left under the participation cap
        self._in_bar: dict[str, Bar] = {}
        # book mode
        self._engines: dict[str, MatchingEngine] = {}
        self._keys: dict[str, tuple[str, VenueOrder]] = {}  # key -> (symbol, order) for orders in a book
        self._inflight: list[tuple[int, int, Callable[[], None]]] = []
        self._in_flight: set[str] = set()  # keys whose submission has not reached the book yet
        # Modifications that reached the book before their order's submission (an iceberg's next slice, sent after
        # the modification was asked for, is already its target): applied when the submission arrives.
        self._early_modify: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        self._busy = False
        self._deferred: list[Callable[[], None]] = []
        self._last: dict[str, Decimal] = {}
        self._arriving = False  # running an action deferred to its arrival: its commands act at once
        self._fills: deque[VenueFill] = deque(maxlen=_FILLS_KEPT)
        book = self.model.mode == "book"
        self.capabilities = VenueCapabilities(
            keeps_state=False,
            market_collar_bps=self.model.market_collar_bps if book else None,
        )

    # -- wiring ---------------------------------------------------------------------------------------------

    def bind(
        self, listener: VenueListener, capacity: CapacityFn | None = None, schedule: ScheduleFn | None = None
    ) -> None:
        """Wire the venue to its node. With ``schedule``, delayed (latency) actions run on the node's clock timers,
        so a backtest's TestClock and a live clock deliver them alike; without it, :meth:`advance` delivers them.
        Binding again without them (the node's ``bind_venue``) keeps those the driver gave."""
        self._listener = listener
        if capacity is not None:
            self._capacity = capacity
        if schedule is not None:
            self._schedule = schedule

    @property
    def listener(self) -> VenueListener:
        if self._listener is None:
            raise RuntimeError("the venue is not bound to a listener")
        return self._listener

    def engine(self, symbol: str) -> MatchingEngine:
        eng = self._engines.get(symbol)
        if eng is None:
            self.instruments.get(symbol)
            eng = self._engines[symbol] = MatchingEngine()
        return eng

    def last_price(self, symbol: str) -> Decimal | None:
        return self._last.get(symbol)

    def _trade_id(self) -> str:
        self._trade_seq += 1
        return f"{self.name}-T{self._trade_seq}"

    @property
    def trade_seq(self) -> int:
        """The number of the last trade id issued (a snapshot keeps it; see ``venue.base.TradeIdCounter``)."""
        return self._trade_seq

    def restore_trade_seq(self, seq: int) -> None:
        self._trade_seq = max(self._trade_seq, seq)

    def trade_id_issued(self, trade_id: str) -> None:
        """Tell the venue that ``trade_id`` was issued before (a journaled fill, at recovery): its next trade ids
        continue after it, so an id is never issued twice in the life of a home. Ids of other venues (or not of
        this venue's form) are ignored."""
        head, sep, tail = trade_id.rpartition("-T")
        if sep and head == self.name and tail.isdigit():
            self._trade_seq = max(self._trade_seq, int(tail))

    # -- commands -------------------------------------------------------------------------------------------

    def submit(self, order: VenueOrder) -> None:
        if self.model.mode == "book":
            self._in_flight.add(order.key)  # working from the sender's view: a cancel may follow it
            self._later(lambda: self._book_submit(order))
        else:
            self._bar_submit(order)

    def cancel(self, key: str) -> None:
        if self.model.mode == "book":
            self._later(lambda: self._book_cancel(key))
        else:
            self._bar_cancel(key)

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None:
        """Change a working order's remaining quantity and/or limit price (see the matching engine's priority rules).

        Given by an action :meth:`defer` delivered, it acts at once (it has already travelled)."""
        if self.model.mode == "book" and not self._arriving:
            self._later(lambda: self._book_modify(key, leaves, price))
        elif self.model.mode == "book":
            self._book_modify(key, leaves, price)
        else:
            self._bar_modify(key, leaves, price)

    def defer(self, action: Callable[[], None]) -> bool:
        """Run ``action`` when a command given now would reach the book (latency, or a match being reported)."""
        if self.model.mode != "book" or (self.model.latency_ns <= 0 and not self._busy):
            return False

        def arrive() -> None:
            self._arriving = True
            try:
                action()
            finally:
                self._arriving = False

        self._later(arrive)
        return True

    def is_working(self, key: str) -> bool:
        if key in self._keys or key in self._in_flight:
            return True
        return any(key in orders for orders in self._working.values())

    # -- what the venue holds (reconciliation) ---------------------------------------------------------------

    def open_orders(self) -> list[VenueOrderState]:
        out = [self._state(w.order, w.leaves) for orders in self._working.values() for w in orders.values()]
        for key, (symbol, order) in self._keys.items():
            book_order = self.engine(symbol).book.get(key)
            if book_order is not None:
                inst = self.instruments.get(symbol)
                out.append(self._state(order, inst.lots_to_qty(book_order.qty)))
        return out

    def fills(self, since_ns: int) -> list[VenueFill]:
        return [f for f in self._fills if f.ts >= since_ns]

    def order_status(self, key: str) -> VenueOrderState | None:
        return next((o for o in self.open_orders() if o.key == key), None)

    def balances(self) -> list[VenueBalances] | None:
        return None  # the simulator settles in the node's ledger: it holds no balances of its own

    @staticmethod
    def _state(order: VenueOrder, leaves: Decimal) -> VenueOrderState:
        return VenueOrderState(
            order.key,
            order.account,
            order.symbol,
            order.side,
            order.quantity,
            order.quantity - leaves,
            "open",
            order.price,
            order.key,
        )

    def _filled(
        self, inst: Instrument, key: str, qty: Decimal, price: Decimal, liquidity: LiquiditySide, trade_id: str
    ) -> None:
        fill = VenueFill(
            key,
            trade_id,
            qty,
            price,
            liquidity,
            self._now(),
            key,
            inst.fee(qty, price, liquidity),
            inst.quote,
        )
        self._fills.append(fill)
        self.listener.venue_filled(fill)

    def has_working(self, symbol: str) -> bool:
        """Whether bar mode holds working orders of ``symbol`` (if not, a bar can only move the last price)."""
        return bool(self._working.get(symbol))

    def quiet_bar(self, bar: Bar) -> None:
        """A bar with no working order of its symbol (bar mode): only the last price moves."""
        self._last[bar.symbol] = bar.close

    def has_work(self, symbol: str) -> bool:
        """Whether a bar of ``symbol`` can change anything here (working orders, or a latency queue)."""
        return (
            bool(self._working.get(symbol))
            or bool(self._inflight)
            or (self.model.mode == "book" and any(sym == symbol for sym, _ in self._keys.values()))
        )

    # -- latency (book mode) -------------------------------------------------------------------------------

    def _later(self, action: Callable[[], None]) -> None:
        if self.model.latency_ns <= 0:
            self._exclusive(action)
            return
        if self._schedule is not None:
            self._schedule(self._now() + self.model.latency_ns, lambda: self._exclusive(action))
            return
        self._seq += 1
        self._inflight.append((self._now() + self.model.latency_ns, self._seq, action))
        self._inflight.sort()

    def _exclusive(self, action: Callable[[], None]) -> None:
        """Run a book action; actions the listener asks for while one runs (an iceberg refill, an OCO cancel)
        queue behind it. Matching never nests: every fill of one match is reported before the next match
        starts, so the listener never sees a fill of an order it has already moved past."""
        if self._busy:
            self._deferred.append(action)
            return
        self._busy = True
        try:
            action()
            while self._deferred:
                self._deferred.pop(0)()
        finally:
            self._busy = False
            self._deferred.clear()

    def next_due_ns(self) -> int | None:
        return self._inflight[0][0] if self._inflight else None

    def advance(self, now_ns: int) -> None:
        """Deliver the submissions whose simulated latency has elapsed."""
        while self._inflight and self._inflight[0][0] <= now_ns:
            _, _, action = self._inflight.pop(0)
            action()

    # -- bar mode -------------------------------------------------------------------------------------------

    def _bar_submit(self, order: VenueOrder) -> None:
        inst = self.instruments.get(order.symbol)
        self._seq += 1
        working = _Working(order, order.quantity, self._seq)
        self.listener.venue_accepted(order.key, self._now())
        bar = self._in_bar.get(order.symbol)
        if bar is not None and order.trigger_price is not None:
            # A stop triggered inside the bar being walked: it trades now, at its trigger price (a stop-limit
            # no worse than its limit; what it cannot fill rests at the limit for the rest of the path).
            self._working.setdefault(order.symbol, {})[order.key] = working
            price = self._slip(inst, order.side, order.trigger_price, bar)
            if order.price is None:
                self._fill_bar(inst, working, price, TAKER)
                self._finish_market(working)
                return
            price = min(price, order.price) if order.side is BUY else max(price, order.price)
            self._fill_bar(inst, working, price, TAKER)
            working.fresh = False
            working.mid_bar = True  # if it still works (not filled, not canceled by a listener), it rests
            return
        if bar is not None:
            working.fresh = False
            working.mid_bar = True
        self._working.setdefault(order.symbol, {})[order.key] = working

    def _bar_cancel(self, key: str) -> None:
        for orders in self._working.values():
            if key in orders:
                del orders[key]
                self.listener.venue_canceled(key, "canceled", self._now())
                return
        raise NotFoundError(f"venue order {key!r} is not working")

    def _bar_modify(self, key: str, leaves: Decimal | None, price: Decimal | None) -> None:
        for orders in self._working.values():
            w = orders.get(key)
            if w is not None:
                if leaves is not None:
                    w.leaves = leaves
                if price is not None:
                    o = w.order
                    w.order = VenueOrder(
                        o.key, o.account, o.symbol, o.side, o.quantity, price, o.time_in_force, o.post_only
                    )
                return
        raise NotFoundError(f"venue order {key!r} is not working")

    def _slip(self, inst: Instrument, side: OrderSide, price: Decimal, bar: Bar) -> Decimal:
        model = self.model
        if not model.slippage_bps and not model.slippage_ticks:
            return price
        sign = 1 if side is BUY else -1
        moved = price * (1 + sign * model.slippage_bps / _BPS) + sign * model.slippage_ticks * inst.tick_size
        ticks = (moved / inst.tick_size).to_integral_value(rounding=ROUND_CEILING if side is BUY else ROUND_FLOOR)
        slipped = inst.ticks_to_price(int(ticks))
        return min(slipped, bar.high) if side is BUY else max(slipped, bar.low)

    def _allowed(self, inst: Instrument, w: _Working, price: Decimal) -> Decimal:
        qty = w.leaves
        budget = self._budget.get(w.order.symbol)
        if budget is not None:
            qty = min(qty, budget)
        if self._capacity is not None:
            cap = self._capacity(w.order.key, price)
            if cap is not None:
                qty = min(qty, cap)
        return inst.round_qty(qty) if qty > 0 else Decimal(0)

    def _fill_bar(self, inst: Instrument, w: _Working, price: Decimal, liquidity: LiquiditySide) -> Decimal:
        qty = self._allowed(inst, w, price)
        if qty <= 0:
            return Decimal(0)
        w.leaves -= qty
        budget = self._budget.get(w.order.symbol)
        if budget is not None:
            self._budget[w.order.symbol] = budget - qty
        if w.leaves <= 0:
            self._working[w.order.symbol].pop(w.order.key, None)
        self._last[w.order.symbol] = price
        self._filled(inst, w.order.key, qty, price, liquidity, self._trade_id())
        return qty

    def _finish_market(self, w: _Working) -> None:
        """A market order fills what it can now; if capped by funds (not by volume), the rest is canceled."""
        if w.leaves > 0 and w.order.key in self._working.get(w.order.symbol, {}):
            budget = self._budget.get(w.order.symbol)
            if budget is None or budget > 0:
                del self._working[w.order.symbol][w.order.key]
                self.listener.venue_canceled(w.order.key, RejectReason.INSUFFICIENT_BALANCE.value, self._now())

    def begin_bar(self, bar: Bar) -> None:
        """The bar opens: market orders and marketable limits trade at the open (see the fill model)."""
        inst = self.instruments.get(bar.symbol)
        model = self.model
        if model.max_participation is None:
            self._budget[bar.symbol] = None
        else:
            self._budget[bar.symbol] = inst.round_qty(bar.volume * model.max_participation)
        self._in_bar[bar.symbol] = bar
        self._last[bar.symbol] = bar.open
        orders = self._working.get(bar.symbol)
        if not orders:
            return
        for w in sorted(orders.values(), key=lambda w: w.seq):
            if w.order.key not in orders:
                continue  # canceled by a listener reacting to an earlier fill
            order = w.order
            tif = order.time_in_force
            if order.is_market:
                self._fill_bar(inst, w, self._slip(inst, order.side, bar.open, bar), TAKER)
                self._finish_market(w)
                continue
            assert order.price is not None
            marketable = bar.open <= order.price if order.side is BUY else bar.open >= order.price
            if marketable and w.fresh:
                if order.post_only:
                    del orders[order.key]
                    self.listener.venue_rejected(
                        order.key,
                        RejectReason.POST_ONLY_WOULD_TRADE,
                        "post-only limit would trade at the open",
                        self._now(),
                    )
                    continue
                if tif is TimeInForce.FOK and self._allowed(inst, w, bar.open) < w.leaves:
                    del orders[order.key]
                    self.listener.venue_rejected(
                        order.key, RejectReason.FOK_NOT_FILLABLE, "not fully fillable at the open", self._now()
                    )
                    continue
                self._fill_bar(inst, w, bar.open, TAKER)
            if tif in (TimeInForce.IOC, TimeInForce.FOK) and order.key in orders:
                del orders[order.key]
                self.listener.venue_canceled(order.key, "IOC remainder", self._now())
            w.fresh = False

    def cross(self, symbol: str, start: Decimal, end: Decimal) -> None:
        """The price moved from ``start`` to ``end`` inside the current bar: fill the limits it reached."""
        orders = self._working.get(symbol)
        if not orders:
            return
        inst = self.instruments.get(symbol)
        lo, hi = (start, end) if start <= end else (end, start)
        for w in sorted(orders.values(), key=lambda w: w.seq):
            order = w.order
            if order.key not in orders or order.price is None:
                continue
            w.fresh = False
            if order.side is BUY and lo <= order.price:
                self._fill_bar(inst, w, order.price if w.mid_bar else min(order.price, start), MAKER)
            elif order.side is not BUY and hi >= order.price:
                self._fill_bar(inst, w, order.price if w.mid_bar else max(order.price, start), MAKER)
        self._last[symbol] = end

    def end_bar(self, bar: Bar) -> None:
        self._in_bar.pop(bar.symbol, None)
        self._last[bar.symbol] = bar.close
        orders = self._working.get(bar.symbol)
        if orders:
            for w in orders.values():
                w.mid_bar = False

    # -- book mode ------------------------------------------------------------------------------------------

    def _book_submit(self, order: VenueOrder) -> None:
        self._in_flight.discard(order.key)
        early = self._early_modify.pop(order.key, None)
        if early is not None:
            leaves, price = early
            order = dataclasses.replace(
                order,
                quantity=order.quantity if leaves is None else leaves,
                price=order.price if price is None or order.price is None else price,
            )
        inst = self.instruments.get(order.symbol)
        eng = self.engine(order.symbol)
        lots = inst.qty_to_lots(order.quantity)
        listener = self.listener
        now = self._now()
        if order.is_market:
            ref = self._reference(order.symbol, order.side)
            if ref is None:
                listener.venue_rejected(order.key, RejectReason.NO_LIQUIDITY, "no liquidity in the book", now)
                return
            collar = self.model.market_collar_bps / _BPS
            bound = ref * (1 + collar) if order.side is BUY else ref * (1 - collar)
            ticks = int((bound / inst.tick_size).to_integral_value(ROUND_FLOOR if order.side is BUY else ROUND_CEILING))
            tif = TimeInForce.FOK if order.time_in_force is TimeInForce.FOK else TimeInForce.IOC
            if self._capacity is not None:
                # As in bar mode: never trade more than the account can carry at the worst price it may pay.
                cap = self._capacity(order.key, inst.ticks_to_price(max(ticks, 1)))
                if cap is not None:
                    lots = min(lots, int(cap / inst.lot_size))
                if lots <= 0:
                    listener.venue_rejected(order.key, RejectReason.INSUFFICIENT_BALANCE, "no buying power", now)
                    return
            result = eng.limit(order.key, order.account, order.side, max(ticks, 1), lots, tif=tif)
        else:
            assert order.price is not None
            tif = order.time_in_force if order.time_in_force is not TimeInForce.GTD else TimeInForce.GTC
            result = eng.limit(
                order.key,
                order.account,
                order.side,
                inst.price_to_ticks(order.price),
                lots,
                tif=tif,
                post_only=order.post_only,
            )
        if result.status is MatchStatus.REJECTED:
            listener.venue_rejected(order.key, result.reason or RejectReason.VENUE_REJECTED, str(result.reason), now)
            return
        self._keys[order.key] = (order.symbol, order)
        listener.venue_accepted(order.key, now)
        self._report(inst, result, order.key)

    def _book_cancel(self, key: str) -> None:
        entry = self._keys.get(key)
        if entry is None or self.engine(entry[0]).cancel(key) == 0:
            # It filled (or was canceled) while the cancel was on its way: as a venue would, refuse the cancel
            # instead of failing; the fills were already reported.
            self._keys.pop(key, None)
            self.listener.venue_cancel_rejected(key, "the order is no longer working", self._now())
            return
        del self._keys[key]
        self.listener.venue_canceled(key, "canceled", self._now())

    def _book_modify(self, key: str, leaves: Decimal | None, price: Decimal | None) -> None:
        entry = self._keys.get(key)
        if entry is None:
            if key in self._in_flight:  # its submission is still on the way: the modification waits for it
                before = self._early_modify.get(key, (None, None))
                self._early_modify[key] = (
                    before[0] if leaves is None else leaves,
                    before[1] if price is None else price,
                )
            return  # otherwise it filled or was canceled while the modify was in flight; nothing is left to change
        symbol = entry[0]
        inst = self.instruments.get(symbol)
        result = self.engine(symbol).modify(
            key,
            price=None if price is None else inst.price_to_ticks(price),
            qty=None if leaves is None else inst.qty_to_lots(leaves),
        )
        if result.status is MatchStatus.REJECTED:
            # A post-only order moved across the spread. The node has already applied the new terms, so leaving
            # the old order resting would split the two views of it: the order is canceled instead, with the
            # reason (as venues that cancel a post-only amendment that would take do).
            self.engine(symbol).cancel(key)
            del self._keys[key]
            self.listener.venue_rejected(
                key, result.reason or RejectReason.VENUE_REJECTED, "modify would take liquidity", self._now()
            )
            return
        self._report(inst, result, key)

    def _reference(self, symbol: str, side: OrderSide) -> Decimal | None:
        book = self.engine(symbol).book
        inst = self.instruments.get(symbol)
        best = book.best_ask() if side is BUY else book.best_bid()
        if best is None:
            return None
        return inst.ticks_to_price(best)

    def _report(self, inst: Instrument, result: MatchResult, taker_key: str) -> None:
        listener = self.listener
        now = self._now()
        book = self.engine(inst.symbol).book
        # Whether the taker still rests is known now; say so before its fills, so that a listener reacting to
        # its last fill (an iceberg refill) sees it as no longer working.
        taker_gone = taker_key in self._keys and book.get(taker_key) is None
        if taker_gone:
            del self._keys[taker_key]
        for resting in result.stp_canceled:
            if resting.account != LIQUIDITY_ACCOUNT:
                self._keys.pop(str(resting.order_id), None)
                listener.venue_canceled(str(resting.order_id), RejectReason.SELF_TRADE.value, now)
        for fill in result.fills:
            price = inst.ticks_to_price(fill.price)
            qty = inst.lots_to_qty(fill.qty)
            trade_id = self._trade_id()
            self._last[inst.symbol] = price
            maker_key = str(fill.maker_id)
            if fill.maker_account != LIQUIDITY_ACCOUNT:
                if maker_key in self._keys and self.engine(inst.symbol).book.get(fill.maker_id) is None:
                    del self._keys[maker_key]
                self._filled(inst, maker_key, qty, price, MAKER, trade_id + "m")
            if fill.taker_account != LIQUIDITY_ACCOUNT:
                self._filled(inst, taker_key, qty, price, TAKER, trade_id)
        if taker_gone and result.canceled > 0:
            listener.venue_canceled(taker_key, "IOC remainder", now)

    # -- liquidity (book mode) -------------------------------------------------------------------------------

    def post_liquidity(self, symbol: str, levels: list[tuple[OrderSide, Decimal, Decimal]]) -> None:
        """Replace the liquidity model's resting ladder with ``levels`` (side, price, quantity).

        A new ladder that crosses resting user orders trades with them (the user is the maker), which is how a
        limit order gets filled when the replayed price moves through it.
        """
        self._exclusive(lambda: self._post_liquidity(symbol, levels))

    def _post_liquidity(self, symbol: str, levels: list[tuple[OrderSide, Decimal, Decimal]]) -> None:
        inst = self.instruments.get(symbol)
        eng = self.engine(symbol)
        for key in [k for k, o in eng.book.orders.items() if o.account == LIQUIDITY_ACCOUNT]:
            eng.cancel(key)
        for side, price, qty in levels:
            lots = inst.qty_to_lots(inst.round_qty(qty))
            if lots <= 0:
                continue
            self._seq += 1
            key = f"~{symbol}~{self._seq}"
            result = eng.limit(key, LIQUIDITY_ACCOUNT, side, inst.price_to_ticks(price), lots)
            if result.fills:
                self._report_liquidity_taker(inst, result)

    def _report_liquidity_taker(self, inst: Instrument, result: MatchResult) -> None:
        for fill in result.fills:
            price = inst.ticks_to_price(fill.price)
            self._last[inst.symbol] = price
            if fill.maker_account == LIQUIDITY_ACCOUNT:
                continue
            maker_key = str(fill.maker_id)
            if self.engine(inst.symbol).book.get(fill.maker_id) is None:
                self._keys.pop(maker_key, None)
            self._filled(inst, maker_key, inst.lots_to_qty(fill.qty), price, MAKER, self._trade_id())

    def depth(self, symbol: str, n: int = 10) -> dict[str, list[tuple[Decimal, Decimal, int]]]:
        inst = self.instruments.get(symbol)
        bids, asks = self.engine(symbol).book.depth(n)
        return {
            "bids": [(inst.ticks_to_price(lv.price), inst.lots_to_qty(lv.qty), lv.orders) for lv in bids],
            "asks": [(inst.ticks_to_price(lv.price), inst.lots_to_qty(lv.qty), lv.orders) for lv in asks],
        }


__all__ = ["LIQUIDITY_ACCOUNT", "CapacityFn", "ScheduleFn", "SimulatedVenue"]
