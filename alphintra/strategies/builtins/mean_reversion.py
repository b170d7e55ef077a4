"""Mean reversion: bet against stretched prices, take profit when they come back to their mean.

The stretch is measured in standard deviations over the last ``period`` bars (population deviation), either

* ``bollinger``: Bollinger bands on the price (``entry`` is the band width in deviations, the middle band is the
  mean), or
* ``zscore``: the rolling z-score of the *log* price, which measures moves in proportion to the price level (a
  fall from 200 to 180 weighs like one from 100 to 90).

Rules, with ``z`` the distance from the mean in deviations:

* enter long when ``z < -entry``; with ``allow_short``, enter short when ``z > entry``;
* exit a long when ``z >= -exit`` (``exit = 0``: back at the mean), a short when ``z <= exit``;
* ``stop`` (optional): a protective stop order that fraction away from the entry fill. After a stop-out the same
  side is not entered again until ``z`` has come back inside the exit band: a price that keeps falling is a
  trend, not a stretch.

Sizing: ``fraction`` of equity in whole lots, fee included; market orders at the close, filled at the next open.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal, cast

from pydantic import Field, model_validator

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import cancel_if_open, price_on_grid
from alphintra.strategies.indicators import BollingerBands, ZScore
from alphintra.strategies.registry import register


class MeanReversionParams(StrategyParams):
    method: Literal["bollinger", "zscore"] = Field(
        "bollinger", description="bollinger: bands on the price; zscore: z-score of the log price"
    )
    period: int = Field(20, ge=2, le=1000, description="bars in the rolling mean and deviation")
    entry: float = Field(2.0, gt=0, le=10, description="enter when the price is this many deviations from the mean")
    exit: float = Field(0.0, ge=0, le=10, description="exit when back within this many deviations (0: at the mean)")
    stop: Decimal | None = Field(
        None, gt=0, lt=1, description="stop loss as a fraction of the entry price, e.g. 0.05 (empty: none)"
    )
    allow_short: bool = Field(False, description="also sell stretches above the mean (else long-only)")
    fraction: Decimal = Field(Decimal(1), gt=0, le=1, description="fraction of equity to commit")

    @model_validator(mode="after")
    def _exit_inside_entry(self) -> MeanReversionParams:
        if self.exit >= self.entry:
            raise ValueError(f"exit ({self.exit}) must be below entry ({self.entry})")
        return self


@register
class MeanReversion(Strategy):
    name = "mean_reversion"
    description = "Mean reversion: enter against Bollinger/z-score extremes, exit at the mean; optional stop"
    Params = MeanReversionParams

    @property
    def p(self) -> MeanReversionParams:
        return cast(MeanReversionParams, self.params)

    def on_start(self) -> None:
        p = self.p
        self.bands = BollingerBands(p.period, p.entry)
        self.zscore = ZScore(p.period)
        self.stop_order: Order | None = None
        # Side (+1 long, -1 short) stopped out and not to be entered again until z is back inside the exit band.
        self.blocked = 0

    def update_distance(self, close: float) -> float | None:
        """How many deviations the close is from its rolling mean (None while warming up)."""
        if self.p.method == "zscore":
            return self.zscore.update(math.log(close)) if close > 0 else None
        bands = self.bands.update(close)
        if bands is None:
            return None
        deviation = (bands.upper - bands.middle) / self.p.entry
        return 0.0 if deviation == 0.0 else (close - bands.middle) / deviation

    def on_bar(self, bar: BarData) -> None:
        z = self.update_distance(bar.close)
        if z is None:
            return
        p = self.p
        if abs(z) <= p.exit:
            self.blocked = 0
        held = self.position(bar.symbol)
        if held > 0 and z >= -p.exit:
            self.signal("exit_long", z)
            self._go(bar.symbol, Decimal(0))
        elif held < 0 and z <= p.exit:
            self.signal("exit_short", z)
            self._go(bar.symbol, Decimal(0))
        elif held == 0 and z < -p.entry and self.blocked != 1:
            self.signal("enter_long", z)
            self._go(bar.symbol, p.fraction)
        elif held == 0 and p.allow_short and z > p.entry and self.blocked != -1:
            self.signal("enter_short", z)
            self._go(bar.symbol, -p.fraction)

    def _go(self, symbol: str, percent: Decimal) -> None:
        cancel_if_open(self, self.stop_order)
        self.stop_order = None
        self.target_percent(symbol, percent)

    def on_fill(self, order: Order, fill: OrderFilled) -> None:
        if self.stop_order is not None and order.id == self.stop_order.id:
            if order.is_terminal:
                self.blocked = 1 if order.side is OrderSide.SELL else -1
                self.signal("stopped_out", float(fill.last_px))
                self.stop_order = None
            return
        stop = self.p.stop
        if stop is None:
            return
        cancel_if_open(self, self.stop_order)
        self.stop_order = None
        held = self.position(order.symbol)
        if held > 0:
            price = price_on_grid(self, order.symbol, fill.last_px * (1 - stop), "down")
            self.stop_order = self.stop(order.symbol, OrderSide.SELL, held, price)
        elif held < 0:
            price = price_on_grid(self, order.symbol, fill.last_px * (1 + stop), "up")
            self.stop_order = self.stop(order.symbol, OrderSide.BUY, -held, price)


__all__ = ["MeanReversion", "MeanReversionParams"]
