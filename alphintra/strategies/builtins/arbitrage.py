"""Cross-venue arbitrage: one asset quoted on two venues, modelled as two symbols ``A`` (first) and ``B`` (second).

At every instant both venues have a price for, the gap is ``g = (B - A) / A``. Closing a trade costs four taker
fees (buy and sell on each venue), so

* **entry** when ``|g| > 2 x (fee_A + fee_B) + min_edge``: if ``g > 0`` buy on A (cheap) and sell on B (dear),
  if ``g < 0`` the reverse; both legs the same quantity of the asset, ``notional`` worth at the dearer price;
* **unwind** when the gap has closed: the trade bought on A unwinds once ``g <= exit_gap``, the one bought on B
  once ``g >= -exit_gap``.

``fee`` overrides the instruments' taker fees in the cost (the fee a venue actually charges is the instrument's).
Both legs are market orders submitted together; nothing new is done while either leg still has a working order.
The legs must be distinct assets in the ledger (for example ``BTC/USD`` and a ``BTC.B/USD`` instrument for the
second venue), or the two positions would net out in one balance.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import cast

from pydantic import Field

from alphintra.engine.core.enums import OrderSide
from alphintra.errors import ValidationError
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import BarSync, WorkingOrders, dec, instrument
from alphintra.strategies.registry import register


class ArbitrageParams(StrategyParams):
    notional: Decimal = Field(Decimal(1000), gt=0, description="quote amount per leg (at the dearer price)")
    fee: Decimal | None = Field(
        None, ge=0, lt=1, description="taker fee per side per venue for the cost (empty: the instruments' fees)"
    )
    min_edge: Decimal = Field(
        Decimal("0.001"), ge=0, lt=1, description="edge wanted beyond the round-trip fees, as a fraction of price"
    )
    exit_gap: Decimal = Field(Decimal(0), ge=0, lt=1, description="unwind when the gap has narrowed to this fraction")


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
        self.orders = WorkingOrders()
        lots = sorted((instrument(self, s).lot_size for s in self.symbols), reverse=True)
        if lots[0] % lots[1] != 0:
            # Both legs trade one quantity: it must be a whole number of lots on each venue.
            raise ValidationError(
                "symbols", "the two venues' lot sizes must divide one another", [str(v) for v in lots]
            )
        self.lot = lots[0]

    def threshold(self) -> Decimal:
        """The gap a trade must beat: four taker fees (in and out on both venues) plus the minimum edge."""
        p = self.p
        if p.fee is not None:
            return 4 * p.fee + p.min_edge
        # A maker rebate (negative fee) does not apply to these market orders' cost: count it as zero.
        fees = sum((max(instrument(self, s).taker_fee, Decimal(0)) for s in self.symbols), Decimal(0))
        return 2 * fees + p.min_edge

    def on_bar(self, bar: BarData) -> None:
        closes = self.sync.update(bar)
        if closes is None:
            return
        sym_a, sym_b = self.symbols
        if self.orders.working():
            return
        price_a, price_b = dec(closes[sym_a]), dec(closes[sym_b])
        gap = (price_b - price_a) / price_a
        held = self.position(sym_a)
        if held != 0 or self.position(sym_b) != 0:
            closed = gap <= self.p.exit_gap if held > 0 else gap >= -self.p.exit_gap
            if closed:
                self.signal("unwind", float(gap))
                self.orders.add(self.close_position(sym_a))
                self.orders.add(self.close_position(sym_b))
            return
        if abs(gap) <= self.threshold():
            return
        # The same quantity on both venues, in whole lots of the coarser venue (a whole number of the other's too).
        lots = (self.p.notional / max(price_a, price_b) / self.lot).to_integral_value(rounding=ROUND_DOWN)
        qty = lots * self.lot
        if qty <= 0:
            return
        buy, sell = (sym_a, sym_b) if gap > 0 else (sym_b, sym_a)
        self.signal("enter", float(gap), buy=buy, sell=sell)
        self.orders.add(self.ctx.order(buy, OrderSide.BUY, qty))
        self.orders.add(self.ctx.order(sell, OrderSide.SELL, qty))


__all__ = ["Arbitrage", "ArbitrageParams"]
