"""The trading node's market-data side: bars, trades and quotes move prices, the emulator and the marks.

A venue that needs showing the market (the simulator) has a driver (see ``alphintra.engine.venue.sim_driver``) that
the node hands bars and ticks to; an exchange trades by itself, so without a driver a bar only walks its path
through the order emulator (stops, trailing stops) and marks the ledger. Part of
:class:`~alphintra.engine.node.TradingNode` (a base class of it).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.data import Bar, QuoteTick, TradeTick

if TYPE_CHECKING:
    from alphintra.engine.clock import Clock
    from alphintra.engine.core.instrument import InstrumentRegistry
    from alphintra.engine.core.ledger import Ledger
    from alphintra.engine.emulator import OrderEmulator
    from alphintra.engine.node_api import MarketDriver, RiskHooks


class NodeMarket:
    driver: MarketDriver | None
    clock: Clock
    emulator: OrderEmulator
    instruments: InstrumentRegistry
    ledger: Ledger
    last_prices: dict[str, Decimal]
    risk: RiskHooks | None
    _advance_to: Callable[[int], int] | None

    def check_margin(self) -> Any:  # the node's (see TradingNode.check_margin)
        raise NotImplementedError

    def process_bar(self, bar: Bar) -> None:
        """Trade one bar: through the venue's driver when it has one, else the emulator walks the bar's path (an
        exchange trades by itself; its fills come as reports)."""
        driver = self.driver
        if driver is not None:
            driver.process_bar(bar)
            return
        self.advance_clock(bar.ts)
        symbol, emulator = bar.symbol, self.emulator
        path = bar.path()
        prev = path[0]
        self.last_prices[symbol] = prev
        emulator.on_segment(symbol, prev, prev)
        for point in path[1:]:
            if point != prev:
                emulator.on_segment(symbol, prev, point)
                self.last_prices[symbol] = prev = point
        self.close_bar(bar)

    def pass_bar(self, symbol: str, close: Decimal, end_ns: int | None = None) -> None:
        """A bar its caller knows nothing can trade on (no working or armed order of ``symbol``, no timer due by
        ``end_ns``): only the last price moves, and a simulated clock to ``end_ns``. The ledger's mark follows when
        something values the account (sizing refreshes it; a margin check marks before it calls)."""
        self.last_prices[symbol] = close
        if end_ns is not None:
            self.advance_clock(end_ns)

    def advance_clock(self, ts: int) -> None:
        """A simulated clock moves to ``ts`` (its timers due by then fire first); a live clock moves by itself."""
        advance = self._advance_to
        if advance is not None and ts > self.clock.now_ns():
            advance(ts)

    def close_bar(self, bar: Bar) -> None:
        """The bar closed: mark to its close, move time to its end, margin and risk see it."""
        close = bar.close
        self.last_prices[bar.symbol] = close
        self.ledger.mark_to_market({bar.symbol: close})
        self.advance_clock(bar.close_ts or bar.ts)
        self.check_margin()
        if self.risk is not None:
            self.risk.on_bar(self, bar)  # live risk figures and the circuit breakers see every closed bar

    def process_trade(self, tick: TradeTick) -> None:
        driver = self.driver
        if driver is not None:
            driver.process_trade(tick)
        else:
            self.advance_clock(tick.ts)  # timers (GTD, algorithm slices) due by the tick fire first
            self.trade_tick(tick)

    def trade_tick(self, tick: TradeTick, prev: Decimal | None = None) -> None:
        """The market traded at ``tick.price`` (after ``prev``, default the last price): stops, marks, margin, risk."""
        if prev is None:
            prev = self.last_prices.get(tick.symbol, tick.price)
        self.last_prices[tick.symbol] = tick.price
        if prev != tick.price:
            self.emulator.on_segment(tick.symbol, prev, tick.price)
        self.ledger.mark_to_market({tick.symbol: tick.price})
        self.check_margin()
        if self.risk is not None:
            self.risk.on_price(self, tick.symbol, tick.price, tick.ts)

    def process_quote(self, quote: QuoteTick) -> None:
        inst = self.instruments.get(quote.symbol)
        self.process_trade(TradeTick(quote.symbol, quote.ts, inst.round_price(quote.mid), Decimal(0)))
