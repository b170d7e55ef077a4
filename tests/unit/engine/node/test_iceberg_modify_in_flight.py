"""Book mode with latency: a quantity change asked for while an iceberg's visible slice trades reaches the venue
after the next slice was sent, so it applies to that slice when the slice arrives (found by the property test).

Before, the venue dropped the change (the slice was not in the book yet) while the node had already lowered the
order's quantity: the slice then traded in full and the next fill would overfill the order."""

from __future__ import annotations

from decimal import Decimal as D

from node_kit import BUY, MIN, SELL, make_node

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType
from alphintra.engine.data import TradeTick

LATENCY = 500


def test_a_quantity_cut_that_arrives_after_the_next_slice_was_sent_applies_to_that_slice() -> None:
    node = make_node("book", latency_ns=LATENCY)
    node.open_account("seller", cash={"USD": "1"})
    node.deposit("seller", "GOOG", "10")
    node.open_account("buyer", cash={"USD": "100000"})
    node.process_trade(TradeTick("GOOG", MIN, D(100), D(1)))
    t = MIN
    iceberg = node.submit(
        OrderRequest("GOOG", SELL, D(5), OrderType.ICEBERG, price=D(100), display_quantity=D(2), account="seller")
    )
    node.advance_clock(t + LATENCY)  # the first slice (2) rests
    node.submit(OrderRequest("GOOG", BUY, D(2), OrderType.LIMIT, price=D(100), account="buyer"))
    node.advance_clock(t + LATENCY + 200)
    node.modify(iceberg.id, quantity=D(3))  # reaches the venue after the buy took the slice and the next was sent
    node.advance_clock(t + 2 * LATENCY + 100)
    assert iceberg.filled_quantity == D(2)  # the first slice traded; the second is on its way
    node.advance_clock(t + 4 * LATENCY)
    node.submit(OrderRequest("GOOG", BUY, D(2), OrderType.LIMIT, price=D(100), account="buyer"))
    node.advance_clock(t + 6 * LATENCY)
    assert iceberg.quantity == D(3)
    assert (iceberg.status, iceberg.filled_quantity) == (OrderStatus.FILLED, D(3))
    assert node.ledger.balance("seller", "GOOG").total == D(7)
    assert node.ledger.balance("buyer", "GOOG").total == D(3)
