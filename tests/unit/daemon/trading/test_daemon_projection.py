"""The daemon's SQL projection, in process: what the engine did reaches the state store (orders, trades, positions,
balances) with the journal position it stands at."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
from trading_support import Engine

from alphintra.daemon.trading.views import order_extras, order_extras_of, order_view
from alphintra.engine.core.enums import (
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderType,
    RejectReason,
    TrailingOffsetType,
)
from alphintra.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderInitialized,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
)
from alphintra.engine.core.orders import Order
from alphintra.storage.state import StateStore


@pytest.mark.parametrize("engine", ["spot"], indirect=True)  # spot buys lock cash; the test counts it
def test_orders_filled_at_once_reach_the_store_with_their_trades(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    engine.tick("ETH/USD", "3000")
    bought = engine.order(symbol="ETH/USD", side="BUY", quantity="1.5")  # placed and filled in one batch
    sold = engine.order(symbol="ETH/USD", side="SELL", quantity="0.5")
    resting = engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", type="LIMIT", price="2000")
    canceled = engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", type="LIMIT", price="2100")
    assert engine.client.delete(f"/api/v1/orders/{canceled['id']}").status_code == 200
    node = engine.host.node
    assert node is not None
    fills = [(f.order_id, f.last_qty, f.last_px, f.fee) for f in node.fills]
    position = node.ledger.position(engine.host.account, "ETH/USD")
    assert position is not None
    cash = node.ledger.balance(engine.host.account, "USD")
    with caplog.at_level(logging.ERROR, logger="alphintra.daemon.projector"):
        engine.close()  # the projector writes what it still holds, then stops
    assert not caplog.records, [r.getMessage() for r in caplog.records]

    store = StateStore(engine.settings.effective_database_url)
    try:
        orders = {o.id: o.status for o in store.list_orders()}
        assert orders == {
            bought["id"]: "FILLED",
            sold["id"]: "FILLED",
            resting["id"]: "ACCEPTED",
            canceled["id"]: "CANCELED",
        }
        trades = sorted((t.order_id, t.quantity, t.price, t.fee) for t in store.list_trades())
        assert trades == sorted(fills) and {t[0] for t in trades} == {bought["id"], sold["id"]}
        (pos,) = store.list_positions()
        assert (pos.symbol, pos.quantity) == ("ETH/USD", position.quantity) and pos.quantity == Decimal("1")
        usd = {b.asset: b for b in store.list_balances()}["USD"]
        assert (usd.total_balance, usd.locked_balance) == (cash.total, cash.locked)
        assert usd.locked_balance == Decimal("200.2")  # the resting 0.1 at 2,000 and its 0.1 % fee
        meta = store.projection_meta()
        assert meta is not None and meta.applied_seq == engine.host.journal.last_seq
    finally:
        store.close()


def test_the_projected_order_extras_are_those_of_the_order_view() -> None:
    """The projector builds a row's ``params`` without the full order view: the same keys, values and key order
    (the stored JSON text follows it), whatever state the order is in."""
    init = OrderInitialized(
        order_id="O-1",
        ts=1,
        account="main",
        symbol="ETH/USD",
        side=OrderSide.SELL,
        order_type=OrderType.TRAILING_STOP,
        quantity=Decimal("2.50"),
        trailing_offset=Decimal("1E+1"),
        trailing_offset_type=TrailingOffsetType.PRICE,
        display_quantity=Decimal("0.5"),
        contingency_type=ContingencyType.OCO,
        linked_order_ids=("O-2",),
        tags=("swing", "eth"),
    )
    order = Order.create(init)
    fill = OrderFilled(
        "O-1", 5, "T-1", "main", "ETH/USD", OrderSide.SELL, Decimal("1"), Decimal("3000.10"), Decimal("0.3"), "USD",
        LiquiditySide.TAKER,
    )  # fmt: skip
    steps = [
        OrderSubmitted("O-1", 2),
        OrderAccepted("O-1", 3, venue_order_id="V-1"),
        OrderTriggered("O-1", 4, trigger_price=Decimal("2990.00")),
        fill,
        OrderPendingCancel("O-1", 6),
        OrderCanceled("O-1", 7, reason="user"),
    ]
    seen = [order_extras_of(order)]
    assert seen[0] == order_extras(order_view(order))
    for event in steps:
        order.apply(event)
        extras = order_extras_of(order)
        assert json.dumps(extras) == json.dumps(order_extras(order_view(order)))
        seen.append(extras)
    assert seen[-1]["status_before_cancel"] == "PARTIALLY_FILLED" and seen[-1]["trailing_offset"] == "10"
    assert seen[-1]["filled_notional"] == "3000.10" and seen[-1]["trade_ids"] == ["T-1"]
    rejected = Order.create(OrderInitialized("O-3", 1, "main", "ETH/USD", OrderSide.BUY, OrderType.MARKET, Decimal(1)))
    rejected.apply(OrderRejected("O-3", 2, RejectReason.INVALID_QUANTITY, "no"))
    assert order_extras_of(rejected) == order_extras(order_view(rejected))
    assert order_extras_of(rejected)["reject_reason"] == "INVALID_QUANTITY"
