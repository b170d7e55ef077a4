"""Trend following with two simple moving averages.

When the fast SMA crosses above the slow one the strategy goes long with all of its equity (whole lots, fee
included); when it crosses below it goes short with all of it (``allow_short``) or flat. Orders are market
orders placed at the bar's close, so they fill at the next bar's open under the default fill model.

The two averages are indicator lines, so a backtest computes them once, vectorised, and shows the strategy only
the crossing bars (its ``wake`` mask) and the bars its orders fill on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.registry import register

if TYPE_CHECKING:
    import numpy as np
    import polars as pl


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
        self.fast = self.indicator("sma", period=p.fast)
        self.slow = self.indicator("sma", period=p.slow)

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray:
        import numpy as np

        fast, slow = self.fast.array(), self.slow.array()
        side = np.sign(np.where(np.abs(fast - slow) <= TIE * np.abs(slow), 0.0, fast - slow))
        prev = np.concatenate(([np.nan], side[:-1]))
        # The same tests as on_bar; NaN (warm-up) compares false, as on_bar returns while a value is missing.
        return ((prev <= 0) & (side > 0)) | ((prev >= 0) & (side < 0))

    def on_bar(self, bar: BarData) -> None:
        fast, slow = self.fast.value, self.slow.value
        prev_fast, prev_slow = self.fast.previous, self.slow.previous
        if fast is None or slow is None or prev_fast is None or prev_slow is None:
            return
        side, prev = _side(fast, slow), _side(prev_fast, prev_slow)
        p: SmaCrossParams = self.params  # type: ignore[assignment]
        if prev <= 0 < side:
            self.signal("cross_up", fast - slow)
            self.target_percent(bar.symbol, p.fraction)
        elif prev >= 0 > side:
            self.signal("cross_down", fast - slow)
            self.target_percent(bar.symbol, -p.fraction if p.allow_short else Decimal(0))


# Two averages closer than this (relative) are equal. Averages of prices on a tick grid that really differ do so
# by far more (a tick over the product of the periods); two that are equal can differ by float noise, which also
# differs between the incremental and the vectorised form, and must not read as a cross.
TIE = 1e-10


def _side(fast: float, slow: float) -> int:
    diff = fast - slow
    if abs(diff) <= TIE * abs(slow):
        return 0
    return 1 if diff > 0 else -1
