"""Dollar-cost averaging: buy a fixed amount of the quote currency at regular times, whatever the price.

* **Schedule**: on the first bar and then every ``every_bars`` bars; or, with ``interval_hours``, on a clock timer
  every that many hours from the start (the same in a backtest, on paper and live).
* **Dip boost** (optional): when the last close is at least ``dip_pct`` below its ``ma_period``-bar simple moving
  average, the purchase is ``dip_multiplier`` times larger.
* **Budget** (optional): purchases stop once ``budget`` has been spent (fills plus fees); the last one is cut to
  what is left. A purchase never asks for more than the available cash.

A purchase is a market order for whole lots worth at most the amount at the last price, fee included; it trades
at the next bar's open under the default fill model. The strategy never sells.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from pydantic import Field

from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import dec, instrument, qty_for_notional
from alphintra.strategies.indicators import SMA
from alphintra.strategies.registry import register

_NS_PER_HOUR = 3_600_000_000_000


class DcaParams(StrategyParams):
    amount: Decimal = Field(Decimal(100), gt=0, description="quote amount spent on each purchase")
    every_bars: int = Field(5, ge=1, le=1_000_000, description="bars between purchases (first bar included)")
    interval_hours: Decimal | None = Field(
        None, gt=0, description="buy on a clock timer every this many hours instead of every_bars (empty: bars)"
    )
    dip_pct: Decimal | None = Field(
        None, gt=0, lt=1, description="boost when the close is this fraction below its moving average (empty: never)"
    )
    dip_multiplier: Decimal = Field(Decimal(2), ge=1, le=100, description="purchase size multiple during a dip")
    ma_period: int = Field(20, ge=2, le=10_000, description="moving average period for the dip test, in bars")
    budget: Decimal | None = Field(None, gt=0, description="stop after spending this much in total (empty: no limit)")


@register
class Dca(Strategy):
    name = "dca"
    description = "Dollar-cost averaging: a fixed quote amount every N bars or hours, bigger on dips"
    Params = DcaParams

    @property
    def p(self) -> DcaParams:
        return cast(DcaParams, self.params)

    def on_start(self) -> None:
        self.sma = SMA(self.p.ma_period)
        self.bars = 0
        self.spent = Decimal(0)
        self.outstanding: dict[str, Decimal] = {}  # order id -> what it was expected to cost
        self.purchases = 0
        self.boosted = 0
        self.dip = False
        if self.p.interval_hours is not None:
            interval = int(self.p.interval_hours * _NS_PER_HOUR)
            self.set_timer("dca", interval_ns=max(interval, 1))

    def on_bar(self, bar: BarData) -> None:
        average = self.sma.update(bar.close)
        # Judged on the close the purchase is based on (the timer uses the last bar's verdict).
        self.dip = (
            self.p.dip_pct is not None and average is not None and dec(bar.close) <= dec(average) * (1 - self.p.dip_pct)
        )
        index = self.bars
        self.bars += 1
        if self.p.interval_hours is None and index % self.p.every_bars == 0:
            self.purchase(bar.symbol)

    def on_timer(self, name: str, ts: int) -> None:
        if name == "dca":
            self.purchase(self.symbols[0])

    def on_schedule(self) -> None:
        """One cron firing (``alphintra schedule``) is one purchase, whatever ``every_bars`` says."""
        self.purchase(self.symbols[0])

    def purchase(self, symbol: str) -> None:
        p = self.p
        price = self.price(symbol)
        if price is None:
            return  # a timer before the first price: nothing to value the purchase at
        amount = p.amount * (p.dip_multiplier if self.dip else 1)
        # Orders not yet filled count against the budget and the cash, or two quick purchases would overspend.
        committed = sum(self.outstanding.values(), Decimal(0))
        if p.budget is not None:
            amount = min(amount, p.budget - self.spent - committed)
        amount = min(amount, self.cash - committed)
        fee_rate = 1 + max(instrument(self, symbol).taker_fee, Decimal(0))
        qty = qty_for_notional(self, symbol, amount / fee_rate, price)
        if qty <= 0:
            # What one lot would have cost, so that the run's notes can say why nothing was bought.
            inst = instrument(self, symbol)
            one_lot = max(inst.lot_size, inst.min_qty)
            self.signal(
                "dca_skipped",
                float(amount),
                amount=str(amount),
                lot=str(one_lot),
                base=inst.base,
                price=str(price),
                cost=str(one_lot * price * fee_rate),
                currency=inst.quote,
            )
            return
        self.purchases += 1
        self.boosted += self.dip
        self.signal("dca_buy", float(qty), boosted=self.dip)
        order = self.buy(symbol, qty)
        if not order.is_terminal:
            self.outstanding[order.id] = qty * price * fee_rate

    def on_fill(self, order: Order, fill: OrderFilled) -> None:
        self.spent += fill.last_qty * fill.last_px + fill.fee

    def on_order_update(self, order: Order, event: OrderEvent) -> None:
        if order.is_terminal:
            self.outstanding.pop(order.id, None)


__all__ = ["Dca", "DcaParams"]
