"""In book mode a stop that the market reaches trades against the book at the new price, not the old one."""

from __future__ import annotations

from decimal import Decimal as D

from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.sim_driver import simulated_node


def test_buy_stop_fills_at_or_above_its_stop_when_the_bar_moves_through_it() -> None:
    inst = Instrument.create("BTC/USD", tick_size="0.01", lot_size="0.0001")
    reg = InstrumentRegistry([inst])
    clock = TestClock(0)
    node = simulated_node(reg, clock, FillModel(mode="book"), liquidity=LiquidityModel())
    node.open_account("main", cash={"USD": D(1_000_000)})
    node.process_bar(Bar("BTC/USD", 0, D(60600), D(60600), D(60600), D(60600), D(1), 60))
    stop = node.submit(OrderRequest("BTC/USD", OrderSide.BUY, D("0.1"), OrderType.STOP, stop_price=D(61000)))
    node.process_bar(Bar("BTC/USD", 60, D(60600), D(61100), D(60600), D(61100), D(1), 120))
    assert stop.status is OrderStatus.FILLED
    assert stop.average_price is not None and stop.average_price >= D(61000)
