"""Modify on a venue that cannot amend (capabilities.modify False): cancel at the venue, then the replacement under a
new key once the cancel is confirmed; one order keeps its identity and history; the race with fills that land
before the cancel; the new key survives a restart."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from node_kit import BUY, GOOG, ListJournal, kinds, make_node, usd
from port_kit import assert_agrees, port_node, restart, trade

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType
from alphintra.engine.core.errors import ConflictError, ValidationError
from alphintra.engine.core.events import OrderUpdated
from alphintra.engine.core.orders import Order
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.liquidity import LiquidityModel

D = Decimal
SEC = 1_000_000_000
LIMIT = OrderType.LIMIT


def no_amend(node: TradingNode) -> None:
    venue = node.venue_for(GOOG.symbol)
    venue.capabilities = dataclasses.replace(venue.capabilities, modify=False)  # type: ignore[misc]


def book_node() -> TradingNode:
    """Book mode, 100 ms each way to the venue, one thin level each side (400 USD): a trade print through a resting
    buy fills it by about 4 shares."""
    node = make_node(
        "book", latency_ns=SEC // 10, liquidity=LiquidityModel(levels=1, level_notional=D(400)), journal=ListJournal()
    )
    no_amend(node)
    node.open_account("main", cash={"USD": D(100000)})
    node.process_trade(TradeTick(GOOG.symbol, SEC, D(100), D(1)))
    return node


def working(node: TradingNode) -> list[tuple[str, Decimal, Decimal | None]]:
    return sorted((s.key, s.quantity - s.filled, s.price) for s in node.venue_for(GOOG.symbol).open_orders())


def resting_buy(node: TradingNode, qty: str = "10", price: str = "99") -> Order:
    order = node.submit(OrderRequest(GOOG.symbol, BUY, D(qty), LIMIT, price=D(price)))
    node.advance_clock(2 * SEC)
    assert working(node) == [(order.id, D(qty), D(price))]
    return order


def test_modify_cancels_then_places_the_replacement_under_a_new_key_keeping_the_order() -> None:
    node = book_node()
    order = resting_buy(node)
    node.modify(order.id, price=D(97), quantity=D(6))
    # nothing changes until the venue confirms the cancel: the order still works there on its old terms
    assert order.price == D(99) and working(node) == [(order.id, D(10), D(99))]
    with pytest.raises(ConflictError, match="being replaced"):
        node.modify(order.id, price=D(96))
    node.advance_clock(3 * SEC)  # the cancel lands, the replacement goes out and lands
    replacement = f"{order.id}/m1"
    assert working(node) == [(replacement, D(6), D(97))]
    assert (order.status, order.quantity, order.price) == (OrderStatus.ACCEPTED, D(6), D(97))
    last = order.events[-1]
    assert isinstance(last, OrderUpdated) and last.venue_key == replacement
    assert node.at_venue == {replacement: D(6)}
    # funds locked for the new terms only: 6 x 97 plus the taker fee
    assert usd(node)[1] == D(6) * D(97) * (1 + GOOG.taker_fee)
    # the replacement's fill belongs to the same order
    node.process_trade(TradeTick(GOOG.symbol, 4 * SEC, D(96), D(1)))
    node.process_trade(TradeTick(GOOG.symbol, 5 * SEC, D(95), D(1)))
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D(6)
    assert usd(node)[1] == 0 and working(node) == []


def test_fills_before_the_cancel_lands_leave_the_replacement_only_what_is_left() -> None:
    node = book_node()
    order = resting_buy(node)
    node.modify(order.id, price=D(98))
    node.process_trade(TradeTick(GOOG.symbol, 2 * SEC + SEC // 20, D(98), D(1)))  # fills 4 while the cancel travels
    assert (order.status, order.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, D(4))
    node.advance_clock(3 * SEC)
    assert working(node) == [(f"{order.id}/m1", D(6), D(98))]
    assert (order.quantity, order.price, order.filled_quantity) == (D(10), D(98), D(4))
    assert usd(node)[1] == D(6) * D(98) * (1 + GOOG.taker_fee)


def test_a_fill_of_everything_before_the_cancel_lands_sends_no_replacement() -> None:
    node = book_node()
    order = resting_buy(node, qty="4")
    node.modify(order.id, price=D(98))
    node.process_trade(TradeTick(GOOG.symbol, 2 * SEC + SEC // 20, D(98), D(1)))
    node.advance_clock(3 * SEC)  # the venue refuses the cancel: the order had filled
    assert order.status is OrderStatus.FILLED and order.price == D(99)
    assert "OrderUpdated" not in kinds(order) and working(node) == [] and node.replacing == {}
    assert usd(node)[1] == 0


def test_a_fill_up_to_the_new_quantity_ends_the_order_with_the_reason() -> None:
    node = book_node()
    order = resting_buy(node)
    node.modify(order.id, quantity=D(4))
    node.process_trade(TradeTick(GOOG.symbol, 2 * SEC + SEC // 20, D(98), D(1)))  # fills 4: all the new quantity
    node.advance_clock(3 * SEC)
    assert order.status is OrderStatus.CANCELED and order.filled_quantity == D(4)
    assert "filled before the cancel-replace" in order.status_message
    assert working(node) == [] and usd(node)[1] == 0


def test_a_modify_the_account_cannot_fund_is_refused_with_nothing_sent() -> None:
    node = book_node()
    order = resting_buy(node)
    with pytest.raises(ValidationError):
        node.modify(order.id, quantity=D(5000))
    node.advance_clock(3 * SEC)
    assert working(node) == [(order.id, D(10), D(99))] and node.replacing == {}


def test_a_cancel_while_the_replacement_is_pending_cancels_the_order() -> None:
    node = book_node()
    order = resting_buy(node)
    node.modify(order.id, price=D(97))
    node.cancel(order.id)
    node.advance_clock(3 * SEC)
    assert order.status is OrderStatus.CANCELED and working(node) == [] and usd(node)[1] == 0


def test_the_replacement_key_survives_a_restart_on_a_venue_that_keeps_its_orders() -> None:
    node, venue = port_node()
    venue.capabilities = dataclasses.replace(venue.capabilities, modify=False)
    trade(node, venue, "100", 1)
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(90)))
    node.modify(order.id, price=D(97), quantity=D(6))
    assert venue.sent == [order.id, f"{order.id}/m1"]
    assert venue.orders[order.id].status != "open" and venue.orders[f"{order.id}/m1"].leaves == D(6)
    assert [e.venue_key for e in order.events if isinstance(e, OrderUpdated)] == [f"{order.id}/m1"]
    node = restart(node, venue)
    again = node.order(order.id)
    assert again.status is OrderStatus.ACCEPTED and node.at_venue == {f"{order.id}/m1": D(6)}
    trade(node, venue, "96", 2)
    assert again.status is OrderStatus.FILLED and again.filled_quantity == D(6)
    assert venue.sent == [order.id, f"{order.id}/m1"]  # nothing sent again
    assert_agrees(node, venue)


def test_an_iceberg_is_replaced_by_its_next_slice_on_the_new_terms() -> None:
    node, venue = port_node()
    venue.capabilities = dataclasses.replace(venue.capabilities, modify=False)
    trade(node, venue, "100", 1)
    ice = node.submit(OrderRequest("GOOG", BUY, D(9), OrderType.ICEBERG, price=D(95), display_quantity=D(3)))
    node.modify(ice.id, price=D(97), quantity=D(6))
    assert venue.sent == [f"{ice.id}/1", f"{ice.id}/2"]
    assert [(k, w.status, w.o.price, w.leaves) for k, w in venue.orders.items() if w.status == "open"] == [
        (f"{ice.id}/2", "open", D(97), D(3))
    ]
    assert (ice.quantity, ice.price, ice.status) == (D(6), D(97), OrderStatus.ACCEPTED)
    trade(node, venue, "96", 2)
    trade(node, venue, "96", 3)
    assert ice.status is OrderStatus.FILLED and ice.filled_quantity == D(6)
    assert_agrees(node, venue)
