"""Reconciliation and commands in doubt, on the port-only test venue (which keeps its state, as an exchange does).

One test per case: after each, the node's orders, fills and balances equal the venue's (``assert_agrees``), and
nothing was booked twice or sent twice.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from port_kit import assert_agrees, balances, port_node, restart, trade
from port_venue import PortVenue

from alphintra.engine._node_reconcile import ASK_ATTEMPTS
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, RejectReason
from alphintra.engine.core.errors import OrderRejectedError
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.base import VenueFill, VenueOrder, VenueUnavailable

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT = OrderType.LIMIT


def resting(price: str = "95") -> tuple[TradingNode, PortVenue, str]:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(price)))
    assert order.status is OrderStatus.ACCEPTED
    return node, venue, order.id


def outside(venue: PortVenue, action: object) -> None:
    """Something happens at the venue while the node is not connected: the venue acts, no report arrives."""
    venue.down, venue.lands = True, True
    with pytest.raises(VenueUnavailable):
        action()  # type: ignore[operator]
    venue.down, venue.lands = False, False


def test_a_restart_asks_the_venue_and_never_sends_a_working_order_again() -> None:
    node, venue, order_id = resting()
    node = restart(node, venue)
    assert venue.sent == [order_id]
    assert node.order(order_id).status is OrderStatus.ACCEPTED and order_id in node.at_venue
    trade(node, venue, "94", 2)  # it still fills, reported live
    assert node.order(order_id).status is OrderStatus.FILLED
    assert_agrees(node, venue)


def test_a_fill_missed_while_down_is_booked_once_on_restart() -> None:
    node, venue, order_id = resting()
    venue.down = True
    venue.trade("GOOG", "94")  # the venue fills it; the report is lost
    venue.down = False
    assert node.order(order_id).status is OrderStatus.ACCEPTED
    node = restart(node, venue)
    order = node.order(order_id)
    assert order.status is OrderStatus.FILLED and [f.trade_id for f in node.fills] == ["T1"]
    assert node.reconcile().fills_booked == []  # asked again (a reconnect): nothing more
    assert balances(node) == {"USD": D("99049.050"), "GOOG": D(10)}  # 10 x 95 + 0.95 fee
    assert_agrees(node, venue)


def test_an_order_canceled_at_the_venue_while_down_is_closed_and_its_funds_released() -> None:
    node, venue, order_id = resting()
    outside(venue, lambda: venue.cancel(order_id))
    node = restart(node, venue)
    order = node.order(order_id)
    assert order.status is OrderStatus.CANCELED and order.status_message == "canceled"
    assert node.ledger.balance("main", "USD").locked == 0
    assert venue.sent == [order_id]
    assert_agrees(node, venue)


def test_an_order_placed_outside_alphintra_is_adopted_and_then_fills_live() -> None:
    node, venue, _ = resting()
    outside(venue, lambda: venue.submit(VenueOrder("web-1", "main", "GOOG", SELL, D(2), D(120))))
    venue.fund("main", "GOOG", "2")  # it sells coins the account held at the venue
    node.deposit("main", "GOOG", D(2))
    report = node.reconcile()
    (adopted,) = [node.order(i) for i in report.adopted]
    assert adopted.tags == ("external",) and adopted.client_order_id == "web-1"
    assert adopted.status is OrderStatus.ACCEPTED and adopted.price == D(120)
    trade(node, venue, "121", 2)
    assert adopted.status is OrderStatus.FILLED and node.fills[-1].last_px == D(120)
    node = restart(node, venue)  # the adopted order was journaled: it is not adopted a second time
    assert [o.client_order_id for o in node.orders.values() if "external" in o.tags] == ["web-1"]
    assert_agrees(node, venue)


def test_a_deposit_at_the_venue_is_reported_booked_and_halts_trading() -> None:
    node, venue, _ = resting()
    venue.fund("main", "USD", "500")
    report = node.reconcile()
    assert report.differences == ["main USD: venue 100500, node 100000 (difference 500)"]
    assert "difference 500" in node.venue_halts["TEST"]
    assert node.journal.records[-1]["type"] == "VenueHalted"  # type: ignore[union-attr]
    with pytest.raises(OrderRejectedError) as refused:
        node.submit(OrderRequest("GOOG", BUY, D(1)))
    assert refused.value.reason == RejectReason.HALTED.value
    assert_agrees(node, venue)


def test_a_report_for_an_unknown_venue_order_id_is_adopted_and_booked_once() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    fill = VenueFill("ghost-7", "T-ghost", D(1), D(100), LiquiditySide.TAKER, 0, "V-ghost", D("0.1"), "USD")
    fill = VenueFill(**{**{f: getattr(fill, f) for f in fill.__slots__}, "symbol": "GOOG", "side": BUY})
    venue.fund("main", "USD", "-100.1")
    venue.fund("main", "GOOG", "1")
    venue.trades.append(fill)
    node.venue_canceled("nobody", "canceled", 0)  # reports of ids nobody knows change nothing
    node.venue_rejected("nobody", RejectReason.VENUE_REJECTED, "no", 0)
    node.venue_filled(fill)
    node.venue_filled(fill)  # a reconnect replays it
    (ghost,) = node.orders.values()
    assert ghost.tags == ("external",) and ghost.filled_quantity == D(1) and len(node.fills) == 1
    assert_agrees(node, venue)


def test_an_ambiguous_submit_that_reached_the_venue_is_accepted_after_asking() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.down, venue.lands = True, True
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(95)))
    assert order.status is OrderStatus.PENDING_SUBMIT  # no answer: in flight, not rejected, not re-sent
    trade(node, venue, "100", 2)  # the first question (after 1 s) finds the venue still down
    venue.down, venue.lands = False, False
    trade(node, venue, "100", 4)  # the second, 2 s later, is answered
    assert order.status is OrderStatus.ACCEPTED and venue.sent == [order.id]
    trade(node, venue, "94", 5)
    assert order.status is OrderStatus.FILLED
    assert_agrees(node, venue)


def test_an_ambiguous_market_order_that_filled_meanwhile_books_its_fill_once() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.down, venue.lands = True, True
    order = node.submit(OrderRequest("GOOG", BUY, D(10)))
    venue.down, venue.lands = False, False
    node = restart(node, venue)  # the restart asks instead of sending it again
    order = node.order(order.id)
    assert order.status is OrderStatus.FILLED and len(node.fills) == 1 and venue.sent == [order.id]
    assert_agrees(node, venue)


def test_an_ambiguous_submit_that_never_arrived_is_rejected_after_bounded_questions() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.down = True
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(95)))
    venue.down = False
    asked = 1 + 2 + 4 + 8  # the first ASK_ATTEMPTS - 1 questions find nothing and back off
    trade(node, venue, "100", 1 + asked)
    assert order.status is OrderStatus.PENDING_SUBMIT
    trade(node, venue, "100", 1 + asked + 2 ** (ASK_ATTEMPTS - 1))
    assert order.status is OrderStatus.REJECTED and order.status_message == "the venue never received it"
    assert venue.sent == [] and node.ledger.balance("main", "USD").locked == 0
    assert_agrees(node, venue)


def test_an_ambiguous_submit_that_never_arrived_is_rejected_on_restart() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.down = True
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(95)))
    venue.down = False
    node = restart(node, venue)
    assert node.order(order.id).status is OrderStatus.REJECTED and venue.sent == []
    assert_agrees(node, venue)


def test_an_ambiguous_cancel_that_landed_is_confirmed_by_asking() -> None:
    node, venue, order_id = resting()
    venue.down, venue.lands = True, True
    order = node.cancel(order_id)
    assert order.status is OrderStatus.PENDING_CANCEL
    venue.down, venue.lands = False, False
    trade(node, venue, "100", 2)
    assert order.status is OrderStatus.CANCELED and node.ledger.balance("main", "USD").locked == 0
    assert_agrees(node, venue)


def test_an_ambiguous_cancel_that_did_not_land_puts_the_order_back_to_working() -> None:
    node, venue, order_id = resting()
    venue.down = True
    order = node.cancel(order_id)
    venue.down = False
    trade(node, venue, "100", 2)
    assert order.status is OrderStatus.ACCEPTED and venue.orders[order_id].status == "open"
    assert_agrees(node, venue)


def test_an_asynchronous_venue_reports_a_submit_without_answer_and_the_node_asks_for_it() -> None:
    node, venue = port_node()
    venue.asynchronous = True
    trade(node, venue, "100", 1)
    venue.down, venue.lands = True, True
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(95)))
    assert order.status is OrderStatus.PENDING_SUBMIT and "venue-ask:submit:" + order.id in node.clock.timer_names()
    venue.down, venue.lands = False, False
    trade(node, venue, "100", 2)  # the question after 1 s finds it
    assert order.status is OrderStatus.ACCEPTED and venue.sent == [order.id]
    assert_agrees(node, venue)


def test_an_asynchronous_cancel_without_answer_that_did_not_land_puts_the_order_back_to_working() -> None:
    node, venue, order_id = resting()
    venue.asynchronous = True
    venue.down = True
    order = node.cancel(order_id)
    assert order.status is OrderStatus.PENDING_CANCEL
    venue.down = False
    trade(node, venue, "100", 2)
    assert order.status is OrderStatus.ACCEPTED and venue.orders[order_id].status == "open"
    assert_agrees(node, venue)


def test_an_iceberg_keeps_its_open_slice_across_a_restart() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    ice = node.submit(OrderRequest("GOOG", BUY, D(9), OrderType.ICEBERG, price=D(99), display_quantity=D(3)))
    node = restart(node, venue)
    assert venue.sent == [f"{ice.id}/1"]
    trade(node, venue, "98", 2)
    assert node.order(ice.id).status is OrderStatus.FILLED
    assert venue.sent == [f"{ice.id}/1", f"{ice.id}/2", f"{ice.id}/3"]
    assert_agrees(node, venue)
