"""Every order type and time in force on bar data: fills, prices, remaining quantity, transitions and balances.

Fees: maker 10 bps, taker 20 bps. Bar 1 (open 100) sets the reference price; orders are submitted after it and
trade on bar 2 and later (the fill model in ``alphintra.engine.venue.fill_model``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from node_kit import BUY, MIN, SELL, D, bar, held, kinds, make_node, usd

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from alphintra.engine.node import TradingNode

S = OrderStatus
SUBMITTED = ["OrderInitialized", "OrderSubmitted", "OrderAccepted"]


def ready(*, goog: str | None = None, **kwargs: object) -> TradingNode:
    node = make_node(**kwargs)  # type: ignore[arg-type]
    node.open_account("main", cash={"USD": "10000"})
    if goog is not None:
        node.deposit("main", "GOOG", goog)
    node.process_bar(bar(1, "100", "101", "99", "100"))
    return node


def req(side: object, qty: str, kind: OrderType = OrderType.MARKET, **kw: object) -> OrderRequest:
    return OrderRequest("GOOG", side, D(qty), kind, **kw)  # type: ignore[arg-type]


# -- market --------------------------------------------------------------------------------------------------


def test_market_buy_fills_at_next_open_as_taker() -> None:
    node = ready()
    order = node.submit(req(BUY, "10"))
    assert order.status is S.ACCEPTED and kinds(order) == SUBMITTED
    assert usd(node) == (D("10000"), D("1002.000"))  # 10 x 100 (last) x 1.002 locked
    node.process_bar(bar(2, "102", "103", "101", "102.5"))
    assert order.status is S.FILLED
    assert kinds(order)[-1] == "OrderFilled"
    assert (order.filled_quantity, order.leaves_quantity, order.average_price) == (D(10), D(0), D(102))
    assert dict(order.fees) == {"USD": D("2.040")}
    assert usd(node) == (D("8977.960"), D(0))
    pos = node.ledger.position("main", "GOOG")
    assert pos is not None and (pos.quantity, pos.average_price) == (D(10), D(102))


def test_market_sell_fills_at_next_open_and_spends_the_locked_base() -> None:
    node = ready(goog="10")
    order = node.submit(req(SELL, "10"))
    assert held(node, "main", "GOOG") == (D(10), D(10))
    node.process_bar(bar(2, "102", "103", "101", "102.5"))
    assert order.status is S.FILLED and order.average_price == D(102)
    assert usd(node) == (D("11017.960"), D(0))
    assert held(node, "main", "GOOG") == (D(0), D(0))


def test_market_slippage_in_ticks_moves_the_fill_against_the_buyer() -> None:
    node = ready(slippage_ticks=2)
    order = node.submit(req(BUY, "10"))
    node.process_bar(bar(2, "102", "103", "101", "102.5"))
    assert order.average_price == D("102.02")
    assert usd(node) == (D("8977.7596"), D(0))  # 1020.20 + 2.0404 fee


# -- limit ---------------------------------------------------------------------------------------------------


def test_resting_limit_fills_at_its_price_as_maker() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("99.50")))
    assert usd(node) == (D("10000"), D("996.99000"))
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert order.status is S.FILLED and order.average_price == D("99.50")
    assert order.events[-1].liquidity_side.value == "MAKER"  # type: ignore[attr-defined]
    assert usd(node) == (D("9004.005"), D(0))


def test_limit_marketable_at_the_open_fills_at_the_open_as_taker() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("101")))
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert order.average_price == D(100)
    assert usd(node) == (D("8998.000"), D(0))


def test_limit_not_reached_keeps_resting_with_its_lock() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("98")))
    node.process_bar(bar(2, "100", "100.5", "98.01", "99.8"))
    assert order.status is S.ACCEPTED and order.filled_quantity == 0
    assert usd(node) == (D("10000"), D("981.960"))


def test_participation_cap_gives_partial_fills_bar_by_bar() -> None:
    node = ready(participation=D("0.004"))  # 0.4% of 1000 = 4 lots per bar
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("99.50")))
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert (order.status, order.filled_quantity, order.leaves_quantity) == (S.PARTIALLY_FILLED, D(4), D(6))
    assert usd(node) == (D("9601.602"), D("598.19400"))  # 6 x 99.5 x 1.002 still locked
    node.process_bar(bar(3, "99.6", "99.7", "99.4", "99.5"))
    assert (order.status, order.filled_quantity) == (S.PARTIALLY_FILLED, D(8))
    node.process_bar(bar(4, "99.6", "99.7", "99.4", "99.5"))
    assert order.status is S.FILLED
    assert [type(e).__name__ for e in order.events[3:]] == ["OrderFilled"] * 3
    assert usd(node) == (D("9004.005"), D(0))


def test_post_only_resting_fills_as_maker() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("99.50"), post_only=True))
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert order.status is S.FILLED and usd(node) == (D("9004.005"), D(0))


def test_post_only_marketable_at_the_open_is_canceled_with_its_reason_code() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("101"), post_only=True))
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert order.status is S.CANCELED and order.filled_quantity == 0
    assert order.status_message.startswith("POST_ONLY_WOULD_TRADE: ")
    assert usd(node) == (D("10000"), D(0))


# -- time in force -------------------------------------------------------------------------------------------


def test_ioc_gets_one_chance_at_the_open() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("99"), time_in_force=TimeInForce.IOC))
    node.process_bar(bar(2, "100", "100.5", "98", "99.8"))  # the path reaches 98 later: too late for an IOC
    assert order.status is S.CANCELED and order.filled_quantity == 0
    assert order.status_message == "IOC remainder"
    assert usd(node) == (D("10000"), D(0))


def test_ioc_partial_fill_cancels_the_rest() -> None:
    node = ready(participation=D("0.004"))
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("101"), time_in_force=TimeInForce.IOC))
    node.process_bar(bar(2, "100", "100.5", "98", "99.8"))
    assert (order.status, order.filled_quantity, order.leaves_quantity) == (S.CANCELED, D(4), D(6))
    assert kinds(order)[3:] == ["OrderFilled", "OrderCanceled"]
    assert usd(node) == (D("9599.200"), D(0))


def test_fok_not_fully_fillable_trades_nothing() -> None:
    node = ready(participation=D("0.004"))
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("101"), time_in_force=TimeInForce.FOK))
    node.process_bar(bar(2, "100", "100.5", "98", "99.8"))
    assert order.status is S.CANCELED and order.filled_quantity == 0
    assert order.status_message.startswith("FOK_NOT_FILLABLE: ")
    assert usd(node) == (D("10000"), D(0))


def test_fok_fillable_fills_completely() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("101"), time_in_force=TimeInForce.FOK))
    node.process_bar(bar(2, "100", "100.5", "98", "99.8"))
    assert order.status is S.FILLED and order.average_price == D(100)


def test_gtd_expires_on_the_clock_and_releases_its_lock() -> None:
    node = ready()
    order = node.submit(
        req(BUY, "10", OrderType.LIMIT, price=D("90"), time_in_force=TimeInForce.GTD, expires_at=3 * MIN)
    )
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert order.status is S.ACCEPTED
    node.process_bar(bar(3, "89", "90", "88", "89"))  # expiry is due at this bar's open: it never trades on it
    assert order.status is S.EXPIRED and order.filled_quantity == 0
    assert order.updated_at == 3 * MIN
    assert usd(node) == (D("10000"), D(0))


def test_gtd_filled_before_expiry_drops_its_timer() -> None:
    node = ready()
    order = node.submit(
        req(BUY, "10", OrderType.LIMIT, price=D("99.50"), time_in_force=TimeInForce.GTD, expires_at=5 * MIN)
    )
    assert f"gtd:{order.id}" in node.clock.timer_names()  # type: ignore[attr-defined]
    node.process_bar(bar(2, "100", "100.5", "99", "99.8"))
    assert order.status is S.FILLED
    assert f"gtd:{order.id}" not in node.clock.timer_names()  # type: ignore[attr-defined]


# -- stops ---------------------------------------------------------------------------------------------------


def test_stop_sell_triggers_on_the_path_and_fills_at_the_stop() -> None:
    node = ready(goog="10")
    order = node.submit(req(SELL, "10", OrderType.STOP, stop_price=D("98")))
    assert order.status is S.ACCEPTED and held(node, "main", "GOOG") == (D(10), D(10))
    node.process_bar(bar(2, "100", "100", "97", "97.5"))
    assert kinds(order) == [*SUBMITTED, "OrderTriggered", "OrderFilled"]
    assert (order.status, order.triggered_price, order.average_price) == (S.FILLED, D(98), D(98))
    assert usd(node) == (D("10978.040"), D(0))
    assert held(node, "main", "GOOG") == (D(0), D(0))


def test_stop_gapped_through_fills_at_the_open_even_on_a_flat_bar() -> None:
    node = ready(goog="10")
    order = node.submit(req(SELL, "10", OrderType.STOP, stop_price=D("98")))
    node.process_bar(bar(2, "96", "96", "96", "96"))
    assert order.status is S.FILLED and order.average_price == D(96)
    assert usd(node) == (D("10958.080"), D(0))


def test_stop_buy_locks_at_the_stop_and_fills_there() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.STOP, stop_price=D("101")))
    assert usd(node) == (D("10000"), D("1012.020"))
    node.process_bar(bar(2, "100", "102", "99.5", "101.5"))
    assert order.status is S.FILLED and order.average_price == D(101)
    assert usd(node) == (D("8987.980"), D(0))


def test_stop_limit_marketable_at_its_trigger_trades_there() -> None:
    node = ready(goog="10")
    order = node.submit(req(SELL, "10", OrderType.STOP_LIMIT, stop_price=D("98"), price=D("97.5")))
    node.process_bar(bar(2, "100", "100", "97", "97.2"))  # down through 98: a sell limit 97.50 is marketable at 98
    assert kinds(order) == [*SUBMITTED, "OrderTriggered", "OrderFilled"]
    assert (order.status, order.average_price) == (S.FILLED, D(98))
    assert order.events[-1].liquidity_side.value == "TAKER"  # type: ignore[attr-defined]
    assert usd(node) == (D("10978.040"), D(0))


def test_stop_limit_gapped_past_its_limit_rests_until_the_market_comes_back() -> None:
    node = ready(goog="10")
    order = node.submit(req(SELL, "10", OrderType.STOP_LIMIT, stop_price=D("98"), price=D("97.5")))
    node.process_bar(bar(2, "97", "97.2", "96.8", "97"))  # opened below both stop and limit, never back to 97.50
    assert (order.status, order.triggered_price, order.filled_quantity) == (S.TRIGGERED, D(98), D(0))
    assert held(node, "main", "GOOG") == (D(10), D(10))
    node.process_bar(bar(3, "97.3", "97.8", "97.2", "97.6"))  # path 97.3, 97.2, 97.8: reaches 97.50
    assert order.status is S.FILLED and order.average_price == D("97.5")
    assert order.events[-1].liquidity_side.value == "MAKER"  # type: ignore[attr-defined]
    assert usd(node) == (D("10974.025"), D(0))


def test_trailing_stop_follows_the_price_path_and_never_moves_back() -> None:
    node = ready(goog="10")
    order = node.submit(
        req(SELL, "10", OrderType.TRAILING_STOP, trailing_offset=D("2"), trailing_offset_type=TrailingOffsetType.PRICE)
    )
    assert order.stop_price == D("98.00")  # last price 100 - 2
    node.process_bar(bar(2, "100", "103", "99.5", "102.5"))  # path 100, 99.5, 103, 102.5
    assert order.status is S.ACCEPTED and order.stop_price == D("101.00")
    node.process_bar(bar(3, "102.5", "102.8", "100.2", "100.5"))  # 102.8 does not beat 103; then down through 101
    stops = [e.stop_price for e in order.events if type(e).__name__ == "OrderUpdated"]  # type: ignore[attr-defined]
    assert stops == [D("98.00"), D("101.00")]
    assert (order.status, order.triggered_price, order.average_price) == (S.FILLED, D("101.00"), D(101))
    assert usd(node) == (D("11007.980"), D(0))


def test_trailing_stop_in_percent_snaps_against_the_holder() -> None:
    node = ready(goog="10")
    order = node.submit(
        req(
            SELL,
            "10",
            OrderType.TRAILING_STOP,
            trailing_offset=D("1.5"),
            trailing_offset_type=TrailingOffsetType.PERCENT,
        )
    )
    assert order.stop_price == D("98.50")
    node.process_bar(bar(2, "100", "103.33", "99.5", "103"))
    assert order.stop_price == D("101.78")  # 103.33 x 0.985 = 101.78005, rounded down (never tighter)


# -- iceberg -------------------------------------------------------------------------------------------------


def test_iceberg_refills_inside_a_bar_trade_only_at_their_limit() -> None:
    node = ready()
    order = node.submit(req(BUY, "9", OrderType.ICEBERG, price=D("96"), display_quantity=D("4")))
    assert usd(node) == (D("10000"), D("865.728"))
    node.process_bar(bar(2, "97", "97", "95", "96"))  # path 97, 97, 95, 96
    # Slice 1 trades at 96 on the way down; its refill arrives at 96 and trades at 96 when the path comes back
    # up, not at the 95 the market had reached before the refill existed; the last lot waits.
    fills = [(e.last_qty, e.last_px) for e in order.events if type(e).__name__ == "OrderFilled"]  # type: ignore[attr-defined]
    assert fills == [(D(4), D(96)), (D(4), D(96))]
    assert (order.status, order.leaves_quantity) == (S.PARTIALLY_FILLED, D(1))
    node.process_bar(bar(3, "95", "95.5", "94.5", "95.2"))
    assert order.status is S.FILLED
    assert order.events[-1].last_px == D(95)  # type: ignore[attr-defined]
    assert order.filled_notional == D(863)
    assert usd(node) == (D("9136.137"), D(0))


@pytest.mark.parametrize("qty", ["0", "-1"])
def test_modify_refuses_a_quantity_not_above_the_filled(qty: str) -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("99")))
    before = (order.quantity, usd(node))
    with pytest.raises(Exception) as info:
        node.modify(order.id, quantity=Decimal(qty))
    assert getattr(info.value, "field", None) == "quantity"
    assert (order.quantity, usd(node)) == before


def test_modify_price_re_locks_and_cancel_releases() -> None:
    node = ready()
    order = node.submit(req(BUY, "10", OrderType.LIMIT, price=D("99")))
    node.modify(order.id, price=D("98"), quantity=D("5"))
    assert (order.price, order.quantity) == (D(98), D(5))
    assert usd(node) == (D("10000"), D("490.98000"))
    node.cancel(order.id)
    assert order.status is S.CANCELED and kinds(order)[-2:] == ["OrderPendingCancel", "OrderCanceled"]
    assert usd(node) == (D("10000"), D(0))
