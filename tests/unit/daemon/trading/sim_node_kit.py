"""A small simulated node for the daemon's unit tests that need real orders (listings, snapshots)."""

from __future__ import annotations

from decimal import Decimal

from alphintra.engine.clock import TestClock
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.sim_driver import simulated_node

MIN = 60_000_000_000
GOOG = Instrument.create("GOOG", tick_size="0.01", lot_size="1", min_notional="10", taker_fee="0.002")


def minute_bar(t: int, price: str) -> Bar:
    """Minute ``t`` of GOOG, every price at ``price``."""
    p = Decimal(price)
    return Bar("GOOG", t * MIN, p, p, p, p, Decimal(1000), (t + 1) * MIN - 1)


def small_node() -> TradingNode:
    """Bar mode, account ``main`` with 100,000 USD, GOOG last traded at 100."""
    node = simulated_node(InstrumentRegistry((GOOG,)), TestClock(0), FillModel(mode="bar"))
    node.open_account("main", cash={"USD": "100000"})
    node.process_bar(minute_bar(1, "100"))
    return node
