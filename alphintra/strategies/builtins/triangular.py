"""Triangular arbitrage on one venue: three pairs over three assets (e.g. ``BTC/USDT``, ``ETH/USDT``, ``ETH/BTC``).

Going round the triangle from the starting asset ``start`` (default: the asset two of the pairs are quoted in)
turns it into a second asset, that into the third and the third back into ``start``. Each hop is a buy (quote to
base, at the ask) or a sell (base to quote, at the bid) and pays its pair's taker fee, so one unit of ``start``
comes back as

    m = r1 x r2 x r3,   r = 1 / (ask x (1 + fee)) for a buy,   r = bid x (1 - fee) for a sell

The strategy goes round, in the direction with the larger ``m``, only when ``m - 1 > buffer``. Prices are the
book's best bid and ask when the venue shows a book for all three pairs (paper, live), else the closes of the three
bars of one instant (a backtest on bars).

Sizing: at most ``notional`` of ``start`` and no more than the account has available of it; each hop's quantity is
rounded down to its pair's lot and must meet the pair's minimum quantity and notional, or nothing is done.

The legs go one after the other as immediate-or-cancel limit orders at the price the edge was computed at (moved
``slippage_bps`` against the order), each sized by what the one before delivered (its fills, less fees): a leg
trades at that price or not at all. A leg that is refused, fills only in part, or is still working ``leg_timeout``
seconds after it was placed (its rest is cancelled) ends the walk: what the round trip holds of the other two
assets goes back to ``start`` through their pairs with it, at market, logged and alerted (``_legs``). After a
complete walk, what is left of the other assets goes back the same way when it makes a lot and the pair's minimum
notional (no alert: it is the rounding of the legs); dust below that stays, and the round trip's report says how
much. ``max_trips`` stops trading after that many round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from pydantic import Field

from alphintra.engine.core.enums import OrderSide
from alphintra.errors import ValidationError
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import BarSync, available, dec, instrument, market_buy_lock
from alphintra.strategies.builtins._legs import LEGGING_RULE, ZERO, Leg, Legging, RoundTrip
from alphintra.strategies.registry import register

if TYPE_CHECKING:
    from alphintra.engine.core.events import OrderEvent
    from alphintra.engine.core.instrument import Instrument
    from alphintra.engine.core.orders import Order

Quotes = dict[str, tuple[Decimal, Decimal]]  # symbol -> (bid, ask)


class TriangularParams(StrategyParams):
    notional: Decimal = Field(Decimal(1000), gt=0, description="most of the starting asset put round per trip")
    start: str | None = Field(None, description="starting asset (empty: the asset two of the pairs are quoted in)")
    buffer: Decimal = Field(
        Decimal("0.001"), ge=0, lt=1, description="edge wanted after the three taker fees, as a fraction"
    )
    fee: Decimal | None = Field(None, ge=0, lt=1, description="taker fee per leg for the edge (empty: the pairs')")
    slippage_bps: Decimal = Field(
        Decimal(0), ge=0, lt=1000, description="a leg's limit beyond the quoted price, in basis points"
    )
    leg_timeout: float = Field(30.0, gt=0, description="seconds a leg may work before its rest is cancelled")
    max_trips: int | None = Field(None, ge=1, description="stop after this many round trips (empty: no limit)")


@dataclass(frozen=True)
class Hop:
    symbol: str
    side: OrderSide  # BUY turns the quote into the base, SELL the base into the quote
    src: str
    dst: str


def _hop(inst: Instrument, src: str) -> Hop:
    if src == inst.quote:
        return Hop(inst.symbol, OrderSide.BUY, src, inst.base)
    return Hop(inst.symbol, OrderSide.SELL, src, inst.quote)


def cycles(insts: list[Instrument], start: str | None) -> tuple[str, list[list[Hop]]]:
    """The starting asset and the two ways round the triangle from it; ``ValidationError`` unless the three pairs
    join three assets, each in two of them."""
    assets = sorted({a for i in insts for a in (i.base, i.quote)})
    if len(assets) != 3 or len({frozenset((i.base, i.quote)) for i in insts}) != 3:
        raise ValidationError(
            "symbols",
            "must be three pairs over three assets (e.g. BTC/USDT, ETH/USDT, ETH/BTC)",
            [i.symbol for i in insts],
        )
    if start is None:
        quoted = [a for a in assets if sum(i.quote == a for i in insts) == 2]
        start = quoted[0] if quoted else insts[0].quote
    if start not in assets:
        raise ValidationError("start", f"must be one of the pairs' assets ({', '.join(assets)})", start)
    out = []
    for first in (i for i in insts if start in (i.base, i.quote)):
        hops, src, used = [], start, first
        for _ in range(3):
            hop = _hop(used, src)
            hops.append(hop)
            src = hop.dst
            used = next((i for i in insts if src in (i.base, i.quote) and i is not used), used)
        out.append(hops)
    return start, out


@register
class Triangular(Strategy):
    name = "triangular"
    description = "Triangular arbitrage on one venue: round three pairs when the cycle beats three fees + buffer"
    Params = TriangularParams
    symbols_required = 3

    @property
    def p(self) -> TriangularParams:
        return cast(TriangularParams, self.params)

    def on_start(self) -> None:
        self.insts = {s: instrument(self, s) for s in self.symbols}
        self.start, self.cycles = cycles(list(self.insts.values()), self.p.start)
        self.sync = BarSync(self.symbols)
        self.legging = Legging(self, timeout_ns=int(self.p.leg_timeout * 1e9))
        self.trip: RoundTrip | None = None
        self.cycle: list[Hop] = []
        self.expected = ZERO

    # -- prices and the edge ---------------------------------------------------------------------------------------

    def fee(self, symbol: str) -> Decimal:
        if self.p.fee is not None:
            return self.p.fee
        return max(self.insts[symbol].taker_fee, ZERO)  # a rebate does not apply to market orders' cost

    def quotes(self, closes: dict[str, float] | None) -> Quotes | None:
        books = {s: self.ctx.best_bid_ask(s) for s in self.symbols}
        if all(bid is not None and ask is not None for bid, ask in books.values()):
            return cast(Quotes, books)
        if closes is None:
            return None
        return {s: (dec(c), dec(c)) for s, c in closes.items()}

    def multiple(self, cycle: list[Hop], quotes: Quotes) -> Decimal:
        """What one unit of ``start`` comes back as, after the three fees."""
        m = Decimal(1)
        for hop in cycle:
            bid, ask = quotes[hop.symbol]
            f = self.fee(hop.symbol)
            m = m / (ask * (1 + f)) if hop.side is OrderSide.BUY else m * bid * (1 - f)
        return m

    def leg_price(self, hop: Hop, quotes: Quotes) -> Decimal:
        """A leg's limit: the quoted price, ``slippage_bps`` against the order, on the tick grid."""
        bid, ask = quotes[hop.symbol]
        inst, slip = self.insts[hop.symbol], self.p.slippage_bps / 10_000
        if hop.side is OrderSide.BUY:
            return inst.round_price(ask * (1 + slip), "up")
        return inst.round_price(bid * (1 - slip), "down")

    def size(self, hop: Hop, amount: Decimal, price: Decimal) -> Decimal:
        """The quantity of ``hop``'s pair that ``amount`` of its source asset trades at ``price`` (a buy pays the fee
        on top); zero below the pair's rules."""
        inst = self.insts[hop.symbol]
        if hop.side is OrderSide.BUY:
            qty = inst.round_qty(amount / (price * (1 + self.fee(hop.symbol))))
        else:
            qty = inst.round_qty(amount)
        if qty <= 0 or qty < inst.min_qty or qty * price < inst.min_notional:
            return ZERO
        return qty

    def plan(self, cycle: list[Hop], quotes: Quotes, amount: Decimal) -> Decimal:
        """The first leg's quantity when every hop of ``cycle`` clears its pair's rules, else zero."""
        first = ZERO
        for hop in cycle:
            price = self.leg_price(hop, quotes)
            qty = self.size(hop, amount, price)
            if qty == 0:
                return ZERO
            first = first or qty
            amount = qty if hop.side is OrderSide.BUY else qty * price * (1 - self.fee(hop.symbol))
        return first

    # -- hooks ----------------------------------------------------------------------------------------------------

    def on_bar(self, bar: BarData) -> None:
        self.legging.flush()
        closes = self.sync.update(bar)
        if self.trip is not None:
            self.legging.expire(self.trip, bar.symbol, bar.ts)
            return
        if self.p.max_trips is not None and self.legging.finished >= self.p.max_trips:
            return
        quotes = self.quotes(closes)
        if quotes is None:
            return
        m, cycle = max(((self.multiple(c, quotes), c) for c in self.cycles), key=lambda mc: mc[0])
        if m - 1 <= self.p.buffer:
            return
        amount = min(self.p.notional, available(self, self.start))
        first = self.plan(cycle, quotes, amount)
        if first == 0:
            return
        self.cycle, self.expected = cycle, m - 1
        self.trip = self.legging.open(self.start, amount)
        route = ">".join([cycle[0].src, *(h.dst for h in cycle)])
        self.signal("enter", str(self.expected), route=route, round_trip=self.trip.number)
        self._place(self.trip, 0, first, quotes)

    def on_order_update(self, order: Order, event: OrderEvent) -> None:
        trip = self.trip
        if trip is None or self.legging.placing or trip.working or all(leg.order is not order for leg in trip.legs):
            return
        self._advance(trip)

    # -- the walk -------------------------------------------------------------------------------------------------

    def _place(self, trip: RoundTrip, index: int, qty: Decimal, quotes: Quotes) -> None:
        hop = self.cycle[index]
        leg = self.legging.place(trip, hop.symbol, hop.side, qty, limit=self.leg_price(hop, quotes))
        if leg.done:  # refused at once: no order event will come
            self._advance(trip)

    def _advance(self, trip: RoundTrip) -> None:
        """Every leg placed so far is done: place the next, unwind a short one, or close the round trip."""
        if trip is not self.trip:  # already closed (an order event inside the placing of another)
            return
        last = trip.legs[-1]
        if trip.stage in ("unwind", "sweep"):
            short = [leg for leg in trip.unwinds if leg.short]
            if short:
                self.legging.alert(
                    "unwind_failed",
                    LEGGING_RULE,
                    "CRITICAL",
                    f"{self.name} round trip {trip.number}: unwinding came up short "
                    f"({'; '.join(leg.symbol + ' ' + leg.why() for leg in short)}); the residual stays in the account",
                    short[0].symbol,
                    round_trip=trip.number,
                )
            self._finish(trip)
            return
        index = len(trip.legs) - 1
        flows = trip.flows(self)
        if index == 0:
            # What the round trip put at stake is what its first leg took of the starting asset.
            trip.committed = -flows.get(self.start, ZERO)
        if last.short:
            self._unwind(trip, [last])
            return
        if index == len(self.cycle) - 1:
            self._unwind(trip, [])  # the rounding of the legs: left over, back to start when it makes a lot
            return
        hop = self.cycle[index + 1]
        amount = min(flows.get(hop.src, ZERO), available(self, hop.src))
        quotes = self._last_quotes()
        qty = self.size(hop, amount, self.leg_price(hop, quotes)) if hop.symbol in quotes else ZERO
        if qty == 0:
            # What the last leg delivered does not make one lot (or the minimum notional) of the next pair.
            failed = Leg(hop.symbol, hop.side, ZERO, refused=f"{amount} {hop.src} is below one lot")
            self._unwind(trip, [failed])
            return
        self._place(trip, index + 1, qty, quotes)

    def _last_quotes(self) -> Quotes:
        """The books' best prices, else the last trades'."""
        return self.quotes(None) or {s: (p, p) for s in self.symbols if (p := self.ctx.price(s)) is not None}

    def _unwind(self, trip: RoundTrip, failed: list[Leg]) -> None:
        """Back to ``start`` at market: what the round trip holds of each other asset, through its pair with
        ``start``. After ``failed`` legs this is an unwind (alerted); after a complete walk, a sweep of the rest."""
        trip.stage = "unwind" if failed else "sweep"
        orders: list[tuple[str, OrderSide, Decimal]] = []
        quotes = self._last_quotes()
        for asset, amount in sorted(trip.flows(self).items()):
            if asset == self.start or amount <= 0:
                continue
            inst = next(i for i in self.insts.values() if {i.base, i.quote} == {asset, self.start})
            hop = _hop(inst, asset)
            if hop.symbol not in quotes:
                continue
            bid, ask = quotes[hop.symbol]
            price = market_buy_lock(self, hop.symbol, ask) if hop.side is OrderSide.BUY else bid
            qty = self.size(hop, min(amount, available(self, asset)), price)
            if qty > 0:
                orders.append((hop.symbol, hop.side, qty))
        if failed:
            self.legging.unwind(trip, orders, failed)
        else:
            for symbol, side, qty in orders:
                self.legging.place(trip, symbol, side, qty, role="sweep")
        if not trip.working:  # nothing to undo, or every unwinding order refused at once
            self._advance(trip)

    def _finish(self, trip: RoundTrip) -> None:
        self.trip = None
        self.legging.finish(trip, expected=str(self.expected), completed=trip.stage != "unwind")


__all__ = ["Triangular", "TriangularParams", "cycles"]
