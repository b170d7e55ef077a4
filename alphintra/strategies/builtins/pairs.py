"""Pairs trading (statistical arbitrage) on two related symbols, ``A`` (the first) and ``B`` (the second).

At every instant both symbols have a bar for:

1. **Hedge ratio**: ordinary least squares of ``A`` on ``B`` over the last ``window`` closes,
   ``A = alpha + beta x B``.
2. **Spread**: the regression residual ``A - alpha - beta x B`` now, measured in its own standard deviation over
   the window (the z-score). The window includes the current bar, which is already closed: nothing from later
   bars is used.
3. **Entry** when ``|z| > entry_z``: ``z > 0`` means A is dear against B, so sell A and buy B (short the spread);
   ``z < 0`` the opposite (long the spread).
4. **Exit** when the spread is back: a long spread closes once ``z >= -exit_z``, a short one once ``z <= exit_z``.
   With ``stop_z``, a spread that stretches beyond it is closed as broken, and not entered again until ``|z|``
   has come back below ``exit_z``.

Both legs are market orders of ``notional`` each (whole lots, dollar-neutral), submitted together; the strategy
waits while either leg still has a working order.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal
from typing import NamedTuple, cast

from pydantic import Field, model_validator

from alphintra.engine.core.enums import OrderSide
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import BarSync, WorkingOrders, dec, qty_for_notional
from alphintra.strategies.registry import register


class PairsParams(StrategyParams):
    window: int = Field(60, ge=10, le=10_000, description="bars in the rolling regression and spread statistics")
    entry_z: float = Field(2.0, gt=0, le=10, description="enter when the spread z-score is beyond this")
    exit_z: float = Field(0.5, ge=0, le=10, description="exit when the z-score is back within this")
    stop_z: float | None = Field(None, gt=0, le=20, description="close a spread stretched beyond this (empty: never)")
    notional: Decimal = Field(Decimal(1000), gt=0, description="quote amount traded in each leg")

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> PairsParams:
        if self.exit_z >= self.entry_z:
            raise ValueError(f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z})")
        if self.stop_z is not None and self.stop_z <= self.entry_z:
            raise ValueError(f"stop_z ({self.stop_z}) must be above entry_z ({self.entry_z})")
        return self


class SpreadStats(NamedTuple):
    beta: float
    alpha: float
    z: float


def spread_zscore(a: list[float], b: list[float]) -> SpreadStats | None:
    """OLS of ``a`` on ``b`` and the z-score of the last residual (population moments); None if degenerate."""
    n = len(a)
    mean_a, mean_b = math.fsum(a) / n, math.fsum(b) / n
    var_b = math.fsum((x - mean_b) ** 2 for x in b) / n
    if var_b <= (1e-9 * max(1.0, abs(mean_b))) ** 2:
        return None  # B barely moves: the slope would be rounding noise
    cov = math.fsum((x - mean_b) * (y - mean_a) for x, y in zip(b, a, strict=True)) / n
    beta = cov / var_b
    alpha = mean_a - beta * mean_b
    residuals = [y - alpha - beta * x for x, y in zip(b, a, strict=True)]
    # OLS residuals with an intercept have mean zero; their deviation is the spread's.
    deviation = math.sqrt(math.fsum(r * r for r in residuals) / n)
    if deviation <= 1e-12 * max(1.0, abs(mean_a)):
        return None
    return SpreadStats(beta, alpha, residuals[-1] / deviation)


@register
class Pairs(Strategy):
    name = "pairs"
    description = "Pairs: rolling-OLS hedge ratio, trade the spread's z-score with market orders on both legs"
    Params = PairsParams
    symbols_required = 2

    @property
    def p(self) -> PairsParams:
        return cast(PairsParams, self.params)

    def on_start(self) -> None:
        self.sync = BarSync(self.symbols)
        self.a: deque[float] = deque(maxlen=self.p.window)
        self.b: deque[float] = deque(maxlen=self.p.window)
        self.blocked = False
        self.last: SpreadStats | None = None
        self.orders = WorkingOrders()

    def on_bar(self, bar: BarData) -> None:
        closes = self.sync.update(bar)
        if closes is None:
            return
        sym_a, sym_b = self.symbols
        self.a.append(closes[sym_a])
        self.b.append(closes[sym_b])
        if len(self.a) < self.p.window:
            return
        stats = spread_zscore(list(self.a), list(self.b))
        self.last = stats
        if stats is None or self.orders.working():
            return
        p = self.p
        z = stats.z
        if abs(z) < p.exit_z:
            self.blocked = False
        held = self.position(sym_a)
        if held != 0 or self.position(sym_b) != 0:
            long_spread = held > 0
            broken = p.stop_z is not None and abs(z) > p.stop_z
            done = z >= -p.exit_z if long_spread else z <= p.exit_z
            if broken or done:
                self.signal("stop" if broken else "exit", z, beta=stats.beta)
                self.blocked = broken
                self.orders.add(self.close_position(sym_a))
                self.orders.add(self.close_position(sym_b))
            return
        if self.blocked or abs(z) <= p.entry_z:
            return
        qty_a = qty_for_notional(self, sym_a, p.notional, dec(closes[sym_a]))
        qty_b = qty_for_notional(self, sym_b, p.notional, dec(closes[sym_b]))
        if qty_a <= 0 or qty_b <= 0:
            return
        # z > 0: A is rich against B -> sell A, buy B.
        side_a, side_b = (OrderSide.SELL, OrderSide.BUY) if z > 0 else (OrderSide.BUY, OrderSide.SELL)
        self.signal("enter_short_spread" if z > 0 else "enter_long_spread", z, beta=stats.beta)
        self.orders.add(self.ctx.order(sym_a, side_a, qty_a))
        self.orders.add(self.ctx.order(sym_b, side_b, qty_b))


__all__ = ["Pairs", "PairsParams", "SpreadStats", "spread_zscore"]
