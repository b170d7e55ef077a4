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
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, cast

from pydantic import Field

from alphintra.engine.core.enums import OrderSide
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
        Decimal("0.001"), ge=0, lt=1, description="edge wanted beyond the round-trip fees, as a fraction of price"
    )
    exit_gap: Decimal = Field(Decimal(0), ge=0, lt=1, description="unwind when the gap has narrowed to this fraction")
    leg_timeout: float = Field(30.0, gt=0, description="seconds a leg may work before its rest is cancelled")


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
        if abs(gap) <= self.threshold():
            return
        buy, sell = (sym_a, sym_b) if gap > 0 else (sym_b, sym_a)
        prices = {sym_a: price_a, sym_b: price_b}
        qty = self.size(buy, sell, prices)
        if qty <= 0:
            return
        self.suggested.clear()
        self.signal("enter", float(gap), buy=buy, sell=sell)
        trip = self.trip = self.legging.open(instrument(self, buy).quote, ZERO)
        self._stage(trip, "enter", [(buy, OrderSide.BUY, qty), (sell, OrderSide.SELL, qty)])

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
        message = (
            f"{self.name}: the {to} side has {plain(had)} {asset}, not enough for one trade; rebalance: move "
            f"{plain(amount)} {asset} (or its equivalent) to the {to} venue from the {source} venue"
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

    def _stage(self, trip: RoundTrip, stage: str, orders: list[tuple[str, OrderSide, Decimal]]) -> None:
        trip.stage, self.stage_from = stage, len(trip.legs)
        for symbol, side, qty in orders:
            self.legging.place(trip, symbol, side, qty)
        if not trip.working:  # refused at once (or filled while placed): no order event will come for it
            self._settle(trip)

    def _exit(self, trip: RoundTrip) -> None:
        orders = []
        for symbol, qty in self.net(trip).items():
            if qty != 0:
                orders.append((symbol, OrderSide.SELL if qty > 0 else OrderSide.BUY, abs(qty)))
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
        if any(net.values()):
            trip.stage = "hold"
            return
        self.trip = None
        if any(leg.filled for leg in trip.legs):
            self.legging.finish(trip)


__all__ = ["Arbitrage", "ArbitrageParams"]
