"""Every order type through a trading node on :class:`CcxtVenue` (the real ccxt.pro client) against the fake
exchange: native orders (market, limit GTC/IOC/FOK, post-only as LIMIT_MAKER) and the ones the node emulates above
them (stop, stop-limit, trailing stop, iceberg, OCO, bracket, GTD), placed, filled, canceled and modified. After
each case the node's balances equal the fake's to the last unit after fees (Binance charges a buy's fee in the base
asset), nothing is left to reconcile, and the fake's order log holds one order per client order id.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from ccxt_venue_kit import SEC, live_node, wait_status

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
from alphintra.venues.ccxt_markets import encode_key
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
BTC = "BTC/USDT"


def test_market_buy_and_sell_fill_with_the_exchange_fees_and_trade_ids(fake: FakeHandle) -> None:
    with decimal.localcontext() as mine, live_node(fake) as lv:
        mine.rounding = decimal.ROUND_HALF_EVEN
        buy = lv.node.submit(OrderRequest(BTC, BUY, D("0.1")))
        assert buy.status is OrderStatus.PENDING_SUBMIT  # submit returned before the exchange answered
        wait_status(lv, buy, OrderStatus.FILLED)
        fill = lv.node.fills[-1]
        assert fill.trade_id.startswith("BTCUSDT-") and fill.liquidity_side is LiquiditySide.TAKER
        assert (fill.fee_asset, fill.fee) == ("BTC", D("0.0001"))  # 10 bps of 0.1 BTC, in the base asset
        assert buy.venue_order_id is not None and buy.venue_order_id.isdigit()
        sell = lv.node.submit(OrderRequest(BTC, SELL, D("0.05")))
        wait_status(lv, sell, OrderStatus.FILLED)
        assert lv.node.fills[-1].fee_asset == "USDT"
        lv.assert_agrees()
        assert [o["client_order_id"] for o in lv.order_log()] == [buy.id, sell.id]
        # ccxt sets ROUND_HALF_UP in the context it runs in: never the node's
        assert decimal.getcontext().rounding == decimal.ROUND_HALF_EVEN


def test_limit_rests_fills_from_outside_as_maker_and_another_is_canceled(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        rest = lv.node.submit(OrderRequest(BTC, BUY, D("0.2"), LIMIT, price=D("29000")))
        other = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("28000")))
        wait_status(lv, rest, OrderStatus.ACCEPTED)
        wait_status(lv, other, OrderStatus.ACCEPTED)
        assert lv.node.ledger.balance("main", "USDT").locked == D("8608.6")  # price x quantity plus the taker fee
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": rest.id, "quantity": "0.05"})
        wait_status(lv, rest, OrderStatus.PARTIALLY_FILLED)
        fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": rest.id})
        wait_status(lv, rest, OrderStatus.FILLED)
        assert {f.liquidity_side for f in lv.node.fills} == {LiquiditySide.MAKER}
        assert sum(f.last_qty for f in lv.node.fills) == D("0.2")
        lv.node.cancel(other.id)
        wait_status(lv, other, OrderStatus.CANCELED)
        assert lv.node.ledger.balance("main", "USDT").locked == 0
        lv.assert_agrees()


def test_limit_fills_when_the_market_moves_through_it(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        order = lv.node.submit(OrderRequest(BTC, SELL, D("0.3"), LIMIT, price=D("30500")))
        wait_status(lv, order, OrderStatus.ACCEPTED)
        lv.price("30600")  # the fake's book moves up: its bids take the resting sell
        wait_status(lv, order, OrderStatus.FILLED)
        assert lv.node.fills[-1].last_px == D("30500")
        lv.assert_agrees()


def test_ioc_and_fok_fill_when_marketable_and_are_canceled_when_not(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        ioc = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("30100"), time_in_force=TimeInForce.IOC))
        fok = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("30100"), time_in_force=TimeInForce.FOK))
        missed = lv.node.submit(
            OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("29900"), time_in_force=TimeInForce.IOC)
        )
        too_big = lv.node.submit(OrderRequest(BTC, BUY, D("3"), LIMIT, price=D("30020"), time_in_force=TimeInForce.FOK))
        for order in (ioc, fok):
            wait_status(lv, order, OrderStatus.FILLED)
        for order in (missed, too_big):
            wait_status(lv, order, OrderStatus.CANCELED)
            assert order.filled_quantity == 0
        lv.assert_agrees()


def test_post_only_rests_as_limit_maker_or_is_rejected_when_it_would_trade(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        maker = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("29990"), post_only=True))
        taker = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("30100"), post_only=True))
        wait_status(lv, maker, OrderStatus.ACCEPTED)
        wait_status(lv, taker, OrderStatus.REJECTED)
        assert taker.reject_reason is RejectReason.POST_ONLY_WOULD_TRADE
        assert "would immediately match" in (taker.status_message or "")
        assert [o["type"] for o in lv.order_log()] == ["LIMIT_MAKER"]
        lv.assert_agrees()


def test_stop_and_stop_limit_are_armed_at_the_node_then_sent_and_filled(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        stop = lv.node.submit(OrderRequest(BTC, SELL, D("0.4"), OrderType.STOP, stop_price=D("29500")))
        stop_limit = lv.node.submit(
            OrderRequest(BTC, SELL, D("0.6"), OrderType.STOP_LIMIT, stop_price=D("29700"), price=D("29600"))
        )
        assert lv.order_log() == []  # armed at the node: nothing at the exchange yet
        lv.price("29650")
        wait_status(lv, stop_limit, OrderStatus.FILLED)
        assert stop.status is OrderStatus.ACCEPTED
        lv.price("29400")
        wait_status(lv, stop, OrderStatus.FILLED)
        assert lv.node.ledger.balance("main", "BTC").total == D("1.0")
        lv.assert_agrees()


def test_trailing_stop_follows_the_market_and_fires_at_the_exchange(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        trail = lv.node.submit(
            OrderRequest(
                BTC, SELL, D("0.5"), OrderType.TRAILING_STOP,
                trailing_offset=D("200"), trailing_offset_type=TrailingOffsetType.PRICE,
            )
        )  # fmt: skip
        lv.price("30500")
        lv.price("30350")  # 150 off the high: holds
        assert lv.order_log() == []
        lv.price("30250")  # 250 off the high of 30500: fires
        wait_status(lv, trail, OrderStatus.FILLED)
        lv.assert_agrees()


def test_iceberg_slices_carry_the_slash_key_as_a_client_id_the_exchange_accepts(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        ice = lv.node.submit(
            OrderRequest(BTC, BUY, D("0.3"), OrderType.ICEBERG, price=D("29000"), display_quantity=D("0.1"))
        )
        for n in (1, 2, 3):
            lv.pump(lambda n=n: len(lv.order_log()) == n, what=f"slice {n}")
            (last,) = lv.order_log()[-1:]
            assert last["client_order_id"] == f"{ice.id}.{n}"  # the key {id}/{n}, '/' mapped to '.'
            working = f"{ice.id}/{n}"
            lv.pump(lambda k=working: k in lv.node.at_venue, what="the slice working")
            fake.admin("POST", "fill", {"api_key": lv.api_key, "client_order_id": f"{ice.id}.{n}"})
        wait_status(lv, ice, OrderStatus.FILLED)
        assert ice.filled_quantity == D("0.3")
        lv.assert_agrees()


def test_oco_fill_of_one_leg_cancels_the_other_at_the_exchange(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        take, stop = lv.node.submit_oco(
            OrderRequest(BTC, SELL, D("0.5"), LIMIT, price=D("31000")),
            OrderRequest(BTC, SELL, D("0.5"), OrderType.STOP, stop_price=D("29000")),
        )
        wait_status(lv, take, OrderStatus.ACCEPTED)
        lv.price("31100")
        wait_status(lv, take, OrderStatus.FILLED)
        wait_status(lv, stop, OrderStatus.CANCELED)
        lv.assert_agrees()


def test_bracket_entry_then_take_profit_and_the_stop_loss_is_canceled(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        entry, tp, sl = lv.node.submit_bracket(
            BracketRequest(
                OrderRequest(BTC, BUY, D("0.2"), LIMIT, price=D("30100")), take_profit=D("30800"), stop_loss=D("29500")
            )
        )
        wait_status(lv, entry, OrderStatus.FILLED)
        wait_status(lv, tp, OrderStatus.ACCEPTED)
        lv.price("30900")
        wait_status(lv, tp, OrderStatus.FILLED)
        wait_status(lv, sl, OrderStatus.CANCELED)
        lv.assert_agrees()


def test_gtd_expires_on_the_node_clock_and_is_canceled_at_the_exchange(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        expires = lv.clock.now_ns() + 5 * SEC
        order = lv.node.submit(
            OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("29000"), time_in_force=TimeInForce.GTD, expires_at=expires)
        )
        wait_status(lv, order, OrderStatus.ACCEPTED)
        assert lv.order_log()[0]["type"] == "LIMIT"
        lv.clock.advance_to(expires + 1)
        wait_status(lv, order, OrderStatus.EXPIRED)
        view = fake.admin("GET", f"orders?api_key={lv.api_key}")
        assert len(view["orders"]) == 1
        lv.assert_agrees()


def test_modify_changes_an_armed_stop_and_cancel_replaces_a_resting_limit(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        stop = lv.node.submit(OrderRequest(BTC, SELL, D("0.2"), OrderType.STOP, stop_price=D("29000")))
        lv.node.modify(stop.id, stop_price=D("29800"), quantity=D("0.3"))
        rest = lv.node.submit(OrderRequest(BTC, BUY, D("0.1"), LIMIT, price=D("29000")))
        wait_status(lv, rest, OrderStatus.ACCEPTED)
        # the exchange cannot amend: the order is canceled there, then placed again under a new client order id
        lv.node.modify(rest.id, price=D("29100"))
        replacement = f"{rest.id}/m1"
        lv.pump(
            lambda: encode_key(replacement) in {o["client_order_id"] for o in lv.order_log()},
            what="the replacement to reach the exchange",
        )
        log = {o["client_order_id"]: o for o in lv.order_log()}
        assert (log[encode_key(rest.id)]["price"], log[encode_key(replacement)]["price"]) == ("29000", "29100")
        assert [s.key for s in lv.node.venue_for(BTC).open_orders()] == [replacement]
        assert rest.price == D("29100") and rest.status is OrderStatus.ACCEPTED
        lv.price("29700")
        wait_status(lv, stop, OrderStatus.FILLED)
        assert stop.filled_quantity == D("0.3")
        lv.node.cancel(rest.id)
        wait_status(lv, rest, OrderStatus.CANCELED)
        lv.assert_agrees()


def test_twap_and_vwap_slices_go_out_on_the_node_clock_as_exchange_orders(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        start = lv.clock.now_ns() + SEC
        twap = lv.node.submit_twap(TwapRequest(BTC, BUY, D("0.4"), duration_ns=4 * SEC, slices=4, start_ns=start))
        vwap = lv.node.submit_vwap(
            VwapRequest(BTC, SELL, D("0.3"), duration_ns=2 * SEC, weights=(D(1), D(2)), start_ns=start)
        )
        for second in range(1, 6):
            lv.clock.advance_to(start + (second - 1) * SEC)
            sent = len(lv.order_log())
            lv.pump(lambda: not lv.node.at_venue, what=f"the slices of second {second} to fill (sent {sent})")
        assert lv.node.algos.progress(twap.algo_id).filled == D("0.4")
        assert lv.node.algos.progress(vwap.algo_id).filled == D("0.3")
        assert len(lv.order_log()) == 4 + 2
        lv.assert_agrees()
