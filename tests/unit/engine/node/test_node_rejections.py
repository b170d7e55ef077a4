"""Bad orders are refused with a stable reason code and a message naming the field, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from node_kit import BUY, MIN, SELL, D, ListJournal, bar, make_node

from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from alphintra.engine.core.errors import OrderRejectedError
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.node import TradingNode

BTC = Instrument.create(
    "BTC/USD", tick_size="0.5", lot_size="0.001", min_qty="0.01", min_notional="10", taker_fee="0.001"
)
LIMIT = OrderType.LIMIT
STOP, STOP_LIMIT, TRAIL, PRICE = OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP, TrailingOffsetType.PRICE
STOP_HIT = "STOP_WOULD_TRIGGER"


def ready(journal: ListJournal) -> TradingNode:
    node = make_node(instruments=(BTC,), journal=journal)
    node.open_account("main", cash={"USD": "1000", "BTC": "0.02"})
    node.process_bar(bar(1, "500", "501", "499", "500", symbol="BTC/USD"))
    return node


def btc(side: object, qty: str, kind: OrderType = LIMIT, price: str | None = "500", **kw: Any) -> OrderRequest:
    return OrderRequest("BTC/USD", side, D(qty), kind, price=None if price is None else D(price), **kw)  # type: ignore[arg-type]


CASES = [
    ("quantity below minimum", btc(BUY, "0.005"), "QTY_BELOW_MIN", "quantity"),
    ("quantity off the lot grid", btc(BUY, "0.0105"), "QTY_NOT_LOT_MULTIPLE", "quantity"),
    ("zero quantity", btc(BUY, "0"), "INVALID_QUANTITY", "quantity"),
    ("price off the tick grid", btc(BUY, "0.1", price="500.3"), "PRICE_OFF_TICK", "price"),
    ("notional below minimum", btc(BUY, "0.01", price="900"), "NOTIONAL_BELOW_MIN", "quantity"),
    ("limit without price", btc(BUY, "0.1", price=None), "MISSING_PRICE", "price"),
    (
        "unknown symbol",
        OrderRequest("ETH/USD", BUY, D("1"), LIMIT, price=D("10")),
        "UNKNOWN_SYMBOL",
        "symbol",
    ),
    ("stop without stop price", btc(SELL, "0.01", OrderType.STOP, price=None), "MISSING_STOP_PRICE", "stop_price"),
    # The last price is 500: these stops have already been reached and would act as market orders.
    ("buy stop below the market", btc(BUY, "0.1", STOP, price=None, stop_price=D(499)), STOP_HIT, "stop_price"),
    ("buy stop at the market", btc(BUY, "0.1", STOP, price=None, stop_price=D(500)), STOP_HIT, "stop_price"),
    ("sell stop above the market", btc(SELL, "0.01", STOP, price=None, stop_price=D(501)), STOP_HIT, "stop_price"),
    (
        "buy stop-limit below",
        btc(BUY, "0.1", OrderType.STOP_LIMIT, price="510", stop_price=D(495)),
        STOP_HIT,
        "stop_price",
    ),
    (
        "sell trailing stop starting above",
        btc(SELL, "0.01", TRAIL, price=None, stop_price=D(505), trailing_offset=D(5), trailing_offset_type=PRICE),
        STOP_HIT,
        "stop_price",
    ),
    ("GTD without expiry", btc(BUY, "0.1", time_in_force=TimeInForce.GTD), "MISSING_EXPIRY", "expires_at"),
    (
        "GTD expiring in the past",
        btc(BUY, "0.1", time_in_force=TimeInForce.GTD, expires_at=MIN),
        "EXPIRY_IN_PAST",
        "expires_at",
    ),
    ("selling more than held", btc(SELL, "0.03"), "INSUFFICIENT_BALANCE", "BTC"),
    ("buying more than the cash pays for", btc(BUY, "2"), "INSUFFICIENT_BALANCE", "USD"),
    ("post-only IOC", btc(BUY, "0.1", post_only=True, time_in_force=TimeInForce.IOC), "INVALID_POST_ONLY", "post_only"),
    ("unknown account", btc(BUY, "0.1", account="ghost"), "VENUE_REJECTED", "account"),
    (
        "reduce-only without a position",
        btc(SELL, "0.02", reduce_only=True),
        "INVALID_QUANTITY",
        "quantity",
    ),
]


@pytest.mark.parametrize(("label", "request_", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_order_is_rejected_with_a_code_and_changes_nothing(
    label: str, request_: OrderRequest, code: str, field: str
) -> None:
    journal = ListJournal()
    node = ready(journal)
    before = (
        dict(node.orders),
        node.ledger.to_dict(),
        len(journal.records),
        node.clock.timer_names(),  # type: ignore[attr-defined]
    )
    with pytest.raises(OrderRejectedError) as info:
        node.submit(request_)
    err = info.value
    assert err.reason == code
    assert field in str(err) and err.rule  # the message names what was wrong
    after = (dict(node.orders), node.ledger.to_dict(), len(journal.records), node.clock.timer_names())  # type: ignore[attr-defined]
    assert after == before


def test_market_buy_without_any_price_is_refused() -> None:
    node = make_node(instruments=(BTC,))
    node.open_account("main", cash={"USD": "1000"})
    with pytest.raises(OrderRejectedError) as info:
        node.submit(OrderRequest("BTC/USD", BUY, D("0.1")))
    assert info.value.reason == "NO_LIQUIDITY" and not node.orders


def test_bracket_whose_exits_do_not_bracket_the_entry_is_refused_whole() -> None:
    journal = ListJournal()
    node = ready(journal)
    count = len(journal.records)
    with pytest.raises(OrderRejectedError) as info:
        node.submit_bracket(BracketRequest(btc(BUY, "0.1"), take_profit=D(490), stop_loss=D(480)))
    assert info.value.reason == "INVALID_PRICE" and info.value.field == "take_profit"
    assert not node.orders and len(journal.records) == count


def test_oco_whose_second_leg_is_refused_cancels_the_first() -> None:
    journal = ListJournal()
    node = ready(journal)
    with pytest.raises(OrderRejectedError):
        node.submit_oco(btc(SELL, "0.02", price="520"), btc(SELL, "0.02", OrderType.STOP, price=None))
    (first,) = node.orders.values()
    assert first.status.value == "CANCELED" and first.status_message == "OCO leg refused"
    assert node.ledger.balance("main", "BTC").locked == 0


def test_a_stop_already_reached_goes_out_only_when_allowed_and_then_triggers_at_once() -> None:
    node = ready(ListJournal())
    with pytest.raises(OrderRejectedError) as info:
        node.submit(btc(BUY, "0.1", STOP, price=None, stop_price=D(499)))
    assert (info.value.field, info.value.rule, info.value.value) == (
        "stop_price",
        "a buy stop at or below the last price 500 would trigger at once (allow_immediate sends it anyway)",
        D(499),
    )
    waiting = node.submit(btc(BUY, "0.1", STOP, price=None, stop_price=D(505)))  # above the market: fine
    forced = node.submit(btc(BUY, "0.1", STOP, price=None, stop_price=D(499), allow_immediate=True))
    assert (waiting.status, forced.status) == (OrderStatus.ACCEPTED, OrderStatus.ACCEPTED)
    node.process_bar(bar(2, "500", "501", "499.5", "500.5", symbol="BTC/USD"))
    assert (waiting.status, forced.status) == (OrderStatus.ACCEPTED, OrderStatus.FILLED)
