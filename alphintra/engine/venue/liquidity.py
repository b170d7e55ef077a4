"""The paper venue's background liquidity: a ladder of resting quotes around the replayed price.

Not a strategy of the user's: it exists so that a paper session feels like a venue -- market orders walk real
depth, limit orders queue behind others, and the depth ladder moves. Level ``i`` (from 1) sits ``i x spread``
basis points from the mid on each side, each worth ``level_notional`` in the quote asset (rounded down to lots).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.instrument import Instrument

_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class LiquidityModel:
    levels: int = 10
    spread_bps: Decimal = Decimal(5)
    level_notional: Decimal = Decimal(5000)

    def ladder(self, inst: Instrument, mid: Decimal) -> list[tuple[OrderSide, Decimal, Decimal]]:
        out: list[tuple[OrderSide, Decimal, Decimal]] = []
        for i in range(1, self.levels + 1):
            offset = mid * self.spread_bps * i / _BPS
            bid = inst.round_price(mid - offset, "down")
            ask = inst.round_price(mid + offset, "up")
            if bid == ask:
                ask = ask + inst.tick_size
            if bid > 0:
                qty = inst.round_qty(self.level_notional / bid)
                if qty > 0:
                    out.append((OrderSide.BUY, bid, qty))
            qty = inst.round_qty(self.level_notional / ask)
            if qty > 0:
                out.append((OrderSide.SELL, ask, qty))
        return out
