"""The simulated venue's driver: what moves a :class:`SimulatedVenue` and its node through market data.

An exchange trades by itself; the simulator trades because someone shows it the market. The driver does that for
the backtester and the paper host: it steps a bar through the venue (the open auction, the intrabar path, the
close) interleaved with the node's order emulator, posts the liquidity ladder the next order meets (book mode),
and delivers the venue's simulated latency on the node's clock timers. The node knows none of this: it sees a
venue through the port (:mod:`alphintra.engine.venue.base`) and hands bars and ticks to its driver.

Install with ``SimDriver(node, venue, liquidity)``: it binds the venue to the node (with the node's funding
capacity, which caps simulated fills as an exchange's balance check would) and becomes the node's market driver.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from alphintra.engine._node_funds import capacity
from alphintra.engine.clock import Clock
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.data import Bar, TradeTick
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.simulated import SimulatedVenue

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from alphintra.engine.node import TradingNode


class SimDriver:
    def __init__(self, node: TradingNode, venue: SimulatedVenue, liquidity: LiquidityModel | None = None) -> None:
        self.node = node
        self.venue = venue
        self.liquidity = liquidity
        self.book = venue.model.mode == "book"
        self._timers = 0
        if node.venues.get(venue.name) is not venue:  # a venue the node holds already (not only the default)
            node.bind_venue(venue)
        venue.bind(node, capacity=partial(capacity, node), schedule=self._schedule)
        node.driver = self

    def _schedule(self, due_ns: int, action: Callable[[], None]) -> None:
        """Venue latency rides on the clock's timers: delivered in time order with every other timer."""
        self._timers += 1
        self.node.clock.set_timer(f"venue:{self._timers}", lambda _name, _ts: action(), at_ns=due_ns)

    def fresh_venue(self) -> SimulatedVenue:
        """A new, empty venue like this one, driven by this driver (a rewind drops what the old book held)."""
        old = self.venue
        venue = SimulatedVenue(old.instruments, old.model, name=old.name, now=self.node.clock.now_ns)
        venue.bind(self.node, capacity=partial(capacity, self.node), schedule=self._schedule)
        self.venue = venue
        return venue

    # -- market data ----------------------------------------------------------------------------------------

    def has_work(self, symbol: str) -> bool:
        """Whether a bar of ``symbol`` can change anything at the venue (working orders, a latency queue)."""
        return self.venue.has_work(symbol)

    def process_bar(self, bar: Bar) -> None:
        """Trade one bar: timers due by its open, the open auction, the intrabar path, then the close.

        The path starts with the open itself (a zero-length segment), so that a stop or a resting limit the
        market gapped through between bars acts at the open even when the bar never trades back through it.
        """
        node = self.node
        node.advance_clock(bar.ts)
        venue = self.venue
        symbol = bar.symbol
        if self.book:
            path = bar.path()
            self.post_liquidity(symbol, path[0])
            self._walk(symbol, path, None)
        elif venue.has_working(symbol) or node.emulator.has_armed(symbol):
            venue.begin_bar(bar)
            self._walk(symbol, bar.path(), venue)
            venue.end_bar(bar)
        else:
            venue.quiet_bar(bar)  # nothing can trade: the common case of a backtest, kept cheap
        node.close_bar(bar)

    def _walk(self, symbol: str, path: tuple[Decimal, ...], bar_venue: SimulatedVenue | None) -> None:
        node = self.node
        emulator = node.emulator
        last_prices = node.last_prices
        prev = path[0]
        last_prices[symbol] = prev
        emulator.on_segment(symbol, prev, prev)
        if bar_venue is not None:
            bar_venue.cross(symbol, prev, prev)
        for point in path[1:]:
            if point != prev:
                if bar_venue is None:
                    # Book mode: the market is at ``point`` first (the ladder moves there, resting limits it
                    # crosses fill), then the stops it reached trigger and meet that book, not the old one.
                    self.post_liquidity(symbol, point)
                    emulator.on_segment(symbol, prev, point)
                else:
                    emulator.on_segment(symbol, prev, point)
                    bar_venue.cross(symbol, prev, point)
                last_prices[symbol] = point
                prev = point

    def process_trade(self, tick: TradeTick) -> None:
        node = self.node
        node.advance_clock(tick.ts)  # timers (GTD, algorithm slices, venue latency) due by the tick fire first
        # The move starts at the last price before the ladder moves (a resting limit it fills moves that price).
        prev = node.last_prices.get(tick.symbol, tick.price)
        if self.book:
            self.post_liquidity(tick.symbol, tick.price)
        node.trade_tick(tick, prev)

    def post_liquidity(self, symbol: str, mid: Decimal) -> None:
        """Book mode: replace the resting ladder of ``symbol`` with the liquidity model's ladder around ``mid``."""
        if self.liquidity is not None:
            self.venue.post_liquidity(symbol, self.liquidity.ladder(self.node.instruments.get(symbol), mid))

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        book = self.venue.depth(symbol, 1)
        return (book["bids"][0][0] if book["bids"] else None, book["asks"][0][0] if book["asks"] else None)

    def depth(self, symbol: str, n: int = 10) -> dict[str, list[tuple[Decimal, Decimal, int]]]:
        return self.venue.depth(symbol, n)


class SimDrivers:
    """Several simulated venues in one node: each symbol's bars, ticks and liquidity go to its venue's driver.

    Install after a :class:`SimDriver` per venue (each made the node's driver in turn): this one replaces them as
    the node's market driver and hands each symbol to the driver of the venue it trades on.
    """

    def __init__(self, node: TradingNode, drivers: Mapping[str, SimDriver]) -> None:
        self.node = node
        self.drivers = dict(drivers)
        node.driver = self

    def driver_for(self, symbol: str) -> SimDriver:
        return self.drivers[self.node.venue_for(symbol).name]

    def has_work(self, symbol: str) -> bool:
        return self.driver_for(symbol).has_work(symbol)

    def process_bar(self, bar: Bar) -> None:
        self.driver_for(bar.symbol).process_bar(bar)

    def process_trade(self, tick: TradeTick) -> None:
        self.driver_for(tick.symbol).process_trade(tick)

    def fresh_venue(self) -> SimulatedVenue:
        """Every driven venue starts empty (a rewind); the default venue's fresh one is returned for the node to
        bind, the others replace their old selves in the node's venues."""
        node = self.node
        for name, driver in self.drivers.items():
            if name != node.venue.name:
                node.venues[name] = driver.fresh_venue()
        return self.drivers[node.venue.name].fresh_venue()

    def post_liquidity(self, symbol: str, mid: Decimal) -> None:
        self.driver_for(symbol).post_liquidity(symbol, mid)

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        return self.driver_for(symbol).top_of_book(symbol)

    def depth(self, symbol: str, n: int = 10) -> dict[str, list[tuple[Decimal, Decimal, int]]]:
        return self.driver_for(symbol).depth(symbol, n)


def simulated_node(
    instruments: InstrumentRegistry,
    clock: Clock,
    model: FillModel | None = None,
    *,
    liquidity: LiquidityModel | None = None,
    venue: SimulatedVenue | None = None,
    **node_options: Any,
) -> TradingNode:
    """A trading node on a simulated venue (a new one with ``model``, or ``venue``), driven by a :class:`SimDriver`."""
    from alphintra.engine.node import TradingNode  # the node imports nothing of the simulator; this is the glue

    if venue is None:
        venue = SimulatedVenue(instruments, model, now=clock.now_ns)
    node = TradingNode(instruments=instruments, venue=venue, clock=clock, **node_options)
    SimDriver(node, venue, liquidity)
    return node


__all__ = ["SimDriver", "SimDrivers", "simulated_node"]
