"""Market data records the engine consumes. Prices are exact Decimals on the instrument's tick grid."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alphintra.engine.core.frozen import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    ts: int  # bar open time, ns since the epoch (UTC)
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    close_ts: int = 0  # when the bar is complete; the engine handles a bar at this time

    def path(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The assumed order of prices inside the bar (see ``venue.fill_model``)."""
        if self.close >= self.open:
            return (self.open, self.low, self.high, self.close)
        return (self.open, self.high, self.low, self.close)


@dataclass(frozen=True, slots=True)
class TradeTick:
    symbol: str
    ts: int
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class QuoteTick:
    symbol: str
    ts: int
    bid: Decimal
    ask: Decimal
    bid_size: Decimal = Decimal(0)
    ask_size: Decimal = Decimal(0)

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2
