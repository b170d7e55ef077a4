"""Every order type through the node on a venue that implements only the port (``port_venue``).

The simulated venue's tests (``test_node_bar_orders``, ``test_node_contingent``, ...) cover the same types on the
simulator; here the venue is an exchange as the node sees it: native market and limit orders with IOC/FOK/GTC
and post-only, its own order ids, trade ids and fees (10 bps, not the instrument's schedule), and its own
balances. After each case the node's balances, fills and working orders equal the venue's.
"""

from __future__ import annotations

from decimal import Decimal

from port_kit import SEC, assert_agrees, balances, port_node, trade
from port_venue import PortVenue

from alphintra.engine.algos import TwapRequest, VwapRequest
from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TrailingOffsetType,
)
from alphintra.engine.core.events import event_from_dict
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.base import VenueOrder

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


def holding(qty: int = 10) -> tuple[TradingNode, PortVenue]:
    """A node that bought ``qty`` GOOG at 100 (fee 10 bps in USD)."""
    node, venue = port_node()
    trade(node, venue, "100", 1)
    node.submit(OrderRequest("GOOG", BUY, D(qty)))
    return node, venue


def test_market_order_fills_at_the_venue_price_with_the_venue_fee_and_ids() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    order = node.submit(OrderRequest("GOOG", BUY, D(10)))
    assert order.status is OrderStatus.FILLED
    assert order.venue_order_id == "V-" + order.id
    (fill,) = node.fills
    assert (fill.trade_id, fill.last_px, fill.fee, fill.fee_asset) == ("T1", D(100), D("1.000"), "USD")
    assert fill.liquidity_side is LiquiditySide.TAKER
    assert balances(node) == {"USD": D("98999.000"), "GOOG": D(10)}
    assert_agrees(node, venue)


def test_limit_gtc_rests_then_fills_as_maker_when_the_market_reaches_it() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(95)))
    assert order.status is OrderStatus.ACCEPTED
    assert node.ledger.balance("main", "USD").locked > 0
    trade(node, venue, "94", 2)
    assert order.status is OrderStatus.FILLED and node.fills[0].last_px == D(95)
    assert node.fills[0].liquidity_side is LiquiditySide.MAKER
    assert node.ledger.balance("main", "USD").locked == 0
    assert_agrees(node, venue)


def test_ioc_and_fok_fill_when_marketable_and_ioc_cancels_when_not() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    ioc = node.submit(OrderRequest("GOOG", BUY, D(5), LIMIT, price=D(101), time_in_force=TimeInForce.IOC))
    fok = node.submit(OrderRequest("GOOG", BUY, D(5), LIMIT, price=D(101), time_in_force=TimeInForce.FOK))
    missed = node.submit(OrderRequest("GOOG", BUY, D(5), LIMIT, price=D(99), time_in_force=TimeInForce.IOC))
    assert (ioc.status, fok.status) == (OrderStatus.FILLED, OrderStatus.FILLED)
    assert missed.status is OrderStatus.CANCELED and missed.filled_quantity == 0
    assert_agrees(node, venue)


def test_gtd_expires_on_the_node_clock_and_is_canceled_at_the_venue() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    order = node.submit(
        OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(90), time_in_force=TimeInForce.GTD, expires_at=5 * SEC)
    )
    assert venue.orders[order.id].o.time_in_force is TimeInForce.GTC  # GTD is emulated
    trade(node, venue, "99", 6)
    assert order.status is OrderStatus.EXPIRED
    assert venue.orders[order.id].status == "closed"
    assert_agrees(node, venue)


def test_post_only_that_would_trade_is_rejected_by_the_venue() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(101), post_only=True))
    assert order.status is OrderStatus.REJECTED and order.reject_reason is RejectReason.POST_ONLY_WOULD_TRADE
    assert node.ledger.balance("main", "USD").locked == 0
    assert_agrees(node, venue)


def test_stop_and_stop_limit_are_emulated_then_sent_as_native_orders() -> None:
    node, venue = holding()
    stop = node.submit(OrderRequest("GOOG", SELL, D(4), OrderType.STOP, stop_price=D(95)))
    stop_limit = node.submit(OrderRequest("GOOG", SELL, D(6), OrderType.STOP_LIMIT, stop_price=D(96), price=D(94)))
    assert stop.id not in venue.orders and stop_limit.id not in venue.orders  # armed at the node, not the venue
    trade(node, venue, "95.5", 2)
    assert stop_limit.status is OrderStatus.FILLED and node.fills[-1].last_px == D("95.5")
    assert stop.status is OrderStatus.ACCEPTED
    trade(node, venue, "94", 3)
    assert stop.status is OrderStatus.FILLED and node.fills[-1].last_px == D(94)
    assert node.ledger.quantity("main", "GOOG") == 0
    assert_agrees(node, venue)


def test_trailing_stop_follows_the_market_and_fires_at_the_venue() -> None:
    node, venue = holding()
    trail = node.submit(
        OrderRequest(
            "GOOG",
            SELL,
            D(10),
            OrderType.TRAILING_STOP,
            trailing_offset=D(2),
            trailing_offset_type=TrailingOffsetType.PRICE,
        )
    )
    trade(node, venue, "110", 2)
    assert trail.stop_price == D(108)
    trade(node, venue, "107", 3)
    assert trail.status is OrderStatus.FILLED and node.fills[-1].last_px == D(107)
    assert_agrees(node, venue)


def test_iceberg_shows_slices_as_separate_venue_orders() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    ice = node.submit(OrderRequest("GOOG", BUY, D(9), OrderType.ICEBERG, price=D(99), display_quantity=D(3)))
    assert [w.o.quantity for w in venue.orders.values()] == [D(3)]
    trade(node, venue, "98", 2)
    assert ice.status is OrderStatus.FILLED and ice.filled_quantity == D(9)
    assert list(venue.orders) == [f"{ice.id}/1", f"{ice.id}/2", f"{ice.id}/3"]
    assert_agrees(node, venue)


def test_modify_changes_the_working_order_at_the_venue() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    order = node.submit(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(90)))
    node.modify(order.id, price=D(97), quantity=D(6))
    assert (venue.orders[order.id].o.price, venue.orders[order.id].leaves) == (D(97), D(6))
    trade(node, venue, "96", 2)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D(6)
    assert_agrees(node, venue)


def test_a_modified_stop_triggers_at_its_new_stop_price() -> None:
    node, venue = holding()
    stop = node.submit(OrderRequest("GOOG", SELL, D(2), OrderType.STOP, stop_price=D(90)))
    node.modify(stop.id, stop_price=D(98), quantity=D(3))
    trade(node, venue, "97", 2)  # below the new stop, above the old one
    assert stop.status is OrderStatus.FILLED and stop.filled_quantity == D(3)
    assert_agrees(node, venue)


def test_oco_first_fill_cancels_the_other_leg_at_the_venue() -> None:
    node, venue = holding()
    take, stop = node.submit_oco(
        OrderRequest("GOOG", SELL, D(10), LIMIT, price=D(105)),
        OrderRequest("GOOG", SELL, D(10), OrderType.STOP, stop_price=D(95)),
    )
    trade(node, venue, "106", 2)
    assert take.status is OrderStatus.FILLED and stop.status is OrderStatus.CANCELED
    trade(node, venue, "90", 3)
    assert node.ledger.quantity("main", "GOOG") == 0 and len(node.fills) == 2
    assert_agrees(node, venue)


def test_bracket_exits_follow_the_entry_and_act_as_an_oco() -> None:
    node, venue = port_node()
    trade(node, venue, "101", 1)
    entry, tp, sl = node.submit_bracket(
        BracketRequest(OrderRequest("GOOG", BUY, D(10), LIMIT, price=D(100)), take_profit=D(110), stop_loss=D(90))
    )
    assert tp.status is OrderStatus.NEW and tp.id not in venue.orders
    trade(node, venue, "100", 2)
    assert entry.status is OrderStatus.FILLED and tp.id in venue.orders and sl.status is OrderStatus.ACCEPTED
    trade(node, venue, "89", 3)
    assert sl.status is OrderStatus.FILLED and tp.status is OrderStatus.CANCELED
    assert node.ledger.quantity("main", "GOOG") == 0
    assert_agrees(node, venue)


def test_twap_and_vwap_slices_go_out_on_the_clock_as_native_orders() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    twap = node.submit_twap(TwapRequest("GOOG", BUY, D(8), duration_ns=4 * SEC, slices=4, start_ns=2 * SEC))
    vwap = node.submit_vwap(VwapRequest("GOOG", BUY, D(6), duration_ns=2 * SEC, weights=(D(1), D(2)), start_ns=2 * SEC))
    for second in range(2, 8):
        trade(node, venue, "100", second)
    assert node.algos.progress(twap.algo_id).filled == D(8)
    assert node.algos.progress(vwap.algo_id).filled == D(6)
    assert node.ledger.quantity("main", "GOOG") == D(14) and len(venue.sent) == 4 + 2
    assert_agrees(node, venue)


def test_a_fee_charged_in_the_base_asset_reduces_the_base_balance_and_the_position() -> None:
    node, venue = port_node()
    venue.fee_in_base = True
    trade(node, venue, "100", 1)
    node.submit(OrderRequest("GOOG", BUY, D(10)))
    assert node.fills[0].fee_asset == "GOOG" and node.fills[0].fee == D("0.010")
    assert balances(node) == {"USD": D(99000), "GOOG": D("9.990")}
    assert node.ledger.quantity("main", "GOOG") == D("9.990")  # what can be sold is what is held
    assert_agrees(node, venue)


def test_a_fill_of_an_order_placed_outside_alphintra_is_adopted_as_external() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.submit(VenueOrder("web-1", "main", "GOOG", BUY, D(3), D(101)))  # someone used the exchange's website
    (adopted,) = node.orders.values()
    assert adopted.tags == ("external",) and adopted.client_order_id == "web-1"
    assert adopted.status is OrderStatus.FILLED and adopted.venue_order_id == "V-web-1"
    journaled = [r for r in node.journal.records if r["type"] == "OrderInitialized"]  # type: ignore[union-attr]
    assert event_from_dict(journaled[0]).tags == ("external",)  # type: ignore[attr-defined]
    assert_agrees(node, venue)
