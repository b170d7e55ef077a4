"""Cross-venue arbitrage: one asset quoted on two venues, modelled as two symbols ``A`` (first) and ``B`` (second).

At every instant both venues have a price for, the gap is ``g = (B - A) / A``. Closing a trade costs four taker
fees (buy and sell on each venue), so

* **entry** when ``|g| > 2 x (fee_A + fee_B) + min_edge``: if ``g > 0`` buy on A (cheap) and sell on B (dear),
  if ``g < 0`` the reverse; both legs the same quantity of the asset, ``notional`` worth at the dearer price;
* **unwind** when the gap has closed: the trade bought on A unwinds once ``g <= exit_gap``, the one bought on B
  once ``g >= -exit_gap``.

``fee`` overrides the instruments' taker fees in the cost (the fee a venue actually charges is the instrument's).
The legs must be distinct assets in the ledger (for example ``BTC/USD`` and a ``BTC.B/USD`` instrument for the
second venue), or the two positions would net out in one balance.

Sizing: the quantity is also no more than the buying venue's quote balance pays for (fee included) and, in an
account that cannot short, no more than the selling venue holds of its base. When a side has run dry (not one lot
can be traded although the gap is there) the strategy suggests a rebalance once, as a ``rebalance`` signal and an
INFO risk alert (rule ``arbitrage_rebalance``): which asset to move to which venue, and how much.

Legging (``_legs``): both legs of an entry or an exit are market orders placed together; one refused, or still
working ``leg_timeout`` seconds after it was placed (its rest is cancelled), leaves the two legs filled unequally,
and the excess of the longer one is traded back on its venue -- logged and alerted. The position stays hedged
(an exit that came up short is retried at a later bar). An entry, its exit and any unwinding orders are one round
trip; its realised profit (the quote asset's flow, fees included) and its edge on the entry's cost are signalled
(``round_trip``) and listed in the run's notes.

**Two venues at once** (``mode=cross``; the default when the two symbols trade on two venues, e.g. the keys
``BTC/USDT@a`` and ``BTC/USDT@b`` of one symbol listed on two exchanges): each symbol trades in the account on its
venue (the strategy context maps each symbol to its account). The strategy watches both books and crosses at once:
buy at the cheap venue's best ask, sell at the dear venue's best bid, when the edge after both taker fees,

    e = (bid_dear x (1 - fee_dear) - ask_cheap x (1 + fee_cheap)) / ask_cheap,

beats ``min_edge`` (the buffer). Without a book (a backtest on bars) the closes of one instant stand for both
sides. The legs are immediate-or-cancel limits at those two prices (a leg trades at the price its edge was
computed at, or not at all), of one quantity: ``notional`` at the ask, no more than the buying venue's account
pays for (fee included), the selling venue's account holds of the base, or either best level shows. There is no
exit: the trade is the round trip. A leg that fails leaves the two venues' positions unequal, and the excess of
the longer one is traded back on its venue at market (logged, alerted); the round trip's report gives each
venue's flows and, as ``valued``, the profit with what is left of the base (a buy's fee charged in the asset
bought) valued at the price it was bought at. Inventory moves from the dear venue to the cheap one trade after
trade; when a side runs dry the rebalance suggestion names the venue and the account to move the asset to.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Literal, cast

from pydantic import Field

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.ledger_types import AccountMode
from alphintra.errors import ValidationError
from alphintra.formatting import plain
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import BarSync, available, dec, instrument
from alphintra.strategies.builtins._legs import LEGGING_RULE, REBALANCE_RULE, ZERO, Leg, Legging, RoundTrip
from alphintra.strategies.registry import register

if TYPE_CHECKING:
    from alphintra.engine.core.events import OrderEvent
    from alphintra.engine.core.orders import Order


class ArbitrageParams(StrategyParams):
    notional: Decimal = Field(Decimal(1000), gt=0, description="quote amount per leg (at the dearer price)")
    fee: Decimal | None = Field(
        None, ge=0, lt=1, description="taker fee per side per venue for the cost (empty: the instruments' fees)"
    )
    min_edge: Decimal = Field(
        Decimal("0.001"),
        ge=0,
        lt=1,
        description="edge wanted beyond the fees (converge: four, cross: two), as a fraction of price",
    )
    exit_gap: Decimal = Field(
        Decimal(0), ge=0, lt=1, description="converge: unwind once the gap has narrowed to this fraction"
    )
    leg_timeout: float = Field(30.0, gt=0, description="seconds a leg may work before its rest is cancelled")
    max_trips: int | None = Field(None, ge=1, description="enter no more than this many round trips (empty: no limit)")
    mode: Literal["auto", "converge", "cross"] = Field(
        "auto",
        description="converge: enter on a gap, exit as it closes (four fees); cross: buy the cheap book's ask and "
        "sell the dear one's bid at once (two fees); auto: cross when the two symbols trade on two venues",
    )


@register
class Arbitrage(Strategy):
    name = "arbitrage"
    description = "Cross-venue arbitrage: buy the cheap venue, sell the dear one when the gap beats fees + edge"
    Params = ArbitrageParams
    symbols_required = 2

    @property
    def p(self) -> ArbitrageParams:
        return cast(ArbitrageParams, self.params)

    def on_start(self) -> None:
        self.sync = BarSync(self.symbols)
        lots = sorted((instrument(self, s).lot_size for s in self.symbols), reverse=True)
        if lots[0] % lots[1] != 0:
            # Both legs trade one quantity: it must be a whole number of lots on each venue.
            raise ValidationError(
                "symbols", "the two venues' lot sizes must divide one another", [str(v) for v in lots]
            )
        self.lot = lots[0]
        venues = {self.ctx.node.venue_for(s).name for s in self.symbols}
        self.cross = self.p.mode == "cross" or (self.p.mode == "auto" and len(venues) == 2)
        quotes = {instrument(self, s).quote for s in self.symbols}
        if self.cross and len(quotes) != 1:
            raise ValidationError("symbols", "the two venues' symbols must be quoted in one asset", sorted(quotes))
        self.legging = Legging(self, timeout_ns=int(self.p.leg_timeout * 1e9))
        self.trip: RoundTrip | None = None
        self.stage_from = 0  # index of the current stage's first leg in trip.legs
        self.suggested: set[str] = set()  # assets a rebalance was suggested for, until the next entry

    def threshold(self) -> Decimal:
        """The gap a trade must beat: four taker fees (in and out on both venues) plus the minimum edge."""
        p = self.p
        if p.fee is not None:
            return 4 * p.fee + p.min_edge
        # A maker rebate (negative fee) does not apply to these market orders' cost: count it as zero.
        fees = sum((max(instrument(self, s).taker_fee, Decimal(0)) for s in self.symbols), Decimal(0))
        return 2 * fees + p.min_edge

    def on_bar(self, bar: BarData) -> None:
        self.legging.flush()
        closes = self.sync.update(bar)
        trip = self.trip
        if trip is not None and trip.working:
            self.legging.expire(trip, bar.symbol, bar.ts)
            return
        if self.cross:
            self._cross(closes)
            return
        if closes is None:
            return
        sym_a, sym_b = self.symbols
        price_a, price_b = dec(closes[sym_a]), dec(closes[sym_b])
        gap = (price_b - price_a) / price_a
        if trip is not None:
            held = self.net(trip)[sym_a]
            closed = gap <= self.p.exit_gap if held > 0 else gap >= -self.p.exit_gap
            if closed:
                self.signal("unwind", float(gap))
                self._exit(trip)
            return
        if abs(gap) <= self.threshold() or (self.p.max_trips is not None and self.legging.opened >= self.p.max_trips):
            return
        buy, sell = (sym_a, sym_b) if gap > 0 else (sym_b, sym_a)
        prices = {sym_a: price_a, sym_b: price_b}
        qty = self.size(buy, sell, prices)
        if qty <= 0:
            return
        self.suggested.clear()
        self.signal("enter", float(gap), buy=buy, sell=sell)
        trip = self.trip = self.legging.open(instrument(self, buy).quote, ZERO)
        self._stage(trip, "enter", [(buy, OrderSide.BUY, qty, None), (sell, OrderSide.SELL, qty, None)])

    # -- two venues at once ----------------------------------------------------------------------------------------

    def fee(self, symbol: str) -> Decimal:
        if self.p.fee is not None:
            return self.p.fee
        return max(instrument(self, symbol).taker_fee, ZERO)  # a rebate does not apply to a taker's cost

    def quotes(self, closes: dict[str, float] | None) -> dict[str, tuple[Decimal, Decimal]] | None:
        """Each symbol's best bid and ask when both books show them, else the closes of one instant."""
        books = {s: self.ctx.best_bid_ask(s) for s in self.symbols}
        if all(bid is not None and ask is not None for bid, ask in books.values()):
            return cast(dict[str, tuple[Decimal, Decimal]], books)
        if closes is None:
            return None
        return {s: (dec(c), dec(c)) for s, c in closes.items()}

    def cross_edge(self, buy: str, sell: str, quotes: dict[str, tuple[Decimal, Decimal]]) -> Decimal:
        """What buying at ``buy``'s ask and selling at ``sell``'s bid makes after both fees, per unit of cost."""
        ask, bid = quotes[buy][1], quotes[sell][0]
        return (bid * (1 - self.fee(sell)) - ask * (1 + self.fee(buy))) / ask

    def _cross(self, closes: dict[str, float] | None) -> None:
        trip = self.trip
        if trip is not None:  # an unwind came up short: try again to bring the two venues level
            excess = sum(self.net(trip).values(), ZERO)
            if excess != 0:
                self._hedge(trip, [leg for leg in trip.legs if leg.short], excess)
            else:
                self._settle(trip)
            return
        if self.p.max_trips is not None and self.legging.opened >= self.p.max_trips:
            return
        quotes = self.quotes(closes)
        if quotes is None:
            return
        sym_a, sym_b = self.symbols
        edge, buy, sell = max(
            (self.cross_edge(sym_a, sym_b, quotes), sym_a, sym_b), (self.cross_edge(sym_b, sym_a, quotes), sym_b, sym_a)
        )
        if edge <= self.p.min_edge:
            return
        ask, bid = quotes[buy][1], quotes[sell][0]
        qty = self.size_cross(buy, sell, ask, bid)
        if qty <= 0:
            return
        self.suggested.clear()
        self.signal("enter", str(edge), buy=buy, sell=sell, ask=plain(ask), bid=plain(bid), quantity=plain(qty))
        trip = self.trip = self.legging.open(instrument(self, buy).quote, ZERO)
        self._stage(trip, "enter", [(buy, OrderSide.BUY, qty, ask), (sell, OrderSide.SELL, qty, bid)])

    def size_cross(self, buy: str, sell: str, ask: Decimal, bid: Decimal) -> Decimal:
        """One quantity for both legs, in whole lots: ``notional`` at the ask, capped by the buying account's quote
        (fee included), the selling account's base (unless it may short) and both best levels' depth."""
        b_inst, s_inst = instrument(self, buy), instrument(self, sell)
        want = self._lots(self.p.notional / ask)
        if want <= 0:
            return ZERO
        cash = available(self, b_inst.quote, buy)
        qty = min(want, self._lots(cash / (ask * (1 + self.fee(buy)))))
        if qty <= 0:
            self._suggest(b_inst.quote, want * ask * (1 + self.fee(buy)) - cash, to=buy, source=sell, had=cash)
            return ZERO
        ledger = self.ctx.node.ledger
        if ledger.account_mode(self.ctx.account_of(sell)) is not AccountMode.MARGIN:
            held = available(self, s_inst.base, sell)
            qty = min(qty, self._lots(held))
            if qty <= 0:
                self._suggest(s_inst.base, want - held, to=sell, source=buy, had=held)
                return ZERO
        qty = min(qty, self._lots(self._top(buy, "asks")), self._lots(self._top(sell, "bids")))
        for inst, price in ((b_inst, ask), (s_inst, bid)):
            if qty < inst.min_qty or qty * price < inst.min_notional:
                return ZERO
        return qty

    def _top(self, symbol: str, side: str) -> Decimal:
        """The quantity at the best level of ``symbol``'s book on ``side`` (no book: no cap)."""
        levels = self.ctx.depth(symbol, 1).get(side)
        return levels[0][1] if levels else Decimal("Infinity")

    # -- sizing and rebalancing ------------------------------------------------------------------------------------

    def size(self, buy: str, sell: str, prices: dict[str, Decimal]) -> Decimal:
        """The same quantity on both venues, in whole lots of the coarser one: ``notional`` at the dearer price,
        capped by what each side has available; zero (and a rebalance suggestion) when a side has run dry."""
        want = self._lots(self.p.notional / max(prices.values()))
        if want <= 0:
            return ZERO
        b_inst, s_inst = instrument(self, buy), instrument(self, sell)
        fee = self.p.fee if self.p.fee is not None else max(b_inst.taker_fee, ZERO)
        cash = available(self, b_inst.quote)
        qty = min(want, self._lots(cash / (prices[buy] * (1 + fee))))
        if qty <= 0:
            needed = want * prices[buy] * (1 + fee) - cash
            self._suggest(b_inst.quote, needed, to=buy, source=sell, had=cash)
            return ZERO
        if self.ctx.can_short():
            # Margin: both legs add to the gross exposure, which may reach equity x leverage (fees out of equity).
            ledger, account = self.ctx.node.ledger, self.ctx.account
            equity, exposure, _ = ledger.exposure(account)
            leverage = ledger.account_leverage(account)
            room = (equity * leverage - exposure) / (sum(prices.values()) * (1 + fee * leverage))
            qty = min(qty, self._lots(room))
        else:
            held = available(self, s_inst.base)
            qty = min(qty, self._lots(held))
            if qty <= 0:
                self._suggest(s_inst.base, want - held, to=sell, source=buy, had=held)
                return ZERO
        return qty

    def _lots(self, qty: Decimal) -> Decimal:
        return max((qty / self.lot).to_integral_value(rounding=ROUND_DOWN), ZERO) * self.lot

    def _suggest(self, asset: str, amount: Decimal, *, to: str, source: str, had: Decimal) -> None:
        """Once per dry spell of ``asset``: move ``amount`` of it to ``to``'s venue from ``source``'s."""
        if asset in self.suggested:
            return
        self.suggested.add(asset)
        node, ctx = self.ctx.node, self.ctx
        venue, account = node.venue_for(to).name, ctx.account_of(to)
        source_venue, source_account = node.venue_for(source).name, ctx.account_of(source)
        where = f"venue {venue} (account {account})" if self.cross else f"the {to} venue"
        whence = f"venue {source_venue} (account {source_account})" if self.cross else f"the {source} venue"
        message = (
            f"{self.name}: the {to} side has {plain(had)} {asset}, not enough for one trade; rebalance: move "
            f"{plain(amount)} {asset} (or its equivalent) to {where} from {whence}"
        )
        self.log.warning("%s", message)
        self.legging.alert(
            "rebalance",
            REBALANCE_RULE,
            "INFO",
            message,
            to,
            in_bar=True,
            asset=asset,
            amount=plain(amount),
            to=to,
            source=source,
            venue=venue,
            account=account,
            source_venue=source_venue,
            source_account=source_account,
        )

    # -- legs ------------------------------------------------------------------------------------------------------

    def net(self, trip: RoundTrip) -> dict[str, Decimal]:
        """What the round trip holds of each symbol (signed), from its fills."""
        out = {s: ZERO for s in self.symbols}
        for leg in trip.legs:
            out[leg.symbol] += leg.filled if leg.side is OrderSide.BUY else -leg.filled
        return out

    def _hedge(self, trip: RoundTrip, legs: list[Leg], excess: Decimal) -> None:
        """Trade ``excess`` back on the venue whose leg of this stage filled more than the other's (or, when no leg
        of it filled, where the round trip holds it)."""
        side = OrderSide.SELL if excess > 0 else OrderSide.BUY
        longer = [leg for leg in legs if leg.side is not side and leg.filled > 0]
        if longer:
            symbol = longer[0].symbol
        else:
            net = self.net(trip)
            symbol = max(net, key=lambda s: net[s]) if excess > 0 else min(net, key=lambda s: net[s])
        trip.stage, self.stage_from = f"{trip.stage}_unwind", len(trip.legs)
        self.legging.unwind(trip, [(symbol, side, abs(excess))], [leg for leg in legs if leg.short])
        if not trip.working:
            self._settle(trip)

    def _stage(self, trip: RoundTrip, stage: str, orders: list[tuple[str, OrderSide, Decimal, Decimal | None]]) -> None:
        trip.stage, self.stage_from = stage, len(trip.legs)
        for symbol, side, qty, limit in orders:
            self.legging.place(trip, symbol, side, qty, limit=limit)
        if not trip.working:  # refused at once (or filled while placed): no order event will come for it
            self._settle(trip)

    def _exit(self, trip: RoundTrip) -> None:
        orders: list[tuple[str, OrderSide, Decimal, Decimal | None]] = []
        for symbol, qty in self.net(trip).items():
            if qty != 0:
                orders.append((symbol, OrderSide.SELL if qty > 0 else OrderSide.BUY, abs(qty), None))
        self._stage(trip, "exit", orders)

    def on_order_update(self, order: Order, event: OrderEvent) -> None:
        trip = self.trip
        if trip is None or self.legging.placing or trip.working or all(leg.order is not order for leg in trip.legs):
            return
        self._settle(trip)

    def _settle(self, trip: RoundTrip) -> None:
        """Every leg of the stage is done: trade back the excess of the longer leg, then hold or close the trip."""
        if trip is not self.trip:
            return
        legs = trip.legs[self.stage_from :]
        if trip.stage in ("enter", "exit"):
            if trip.stage == "enter":
                trip.committed = sum(
                    (leg.order.filled_notional for leg in legs if leg.side is OrderSide.BUY and leg.order is not None),
                    ZERO,
                )
            net = self.net(trip)
            excess = sum(net.values(), ZERO)  # the two venues' positions hedge each other when they add up to zero
            if excess != 0:
                self._hedge(trip, legs, excess)
                return
        else:
            short = [leg for leg in legs if leg.short]
            if short:
                self.legging.alert(
                    "unwind_failed",
                    LEGGING_RULE,
                    "CRITICAL",
                    f"{self.name} round trip {trip.number}: unwinding came up short "
                    f"({'; '.join(leg.symbol + ' ' + leg.why() for leg in short)}); the legs are not hedged",
                    short[0].symbol,
                    round_trip=trip.number,
                )
        net = self.net(trip)
        # Converging, the trip holds until its exit; crossing, the trade is done once the two venues are level.
        if sum(net.values(), ZERO) if self.cross else any(net.values()):
            trip.stage = "hold"
            return
        self.trip = None
        if not any(leg.filled for leg in trip.legs):
            return
        if not self.cross:
            self.legging.finish(trip)
            return
        venues = sorted({self.ctx.node.venue_for(s).name for s in self.symbols})
        flows = {v: {a: plain(x) for a, x in sorted(trip.flows(self, v).items()) if x} for v in venues}
        self.legging.finish(trip, self.marks(trip), venues=flows)

    def marks(self, trip: RoundTrip) -> dict[str, Decimal]:
        """Each base asset at the average price the round trip bought it at (else sold it at)."""
        out: dict[str, Decimal] = {}
        for side in (OrderSide.SELL, OrderSide.BUY):  # a buy's price wins
            by_base: dict[str, tuple[Decimal, Decimal]] = {}
            for leg in trip.legs:
                order = leg.order
                if leg.side is side and order is not None and order.filled_quantity > 0:
                    base = instrument(self, leg.symbol).base
                    qty, notional = by_base.get(base, (ZERO, ZERO))
                    by_base[base] = (qty + order.filled_quantity, notional + order.filled_notional)
            out.update({base: notional / qty for base, (qty, notional) in by_base.items()})
        return out


__all__ = ["Arbitrage", "ArbitrageParams"]
