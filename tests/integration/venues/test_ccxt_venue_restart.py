"""A node on :class:`CcxtVenue` stops with orders working on the fake exchange; while it is down the exchange
fills two of them and cancels one from outside; a fresh node replays the journal and resumes on a fresh venue:
each fill is booked exactly once, the canceled order is closed, balances match the exchange's, nothing was sent
again (the fake's log holds one order per client order id), and a second restart finds nothing to do."""

from __future__ import annotations

from decimal import Decimal

from ccxt_venue_kit import ListJournal, live_node

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
BTC = "BTC/USDT"


def test_fills_and_a_cancel_while_down_are_settled_once_on_restart(fake: FakeHandle) -> None:
    journal = ListJournal()
    with live_node(fake, journal=journal) as first:
        ids = []
        for side, price in ((OrderSide.BUY, "29000"), (OrderSide.BUY, "28900"), (OrderSide.SELL, "31000")):
            ids.append(first.node.submit(OrderRequest(BTC, side, D("0.2"), OrderType.LIMIT, price=D(price))).id)
        first.pump(lambda: all(first.node.order(i).status is OrderStatus.ACCEPTED for i in ids), what="accepted")
    # the node is gone; the exchange goes on
    a, b, c = ids
    fake.admin("POST", "fill", {"api_key": first.api_key, "client_order_id": a})
    fake.admin("POST", "fill", {"api_key": first.api_key, "client_order_id": b, "quantity": "0.1"})
    fake.admin("POST", "fill", {"api_key": first.api_key, "client_order_id": b})
    fake.admin("POST", "cancel", {"api_key": first.api_key, "client_order_id": c})
    with live_node(fake, restart_of=first) as second:
        node = second.node
        assert [node.order(i).status for i in ids] == [OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.CANCELED]
        assert len(node.fills) == 3 and len({f.trade_id for f in node.fills}) == 3
        assert node.ledger.balance("main", "USDT").locked == 0 and node.ledger.balance("main", "BTC").locked == 0
        second.assert_agrees()
        # One order per client id at the exchange, none sent again; the three went out together, in any order.
        assert sorted(o["client_order_id"] for o in second.order_log()) == sorted(ids)
        second.drain()  # late reports of the same fills (the poller, the stream) book nothing more
        assert len(node.fills) == 3
    with live_node(fake, restart_of=second) as third:
        report = third.node.reconcile()
        assert (report.fills_booked, report.closed, report.adopted, report.differences) == ([], [], [], [])
        assert len(third.node.fills) == 3
        third.assert_agrees()
