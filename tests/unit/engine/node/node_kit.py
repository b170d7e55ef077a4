"""Builders shared by the node acceptance tests: instruments, a node on a TestClock, bars, event names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alphintra.engine.clock import TestClock
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.core.orders import Order
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.sim_driver import simulated_node

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
MIN = 60_000_000_000  # one minute in ns: bar t opens at t * MIN

# Fees chosen so that every fee is visible in the balances: maker 10 bps, taker 20 bps.
GOOG = Instrument.create(
    "GOOG", tick_size="0.01", lot_size="1", min_notional="10", maker_fee="0.001", taker_fee="0.002"
)


class ListJournal:
    """An in-memory journal sink (the real Journal is used by the replay tests)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> int:
        self.records.append(dict(record))
        return len(self.records)


def make_node(
    mode: str = "bar",
    *,
    instruments: tuple[Instrument, ...] = (GOOG,),
    latency_ns: int = 0,
    participation: Decimal | None = None,
    slippage_ticks: int = 0,
    liquidity: LiquidityModel | None = None,
    journal: Any | None = None,
    start_ns: int = 0,
) -> TradingNode:
    registry = InstrumentRegistry(instruments)
    clock = TestClock(start_ns)
    model = FillModel(
        mode=mode,  # type: ignore[arg-type]
        latency_ns=latency_ns,
        max_participation=participation,
        slippage_ticks=slippage_ticks,
    )
    return simulated_node(registry, clock, model, journal=journal, liquidity=liquidity)


def bar(t: int, o: str, h: str, low: str, c: str, v: str = "1000", symbol: str = "GOOG") -> Bar:
    return Bar(symbol, t * MIN, D(o), D(h), D(low), D(c), D(v), (t + 1) * MIN - 1)


def kinds(order: Order) -> list[str]:
    """The order's history as event class names (its state transitions, in order)."""
    return [type(e).__name__ for e in order.events]


def usd(node: TradingNode, account: str = "main") -> tuple[Decimal, Decimal]:
    bal = node.ledger.balance(account, "USD")
    return bal.total, bal.locked


def held(node: TradingNode, account: str, asset: str) -> tuple[Decimal, Decimal]:
    bal = node.ledger.balance(account, asset)
    return bal.total, bal.locked
