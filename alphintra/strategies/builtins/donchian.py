"""Breakout (momentum) on Donchian channels, in the manner of the classic turtle rules.

* **Entry**: a close above the highest high of the ``entry`` bars *before* this one goes long; with
  ``allow_short``, a close below their lowest low goes short. The channel excludes the current bar, otherwise a
  close could never be above it.
* **Exit**: a long ends on a close below the lowest low of the ``exit`` bars before this one (a short on a close
  above their highest high). With ``reverse`` the exit turns the position around instead of flattening it.
* **Stop** (optional): ``atr_stop`` ATRs (Wilder, ``atr_period`` bars) from the entry fill, as an emulated stop
  order for the whole position; re-placed when the position changes, canceled when it closes.

Sizing: ``fraction`` of equity in whole lots, fee included. Orders are market orders placed at the bar's close, so
they trade at the next bar's open under the default fill model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from pydantic import Field, model_validator

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import cancel_if_open, dec, price_on_grid
from alphintra.strategies.indicators import ATR, Donchian
from alphintra.strategies.registry import register


class DonchianParams(StrategyParams):
    entry: int = Field(20, ge=2, le=1000, description="entry channel: a close beyond the last N bars' high/low enters")
    exit: int = Field(10, ge=1, le=1000, description="exit channel: a close beyond the last M bars' other side exits")
    allow_short: bool = Field(False, description="also sell breakouts below the entry channel's low")
    reverse: bool = Field(False, description="on an exit signal reverse into the other side (needs allow_short)")
    atr_stop: Decimal | None = Field(
        None, gt=0, le=100, description="protective stop this many ATRs from the entry fill (empty: no stop)"
    )
    atr_period: int = Field(14, ge=1, le=1000, description="ATR period in bars (for atr_stop)")
    fraction: Decimal = Field(Decimal(1), gt=0, le=1, description="fraction of equity to commit")

    @model_validator(mode="after")
    def _reverse_needs_short(self) -> DonchianParams:
        if self.reverse and not self.allow_short:
            raise ValueError("reverse needs allow_short (a long exit would reverse into a short)")
        return self


@register
class DonchianBreakout(Strategy):
    name = "donchian"
    description = "Breakout: long above the N-bar high, exit (or reverse) below the M-bar low; optional ATR stop"
    Params = DonchianParams

    @property
    def p(self) -> DonchianParams:
        return cast(DonchianParams, self.params)

    def on_start(self) -> None:
        p = self.p
        self.entry_channel = Donchian(p.entry)
        self.exit_channel = Donchian(p.exit)
        self.atr = ATR(p.atr_period)
        self.stop_order: Order | None = None

    def on_bar(self, bar: BarData) -> None:
        # The channels of the bars before this one: read before feeding this bar.
        entry, exit_ = self.entry_channel.value, self.exit_channel.value
        self.entry_channel.update(bar.high, bar.low)
        self.exit_channel.update(bar.high, bar.low)
        self.atr.update(bar.high, bar.low, bar.close)
        if entry is None or exit_ is None:
            return
        p = self.p
        held = self.position(bar.symbol)
        close = bar.close
        if held > 0 and close < exit_.lower:
            self.signal("exit_long", close, channel=exit_.lower)
            self._go(bar.symbol, -p.fraction if p.reverse else Decimal(0))
        elif held < 0 and close > exit_.upper:
            self.signal("exit_short", close, channel=exit_.upper)
            self._go(bar.symbol, p.fraction if p.reverse else Decimal(0))
        elif held == 0 and close > entry.upper:
            self.signal("breakout_up", close, channel=entry.upper)
            self._go(bar.symbol, p.fraction)
        elif held == 0 and p.allow_short and close < entry.lower:
            self.signal("breakout_down", close, channel=entry.lower)
            self._go(bar.symbol, -p.fraction)

    def _go(self, symbol: str, percent: Decimal) -> None:
        # The stop belongs to the position being left; the new position gets its own after its fill.
        cancel_if_open(self, self.stop_order)
        self.stop_order = None
        self.target_percent(symbol, percent)

    def on_fill(self, order: Order, fill: OrderFilled) -> None:
        if self.stop_order is not None and order.id == self.stop_order.id:
            if order.is_terminal:
                self.signal("stopped_out", float(fill.last_px))
                self.stop_order = None
            return
        atr = self.atr.value
        if self.p.atr_stop is None or atr is None:
            return
        cancel_if_open(self, self.stop_order)
        self.stop_order = None
        held = self.position(order.symbol)
        if held == 0:
            return
        distance = self.p.atr_stop * dec(atr)
        if held > 0:
            stop = price_on_grid(self, order.symbol, fill.last_px - distance, "down")
            side = OrderSide.SELL
        else:
            stop = price_on_grid(self, order.symbol, fill.last_px + distance, "up")
            side = OrderSide.BUY
        if stop <= 0:
            return
        self.stop_order = self.stop(order.symbol, side, abs(held), stop)


__all__ = ["DonchianBreakout", "DonchianParams"]
