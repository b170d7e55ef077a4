"""The exchange's answer to an order reaches the node in one post: its acceptance and its fills together, so the
daemon books them in one engine batch under one journal sync (bench/live.py measures the round trip)."""

from __future__ import annotations

from decimal import Decimal

from ccxt_venue_kit import live_node

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus
from alphintra.venues.fake.testing import FakeHandle


def test_a_market_orders_answer_is_one_post_holding_its_acceptance_and_fills(fake: FakeHandle) -> None:
    with live_node(fake, streams=False, poll_s=60) as lv:  # only the answer reports: no stream, no poll meanwhile
        lv.drain()
        order = lv.node.submit(OrderRequest("BTC/USDT", OrderSide.BUY, Decimal("0.1")))
        job = lv.inbox.get(timeout=10)
        assert order.status is OrderStatus.PENDING_SUBMIT
        job()  # the one post: accepted, then every fill
        assert order.status is OrderStatus.FILLED and order.filled_quantity == Decimal("0.1")
        assert [type(e).__name__ for e in order.events][-2:] == ["OrderAccepted", "OrderFilled"]
        lv.assert_agrees()
