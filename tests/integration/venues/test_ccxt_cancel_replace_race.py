"""Modify on the fake exchange (no amend) through the real ccxt venue: the race where the original fills from
outside before the node hears of it, so the cancel of the cancel-replace meets a filled or partly filled order."""

from __future__ import annotations

from decimal import Decimal

from ccxt_venue_kit import live_node, wait_status

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.venues.ccxt_markets import encode_key
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
BTC = "BTC/USDT"


def test_a_fill_before_the_cancel_lands_sends_no_replacement(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        rest = lv.node.submit(OrderRequest(BTC, OrderSide.BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, rest, OrderStatus.ACCEPTED)
        # filled at the exchange; the node has not heard yet (its reports wait in the pump) when the user modifies
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": rest.id})
        lv.node.modify(rest.id, price=D("29100"))
        wait_status(lv, rest, OrderStatus.FILLED)
        lv.pump(lambda: not lv.node.replacing, what="the cancel-replace to settle")
        assert rest.price == D("29000") and "OrderUpdated" not in [type(e).__name__ for e in rest.events]
        assert encode_key(f"{rest.id}/m1") not in {o["client_order_id"] for o in lv.order_log()}
        lv.assert_agrees()


def test_a_partial_fill_before_the_cancel_lands_leaves_the_replacement_the_rest(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        rest = lv.node.submit(OrderRequest(BTC, OrderSide.BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, rest, OrderStatus.ACCEPTED)
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": rest.id, "quantity": "0.04"})
        lv.node.modify(rest.id, price=D("29100"))
        replacement = f"{rest.id}/m1"
        lv.pump(
            lambda: encode_key(replacement) in {o["client_order_id"] for o in lv.order_log()},
            what="the replacement to reach the exchange",
        )
        assert (rest.filled_quantity, rest.price, rest.status) == (D("0.04"), D("29100"), OrderStatus.PARTIALLY_FILLED)
        sent = {o["client_order_id"]: o for o in lv.order_log()}
        assert (sent[encode_key(replacement)]["quantity"], sent[encode_key(replacement)]["price"]) == ("0.06", "29100")
        lv.node.cancel(rest.id)
        wait_status(lv, rest, OrderStatus.CANCELED)
        lv.assert_agrees()
