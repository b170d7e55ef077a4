"""Trend following with two simple moving averages.

When the fast SMA crosses above the slow one the strategy goes long with all of its equity (whole lots, fee
included); when it crosses below it goes short with all of it (``allow_short``) or flat. Orders are market
orders placed at the bar's close, so they fill at the next bar's open under the default fill model.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.indicators import SMA
from alphintra.strategies.registry import register


class SmaCrossParams(StrategyParams):
    fast: int = Field(10, ge=1, description="fast SMA period in bars")
    slow: int = Field(20, ge=2, description="slow SMA period in bars")
    allow_short: bool = Field(True, description="reverse into a short on a downward cross (else go flat)")
    fraction: Decimal = Field(Decimal(1), gt=0, le=1, description="fraction of equity to commit")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
        return self


@register
class SmaCross(Strategy):
    name = "sma_cross"
    description = "Trend following: long above, short (or flat) below, on fast/slow SMA crosses"
    Params = SmaCrossParams

    def on_start(self) -> None:
        p: SmaCrossParams = self.params  # type: ignore[assignment]
        self.fast = SMA(p.fast)
        self.slow = SMA(p.slow)
        self.prev_diff: float | None = None

    def on_bar(self, bar: BarData) -> None:
        fast = self.fast.update(bar.close)
        slow = self.slow.update(bar.close)
        if fast is None or slow is None:
            return
        diff = fast - slow
        prev, self.prev_diff = self.prev_diff, diff
        if prev is None:
            return
        p: SmaCrossParams = self.params  # type: ignore[assignment]
        if prev <= 0 < diff:
            self.signal("cross_up", diff)
            self.target_percent(bar.symbol, p.fraction)
        elif prev >= 0 > diff:
            self.signal("cross_down", diff)
            self.target_percent(bar.symbol, -p.fraction if p.allow_short else Decimal(0))
