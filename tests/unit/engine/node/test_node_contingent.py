"""OCO and bracket lifecycles (with partial fills), iceberg queue priority and venue-latency races in book mode.

Book mode tests use two or three accounts trading against each other (no liquidity ladder unless stated), so each
fill and fee can be followed by hand. Fees: maker 10 bps, taker 20 bps.
"""

from __future__ import annotations

from decimal import Decimal

from node_kit import BUY, MIN, SELL, D, bar, held, kinds, make_node, usd

from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.liquidity import LiquidityModel

S = OrderStatus
LIMIT, STOP = OrderType.LIMIT, OrderType.STOP


def limit(side: object, qty: str, price: str, account: str = "main") -> OrderRequest:
    return OrderRequest("GOOG", side, D(qty), LIMIT, price=D(price), account=account)  # type: ignore[arg-type]


def tick(node: TradingNode, ts: int, price: str) -> None:
    node.process_trade(TradeTick("GOOG", ts, D(price), D(1)))


def total_usd(node: TradingNode) -> Decimal:
    return sum((node.ledger.balance(a, "USD").total for a in node.ledger.accounts()), Decimal(0))


# -- OCO (bar mode) ------------------------------------------------------------------------------------------


def oco_node() -> TradingNode:
    node = make_node()
    node.open_account("main", cash={"USD": "10000", "GOOG": "10"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    return node


def oco_legs() -> tuple[OrderRequest, OrderRequest]:
    return limit(SELL, "10", "105"), OrderRequest("GOOG", SELL, D(10), STOP, stop_price=D(95))


def test_oco_legs_share_one_lock_on_the_position() -> None:
    node = oco_node()
    take, stop = node.submit_oco(*oco_legs())
    assert (take.status, stop.status) == (S.ACCEPTED, S.ACCEPTED)
    assert held(node, "main", "GOOG") == (D(10), D(10))  # not 20: the stop uses the limit's lock
    assert node.ledger.reservation(stop.id) is None


def test_oco_limit_fill_cancels_the_stop() -> None:
    node = oco_node()
    take, stop = node.submit_oco(*oco_legs())
    node.process_bar(bar(2, "100", "105.5", "99.5", "105"))
    assert (take.status, take.average_price) == (S.FILLED, D(105))
    assert stop.status is S.CANCELED and stop.status_message == "OCO: the other leg filled"
    assert usd(node) == (D("11048.950"), D(0))
    assert held(node, "main", "GOOG") == (D(0), D(0))


def test_oco_stop_trigger_cancels_the_limit_then_locks_and_fills() -> None:
    node = oco_node()
    take, stop = node.submit_oco(*oco_legs())
    node.process_bar(bar(2, "100", "100", "94", "94.5"))
    assert take.status is S.CANCELED and take.status_message == "OCO: the other leg triggered"
    assert kinds(stop)[-2:] == ["OrderTriggered", "OrderFilled"]
    assert (stop.status, stop.average_price) == (S.FILLED, D(95))
    assert usd(node) == (D("10948.100"), D(0))
    assert held(node, "main", "GOOG") == (D(0), D(0))


def test_oco_partial_fill_cancels_the_other_and_keeps_filling() -> None:
    node = make_node(participation=D("0.004"))
    node.open_account("main", cash={"USD": "10000", "GOOG": "10"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    take, stop = node.submit_oco(*oco_legs())
    node.process_bar(bar(2, "100", "105.5", "99.5", "105"))
    assert (take.status, take.filled_quantity) == (S.PARTIALLY_FILLED, D(4))
    assert stop.status is S.CANCELED
    node.process_bar(bar(3, "105", "105.5", "104", "105.2"))
    node.process_bar(bar(4, "105", "105.5", "104", "105.2"))
    assert take.status is S.FILLED
    assert usd(node) == (D("11048.950"), D(0))


def test_canceling_one_oco_leg_cancels_both() -> None:
    node = oco_node()
    take, stop = node.submit_oco(*oco_legs())
    node.cancel(stop.id)
    assert take.status is S.CANCELED and take.status_message == "OCO: the other leg was canceled"
    assert held(node, "main", "GOOG") == (D(10), D(0))


# -- bracket (book mode, two accounts) -----------------------------------------------------------------------


def book_pair(latency_ns: int = 0) -> TradingNode:
    node = make_node("book", latency_ns=latency_ns)
    node.open_account("main", cash={"USD": "10000"})
    node.open_account("m", cash={"USD": "10000", "GOOG": "100"})
    return node


def test_bracket_lifecycle_with_partial_fills_of_entry_and_exits() -> None:
    node = book_pair()
    entry, tp, sl = node.submit_bracket(BracketRequest(limit(BUY, "10", "100"), D(105), D(95)))
    assert (entry.status, tp.status, sl.status) == (S.ACCEPTED, S.NEW, S.NEW)
    node.submit(limit(SELL, "4", "100", "m"))
    # The exits activate with what the entry filled: the take-profit rests at 105, the stop-loss is armed.
    assert (entry.status, entry.filled_quantity) == (S.PARTIALLY_FILLED, D(4))
    assert (tp.status, tp.quantity, sl.status, sl.quantity) == (S.ACCEPTED, D(4), S.ACCEPTED, D(4))
    assert held(node, "main", "GOOG") == (D(4), D(4))
    node.submit(limit(BUY, "3", "105", "m"))
    assert (tp.status, tp.filled_quantity, sl.quantity) == (S.PARTIALLY_FILLED, D(3), D(1))
    node.submit(limit(SELL, "6", "100", "m"))
    assert entry.status is S.FILLED
    assert (tp.quantity, tp.leaves_quantity, sl.quantity) == (D(10), D(7), D(7))
    node.submit(limit(BUY, "10", "94", "m"))
    tick(node, MIN, "94.5")  # down through the stop at 95
    assert tp.status is S.CANCELED and tp.status_message == "OCO: the other leg triggered"
    assert (sl.status, sl.filled_quantity, sl.average_price) == (S.FILLED, D(7), D(94))
    assert kinds(sl) == [
        "OrderInitialized",
        "OrderUpdated",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderUpdated",
        "OrderUpdated",
        "OrderTriggered",
        "OrderFilled",
    ]
    # main: -1000 -1.000 (entry, maker) +315 -0.315 (take-profit, maker) +658 -1.316 (stop, taker)
    assert usd(node) == (D("9970.369"), D(0))
    assert held(node, "main", "GOOG") == (D(0), D(0))
    assert usd(node, "m") == (D("10023.712"), D("282.564"))  # its bid for 3 more at 94 still rests
    assert total_usd(node) + node.ledger.fees_collected()["USD"] == D(20000)


def test_bracket_entry_canceled_unfilled_cancels_the_exits() -> None:
    node = book_pair()
    entry, tp, sl = node.submit_bracket(BracketRequest(limit(BUY, "10", "100"), D(105), D(95)))
    node.cancel(entry.id)
    assert (entry.status, tp.status, sl.status) == (S.CANCELED, S.CANCELED, S.CANCELED)
    assert usd(node) == (D("10000"), D(0))


def test_bracket_stop_waits_for_the_take_profit_cancel_in_flight_and_sizes_to_what_is_left() -> None:
    node = book_pair(latency_ns=1000)
    entry, tp, sl = node.submit_bracket(BracketRequest(limit(BUY, "10", "100"), D(105), D(95)))
    node.submit(limit(SELL, "10", "100", "m"))  # both arrive at t=1000, the entry first
    tick(node, 1000, "100")
    assert entry.status is S.FILLED and tp.status is S.PENDING_SUBMIT
    node.submit(limit(BUY, "10", "93", "m"))  # arrives at 2000
    tick(node, 1500, "100")
    node.submit(limit(BUY, "4", "105", "m"))  # arrives at 2500: after the stop triggers, before the cancel lands
    tick(node, 2000, "100")
    assert tp.status is S.ACCEPTED
    tick(node, 2200, "94.5")
    # The stop-loss triggered; the take-profit's cancel is in flight until 3200 and it still locks the shares.
    assert (sl.status, tp.status) == (S.TRIGGERED, S.PENDING_CANCEL)
    assert node.ledger.reservation(sl.id) is None
    assert held(node, "main", "GOOG") == (D(10), D(10))
    tick(node, 2500, "94.5")
    assert (tp.status, tp.filled_quantity) == (S.PENDING_CANCEL, D(4))  # it filled while being canceled
    assert sl.quantity == D(6)
    tick(node, 3200, "94.5")
    assert tp.status is S.CANCELED
    assert (sl.status, sl.leaves_quantity) == (S.TRIGGERED, D(6))
    assert held(node, "main", "GOOG") == (D(6), D(6))  # now the stop holds its own lock
    tick(node, 4200, "94.5")
    assert (sl.status, sl.filled_quantity, sl.average_price) == (S.FILLED, D(6), D(93))
    assert held(node, "main", "GOOG") == (D(0), D(0))
    # -1000 -1.000 (entry) +420 -0.420 (take-profit) +558 -1.116 (stop)
    assert usd(node) == (D("9975.464"), D(0))


def test_bracket_stop_is_canceled_when_the_take_profit_sells_everything_during_its_cancel() -> None:
    node = book_pair(latency_ns=1000)
    _entry, tp, sl = node.submit_bracket(BracketRequest(limit(BUY, "10", "100"), D(105), D(95)))
    node.submit(limit(SELL, "10", "100", "m"))
    tick(node, 1000, "100")
    tick(node, 1500, "100")
    node.submit(limit(BUY, "10", "105", "m"))  # arrives at 2500
    tick(node, 2000, "100")
    tick(node, 2200, "94.5")
    tick(node, 2500, "94.5")
    assert tp.status is S.FILLED
    assert sl.status is S.CANCELED and sl.filled_quantity == 0
    tick(node, 4200, "94.5")
    assert held(node, "main", "GOOG") == (D(0), D(0))  # sold once, not twice
    assert usd(node) == (D("10047.950"), D(0))


# -- iceberg priority and book depth -------------------------------------------------------------------------


def test_iceberg_refill_goes_to_the_back_of_the_queue() -> None:
    node = make_node("book")
    for name in ("main", "b"):
        node.open_account(name, cash={"USD": "10000"})
    node.open_account("c", cash={"GOOG": "100"})
    ice = node.submit(OrderRequest("GOOG", BUY, D(10), OrderType.ICEBERG, price=D(100), display_quantity=D(4)))
    other = node.submit(limit(BUY, "5", "100", "b"))
    assert node.venue.depth("GOOG")["bids"] == [(D(100), D(9), 2)]  # only the display shows
    node.submit(limit(SELL, "4", "100", "c"))
    assert (ice.filled_quantity, other.filled_quantity) == (D(4), D(0))
    node.submit(limit(SELL, "6", "100", "c"))
    # The refill arrived after b's order: b fills first, the refill gets what is left.
    assert (other.status, other.filled_quantity) == (S.FILLED, D(5))
    assert (ice.status, ice.filled_quantity) == (S.PARTIALLY_FILLED, D(5))
    bids, _ = node.venue.engine("GOOG").book.l3()
    assert [(o.order_id, o.qty) for o in bids] == [(f"{ice.id}/2", 3)]


def test_market_order_walks_the_liquidity_ladder() -> None:
    node = make_node("book", liquidity=LiquidityModel(levels=3, spread_bps=D(10), level_notional=D(1000)))
    node.open_account("main", cash={"USD": "10000"})
    tick(node, MIN, "100")
    assert node.venue.depth("GOOG")["asks"] == [(D("100.1"), D(9), 1), (D("100.2"), D(9), 1), (D("100.3"), D(9), 1)]
    order = node.submit(OrderRequest("GOOG", BUY, D(20)))
    fills = [(e.last_qty, e.last_px) for e in order.events if type(e).__name__ == "OrderFilled"]  # type: ignore[attr-defined]
    assert fills == [(D(9), D("100.1")), (D(9), D("100.2")), (D(2), D("100.3"))]
    assert (order.status, order.average_price) == (S.FILLED, D("100.165"))
    assert usd(node) == (D("7992.6934"), D(0))


def test_market_order_without_liquidity_is_rejected_and_unlocks() -> None:
    node = book_pair()
    tick(node, MIN, "100")
    order = node.submit(OrderRequest("GOOG", BUY, D(5)))
    assert order.status is S.REJECTED and order.reject_reason is not None
    assert order.reject_reason.value == "NO_LIQUIDITY"
    assert usd(node) == (D("10000"), D(0))
