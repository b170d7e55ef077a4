"""One test per fault class of the fake exchange, through a node on :class:`CcxtVenue`: the documented behaviour,
nothing lost (every fill booked, balances equal the fake's) and nothing sent twice (the fake's order log holds one
order per client order id, and it refused no duplicate).

The retry sleep is injected (``Live.waits`` records each wait and returns at once), so Retry-After and the backoff
are checked without living through them; the node's clock is moved by the test to fire its questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from ccxt_venue_kit import SEC, Live, live_node, wait_status

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BTC = "BTC/USDT"


@pytest.fixture(autouse=True)
def no_faults_left(fake: FakeHandle) -> Iterator[None]:
    fake.admin("DELETE", "faults")
    yield
    fake.admin("DELETE", "faults")


def fault(lv: Live, spec: str) -> None:
    lv.fake.admin("POST", "faults", {"spec": spec})


def ask_until(lv: Live, done: object, seconds: int) -> None:
    """Move the node's clock ``seconds`` on (its questions about commands in doubt fire), then pump."""
    lv.clock.advance_to(lv.clock.now_ns() + seconds * SEC)
    lv.drain()


@pytest.mark.parametrize("status", [429, 418])
def test_rate_limit_burst_waits_retry_after_then_places_the_order_once(fake: FakeHandle, status: int) -> None:
    with live_node(fake) as lv:
        assert lv.venue.client.enableRateLimit is True  # ccxt's own limiter paces every call
        fault(lv, f"{status}=2:3@POST/order")
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1")))
        wait_status(lv, order, OrderStatus.FILLED)
        assert len(lv.waits.delays) == 2 and all(d >= 3.0 for d in lv.waits.delays)  # Retry-After: 3
        assert [o["client_order_id"] for o in lv.order_log()] == [order.id]
        lv.assert_agrees()


def test_5xx_on_a_command_is_never_resent_and_the_node_rejects_what_the_exchange_never_got(
    fake: FakeHandle,
) -> None:
    with live_node(fake) as lv:
        fault(lv, "5xx=1:503@POST/order")
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        lv.pump(lambda: bool(lv.clock.timer_names()), what="the node to plan its question")
        assert order.status is OrderStatus.PENDING_SUBMIT and lv.waits.delays == []  # not retried
        for seconds in (1, 2, 4, 8, 16):  # the node asks by client order id, five times
            ask_until(lv, order, seconds)
        assert lv.node.order(order.id).status is OrderStatus.REJECTED
        assert order.status_message == "the venue never received it"
        assert lv.order_log() == []
        lv.assert_agrees()


def test_5xx_on_a_query_is_retried_with_backoff(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        fault(lv, "5xx=2:502@openOrders")
        assert lv.venue.open_orders() == []
        assert len(lv.waits.delays) == 2 and lv.waits.delays[0] < lv.waits.delays[1] * 2


def test_withheld_answer_times_out_and_the_order_is_found_by_its_client_id(fake: FakeHandle) -> None:
    with live_node(fake, timeout_ms=500, streams=False, poll_s=600) as lv:  # only the lookup can settle it
        fault(lv, "timeout=1:1500@POST/order")
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1")))
        wait_status(lv, order, OrderStatus.FILLED)
        assert lv.venue.lookups == 1
        assert [o["client_order_id"] for o in lv.order_log()] == [order.id]
        lv.assert_agrees()


def test_placed_but_response_lost_is_resolved_without_sending_again(fake: FakeHandle) -> None:
    with live_node(fake, streams=False, poll_s=600) as lv:
        fault(lv, "lost=1")
        order = lv.node.submit(OrderRequest(BTC, SELL, D("0.2"), OrderType.LIMIT, price=D("29900")))
        wait_status(lv, order, OrderStatus.FILLED)
        assert lv.venue.lookups == 1
        assert [o["client_order_id"] for o in lv.order_log()] == [order.id]
        lv.assert_agrees()


def test_order_briefly_unknown_after_a_lost_answer_is_asked_for_until_the_exchange_shows_it(
    fake: FakeHandle,
) -> None:
    # No private stream and no polling: only the node's questions by client order id can settle it.
    with live_node(fake, streams=False, poll_s=600) as lv:
        fault(lv, "lost=1,unknown=1:1500@POST/order")
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        lv.pump(lambda: bool(lv.clock.timer_names()), what="the node to plan its question")
        ask_until(lv, order, 1)  # -2013: still unknown, asked again later (not rejected, not re-sent)
        assert order.status is OrderStatus.PENDING_SUBMIT
        lv.pump(lambda: lv.venue.order_status(order.id) is not None, what="the exchange to show the order")
        ask_until(lv, order, 2)
        assert lv.node.order(order.id).status is OrderStatus.ACCEPTED
        assert [o["client_order_id"] for o in lv.order_log()] == [order.id]
        lv.assert_agrees()


def test_dropped_stream_reconnects_and_books_what_it_missed_once(fake: FakeHandle) -> None:
    with live_node(fake, poll_s=600) as lv:
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.2"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, order, OrderStatus.ACCEPTED)
        before = lv.venue.stream_reconnects
        fault(lv, "drop_stream")
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": order.id})
        wait_status(lv, order, OrderStatus.FILLED)
        assert lv.venue.stream_reconnects > before
        assert len(lv.node.fills) == 1
        lv.assert_agrees()


def test_silent_stream_is_backed_up_by_polling_the_fills(fake: FakeHandle) -> None:
    with live_node(fake, poll_s=0.3) as lv:
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.2"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, order, OrderStatus.ACCEPTED)
        fault(lv, "silent_stream")
        polls = lv.venue.polls
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": order.id, "quantity": "0.05"})
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": order.id})
        wait_status(lv, order, OrderStatus.FILLED)
        assert lv.venue.polls > polls and len(lv.node.fills) == 2
        lv.assert_agrees()


def test_clock_skew_minus_1021_resyncs_the_offset_and_retries_once(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        fault(lv, "skew=-30000")  # the exchange's clock 30 s behind: every signed request is "ahead" (-1021)
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1")))
        wait_status(lv, order, OrderStatus.FILLED)
        assert lv.venue.resyncs >= 1  # once per call that met it (the poller may meet it too)
        assert [o["client_order_id"] for o in lv.order_log()] == [order.id]
        lv.assert_agrees()


def test_partial_fills_are_booked_as_they_come(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        fault(lv, "partial=1:300")
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.4"), OrderType.LIMIT, price=D("30100")))
        wait_status(lv, order, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
        wait_status(lv, order, OrderStatus.FILLED)
        assert len(lv.node.fills) >= 2 and sum(f.last_qty for f in lv.node.fills) == D("0.4")
        lv.assert_agrees()


def test_fees_in_the_base_asset_on_sells_too_leave_the_same_balances(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        fault(lv, "fee_base")
        sell = lv.node.submit(OrderRequest(BTC, SELL, D("0.5")))
        wait_status(lv, sell, OrderStatus.FILLED)
        assert {f.fee_asset for f in lv.node.fills} == {"BTC"}
        assert lv.node.fills[0].fee == D("0.0005")
        lv.assert_agrees()
        assert lv.node_balances()["BTC"] == D("1.4995")


def test_a_cancel_without_answer_that_did_not_land_puts_the_order_back_to_working(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, order, OrderStatus.ACCEPTED)
        fault(lv, "5xx=1:503@DELETE/order")  # not executed, and the exchange still shows the order open
        lv.node.cancel(order.id)
        lv.pump(lambda: any("venue-ask:cancel" in n for n in lv.clock.timer_names()), what="the node's question")
        assert order.status is OrderStatus.PENDING_CANCEL
        ask_until(lv, order, 1)
        assert lv.node.order(order.id).status is OrderStatus.ACCEPTED  # OrderCancelRejected: still working, still ours
        lv.node.cancel(order.id)
        wait_status(lv, order, OrderStatus.CANCELED)
        lv.assert_agrees()


def test_a_cancel_whose_answer_is_lost_is_confirmed_by_asking(fake: FakeHandle) -> None:
    with live_node(fake, streams=False, poll_s=600) as lv:
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, order, OrderStatus.ACCEPTED)
        fault(lv, "lost=1@DELETE/order")
        lv.node.cancel(order.id)
        wait_status(lv, order, OrderStatus.CANCELED)
        assert lv.node.ledger.balance("main", "USDT").locked == 0
        lv.assert_agrees()


def test_a_cancel_that_arrives_after_the_fill_books_the_fill_and_is_refused(fake: FakeHandle) -> None:
    with live_node(fake, streams=False, poll_s=600) as lv:  # the node hears of the fill only through the cancel
        order = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), OrderType.LIMIT, price=D("29000")))
        wait_status(lv, order, OrderStatus.ACCEPTED)
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": order.id})
        lv.node.cancel(order.id)
        wait_status(lv, order, OrderStatus.FILLED)
        assert len(lv.node.fills) == 1
        lv.assert_agrees()
