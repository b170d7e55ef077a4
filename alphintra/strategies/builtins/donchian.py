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

The channels and the ATR are indicator lines; a backtest shows the strategy only the bars that close beyond a
channel (its ``wake`` mask) and the bars its orders, including a working stop, can trade on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, cast

from pydantic import Field, model_validator

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import cancel_if_open, dec, price_on_grid
from alphintra.strategies.lines import Line
from alphintra.strategies.registry import register

if TYPE_CHECKING:
    import numpy as np
    import polars as pl


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
        self.entry_upper = self.indicator("donchian", period=p.entry, output="upper")
        self.entry_lower = self.indicator("donchian", period=p.entry, output="lower")
        self.exit_upper = self.indicator("donchian", period=p.exit, output="upper")
        self.exit_lower = self.indicator("donchian", period=p.exit, output="lower")
        self.atr = self.indicator("atr", period=p.atr_period)
        self.stop_order: Order | None = None

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        import numpy as np

        close = bars["close"].to_numpy()

        def before(line: Line) -> np.ndarray:  # the channel of the bars before each bar
            return np.concatenate(([np.nan], line.array()[:-1]))

        # Every test on_bar makes, whatever the position (NaN, the warm-up, compares false as on_bar returns).
        return (
            (close > before(self.entry_upper))
            | (close < before(self.entry_lower))
            | (close < before(self.exit_lower))
            | (close > before(self.exit_upper))
        )

    def on_bar(self, bar: BarData) -> None:
        # The channels of the bars before this one.
        entry_upper, entry_lower = self.entry_upper.previous, self.entry_lower.previous
        exit_upper, exit_lower = self.exit_upper.previous, self.exit_lower.previous
        if entry_upper is None or entry_lower is None or exit_upper is None or exit_lower is None:
            return
        p = self.p
        held = self.position(bar.symbol)
        close = bar.close
        if held > 0 and close < exit_lower:
            self.signal("exit_long", close, channel=exit_lower)
            self._go(bar.symbol, -p.fraction if p.reverse else Decimal(0))
        elif held < 0 and close > exit_upper:
            self.signal("exit_short", close, channel=exit_upper)
            self._go(bar.symbol, p.fraction if p.reverse else Decimal(0))
        elif held == 0 and close > entry_upper:
            self.signal("breakout_up", close, channel=entry_upper)
            self._go(bar.symbol, p.fraction)
        elif held == 0 and p.allow_short and close < entry_lower:
            self.signal("breakout_down", close, channel=entry_lower)
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
