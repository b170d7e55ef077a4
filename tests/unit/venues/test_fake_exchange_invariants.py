"""Invariants of the fake exchange's books under random order flow (in-process, no server)."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.venues.fake.errors import BinanceError
from alphintra.venues.fake.market import Market, default_spec
from alphintra.venues.fake.state import Exchange

D = Decimal


def make_exchange(fee_in_base: bool) -> tuple[Exchange, Market]:
    spec = default_spec("BTC/USDT", D("0.001"), D("0.001"))
    market = Market(spec, D("30000"), LiquidityModel(levels=5, level_notional=D(3000)), random.Random(1))
    clock = iter(range(1, 1_000_000))
    ex = Exchange({spec.id: market}, lambda: next(clock))
    ex.fee_in_base = fee_in_base
    ex.reladder(market)
    return ex, market


order_ops = st.one_of(
    st.tuples(
        st.just("limit"),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(29_800, 30_200),
        st.integers(1, 30_000),
        st.sampled_from(["GTC", "IOC", "FOK"]),
    ),
    st.tuples(st.just("market"), st.sampled_from(["BUY", "SELL"]), st.integers(1, 30_000)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("price"), st.integers(29_700, 30_300)),
    st.tuples(st.just("fill"), st.integers(0, 20)),
)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), order_ops), max_size=40), st.booleans())
def test_locked_funds_always_equal_the_open_orders_and_nothing_goes_negative(ops, fee_in_base) -> None:  # type: ignore[no-untyped-def]
    ex, market = make_exchange(fee_in_base)
    accounts = [ex.add_account(f"k{i}", "s", {"USDT": D(20_000), "BTC": D("0.5")}) for i in range(2)]
    start = {a: (D(20_000) * 2, D(1))[i] for i, a in enumerate(("USDT", "BTC"))}
    for n, (who, op) in enumerate(ops):
        acct = accounts[who]
        try:
            if op[0] == "limit":
                _, side, price, lots, tif = op
                qty = str(market.inst.lots_to_qty(lots))
                params = {"symbol": "BTCUSDT", "side": side, "type": "LIMIT", "timeInForce": tif}
                ex.place(acct, {**params, "price": f"{price}.00", "quantity": qty, "newClientOrderId": f"c{n}"})
            elif op[0] == "market":
                _, side, lots = op
                qty = str(market.inst.lots_to_qty(lots))
                params = {"symbol": "BTCUSDT", "side": side, "type": "MARKET"}
                ex.place(acct, {**params, "quantity": qty, "newClientOrderId": f"c{n}"})
            elif op[0] == "cancel":
                order = ex.orders.get(op[1] + 1)
                if order is not None and order.is_open:
                    ex.cancel(order)
            elif op[0] == "price":
                ex.set_price(market, D(op[1]))
            else:
                order = ex.orders.get(op[1] + 1)
                if order is not None and order.is_open:
                    ex.fill_resting(order, None)
        except BinanceError as exc:
            assert exc.code in (-2010, -1013)  # refused for funds, filters or duplicates: a clean refusal
        for acct in accounts:
            for asset in ("USDT", "BTC"):
                bal = acct.bal(asset)
                open_locks = sum((o.locked for o in ex.open_orders(acct, None) if o.lock_asset == asset), D(0))
                assert bal.locked == open_locks, (asset, bal, open_locks)
                assert bal.free >= 0 and bal.locked >= 0
        for order in ex.orders.values():
            assert D(0) <= order.executed <= order.orig_qty
            assert order.locked >= 0
            assert order.is_open == (order.order_id in market.engine.book or order.held_lots > 0)
            if not order.is_open:
                assert order.locked == 0
    # every trade of an account is on its books: base and quote moved exactly by its fills and fees
    for acct in accounts:
        base = quote = D(0)
        for t in acct.trades:
            sign = 1 if t["isBuyer"] else -1
            fee = D(str(t["commission"]))
            base += sign * D(str(t["qty"])) - (fee if t["commissionAsset"] == "BTC" else 0)
            quote -= sign * D(str(t["quoteQty"])) + (fee if t["commissionAsset"] == "USDT" else 0)
        assert acct.bal("BTC").free + acct.bal("BTC").locked == start["BTC"] / 2 + base
        assert acct.bal("USDT").free + acct.bal("USDT").locked == start["USDT"] / 2 + quote
