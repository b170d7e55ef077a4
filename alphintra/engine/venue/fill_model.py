"""How the simulated venue fills orders. Documented here because backtest results depend on it.

Two modes:

``bar`` (backtests on OHLCV bars; the default)
    Orders a strategy submits wait for the next bar: nothing submitted after a bar was seen can trade on that
    bar, so a strategy can never fill at a price it has already seen (no look-ahead).

    * **Market orders** fill at the next bar's **open**, moved against the order by the slippage (``slippage_bps``
      of the price, plus ``slippage_ticks`` ticks), rounded to the tick grid away from the trader and kept inside
      the bar's high/low.
    * **Limit orders** that are marketable at the open fill at the open (taker). Otherwise the bar is walked as a
      price path -- open, low, high, close when the bar closed up, open, high, low, close when it closed down --
      and a resting limit fills at its limit price (maker) when the path reaches it.
    * **Stops** (emulated above the venue) trigger on the same path; a stop triggered inside a bar fills at its
      stop price (or at the open if the bar gapped through it), plus slippage.
    * **Orders the engine creates while a bar is walked** (an iceberg's refill, a bracket's exits, a triggered
      stop-limit) join the rest of that bar's path and fill only at their own limit price (maker): the refill of
      an iceberg that just traded at its limit cannot be filled at a better price the path had reached before it
      existed. From the next bar on they are ordinary resting orders.
    * **IOC / FOK** limits get one chance at the next open. **Post-only** limits marketable at the open are
      rejected.
    * **Volume participation cap**: with ``max_participation`` set, the fills of one symbol in one bar total at
      most that fraction of the bar's volume (rounded down to lots); a market order's remainder waits for the next
      bar's open, a limit's keeps resting.

``book`` (paper trading, market making, arbitrage)
    Orders go through the price-time-priority matching engine against resting liquidity (the liquidity model's
    ladder and other accounts). Slippage is what walking the book costs. Market orders become IOC limits at a
    protective collar (``market_collar_bps`` from the reference price), as many exchanges do, so their cost is
    bounded by what was reserved. ``latency_ns`` delays every submission, cancel and modify by that much engine
    time (delivered by the node's clock timers, so a cancel can lose the race against a fill).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class FillModel:
    mode: Literal["bar", "book"] = "bar"
    slippage_bps: Decimal = Decimal(0)
    slippage_ticks: int = 0
    max_participation: Decimal | None = None
    latency_ns: int = 0
    market_collar_bps: Decimal = Decimal(500)

    def __post_init__(self) -> None:
        from alphintra.engine.core.errors import ValidationError

        if self.mode not in ("bar", "book"):
            raise ValidationError("fill_model.mode", "must be bar or book", self.mode)
        if self.slippage_bps < 0:
            raise ValidationError("slippage_bps", "must be >= 0", self.slippage_bps)
        if self.slippage_ticks < 0:
            raise ValidationError("slippage_ticks", "must be >= 0", self.slippage_ticks)
        if self.max_participation is not None and not 0 < self.max_participation <= 1:
            raise ValidationError("max_participation", "must be in (0, 1]", self.max_participation)
        if self.latency_ns < 0:
            raise ValidationError("latency_ns", "must be >= 0", self.latency_ns)
        if self.market_collar_bps <= 0:
            raise ValidationError("market_collar_bps", "must be > 0", self.market_collar_bps)
