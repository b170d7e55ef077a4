"""The paper market: a seeded random walk per symbol that produces one-minute bars for the trading node.

Every ``interval`` wall-clock seconds (60 / ``paper.replay_speed``) each symbol gets a bar whose open is the
previous close; its close follows a Gaussian step with the symbol's volatility, high and low wrap both. The node
trades the bar through its liquidity ladder, so resting limits fill and stops trigger exactly as in a backtest
in book mode. Prices start at the last stored close of the symbol when market data exists, else at a default.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from alphintra.engine.core.instrument import Instrument
from alphintra.engine.data import Bar

NS_PER_MINUTE = 60_000_000_000


@dataclass
class SymbolFeed:
    instrument: Instrument
    price: Decimal
    volatility: float = 0.001  # per bar
    bars: deque[Bar] = field(default_factory=lambda: deque(maxlen=1000))
    day_open: Decimal | None = None
    volume_24h: Decimal = Decimal(0)


class PaperFeed:
    def __init__(self, instruments: list[Instrument], start_prices: dict[str, Decimal], *, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.symbols: dict[str, SymbolFeed] = {}
        for inst in instruments:
            price = start_prices.get(inst.symbol)
            if price is None:
                continue
            self.symbols[inst.symbol] = SymbolFeed(inst, inst.round_price(price), day_open=inst.round_price(price))

    def next_bar(self, symbol: str, ts_ns: int) -> Bar:
        feed = self.symbols[symbol]
        inst = feed.instrument
        rng = self.rng
        open_ = feed.price
        step = Decimal(repr(rng.gauss(0.0, feed.volatility)))
        close = inst.round_price(max(open_ * (1 + step), inst.tick_size))
        wiggle = Decimal(repr(abs(rng.gauss(0.0, feed.volatility / 2))))
        high = inst.round_price(max(open_, close) * (1 + wiggle), "up")
        low = inst.round_price(max(min(open_, close) * (1 - wiggle), inst.tick_size), "down")
        volume = inst.round_qty(Decimal(repr(rng.uniform(50, 150))) * Decimal(10_000) / close) or inst.lot_size
        bar = Bar(symbol, ts_ns - NS_PER_MINUTE, open_, high, low, close, volume, ts_ns)
        feed.price = close
        feed.bars.append(bar)
        feed.volume_24h += volume
        return bar

    def set_price(self, symbol: str, price: Decimal, ts_ns: int) -> Bar:
        """Move the market straight to ``price`` (the admin tick endpoint; deterministic tests use it)."""
        feed = self.symbols[symbol]
        inst = feed.instrument
        price = inst.make_price(price)
        open_ = feed.price
        bar = Bar(
            symbol, ts_ns - NS_PER_MINUTE, open_, max(open_, price), min(open_, price), price, inst.lot_size, ts_ns
        )
        feed.price = price
        feed.bars.append(bar)
        return bar
