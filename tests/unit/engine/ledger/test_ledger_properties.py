"""Invariants of the ledger under random deposits, withdrawals, orders, cancels and trades between accounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from hypothesis import event, given, settings
from hypothesis import strategies as st

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.ledger import AccountMode, Ledger, total_by_asset

BTC_USDT = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001", taker_fee="0.001", maker_fee="0.0005")
ETH_BTC = Instrument.create("ETH/BTC", tick_size="0.00001", lot_size="0.01", taker_fee="0.002", maker_fee="-0.0001")
INSTRUMENTS = (BTC_USDT, ETH_BTC)
SPOT = ("a", "b", "c")
MARGIN = "m"  # trades BTC/USDT only, so every asset it holds has a mark
ASSETS = ("USDT", "BTC", "ETH")


@dataclass(frozen=True)
class Deposit:
    account: str
    asset: str
    amount: D


@dataclass(frozen=True)
class Withdraw:
    account: str
    asset: str
    amount: D


@dataclass(frozen=True)
class Place:
    account: str
    instrument: int
    side: str
    qty_lots: int
    price_ticks: int


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Trade:
    """The taker account trades against a resting (reserved) order, at the order's price or better for the maker."""

    pick: int
    taker: str
    fraction: int  # in tenths of the order's remaining quantity, rounded to lots (at least one lot)


@dataclass(frozen=True)
class Mark:
    price_ticks: int


accounts = st.sampled_from((*SPOT, MARGIN))
amounts = st.integers(min_value=1, max_value=10**7).map(lambda n: D(n).scaleb(-3))
places = st.builds(
    Place,
    accounts,
    st.integers(0, 1),
    st.sampled_from(("BUY", "SELL")),
    st.integers(1, 2000),
    st.integers(1_000_000, 3_000_000),
)
trades = st.builds(Trade, st.integers(0, 50), accounts, st.integers(1, 10))
ops = st.one_of(
    st.builds(Deposit, accounts, st.sampled_from(ASSETS), amounts),
    st.builds(Withdraw, accounts, st.sampled_from(ASSETS), amounts),
    places,
    places,
    st.builds(Cancel, st.integers(0, 50)),
    trades,
    trades,
    trades,
    st.builds(Mark, st.integers(1_000_000, 3_000_000)),
)
# Every account starts funded, so most orders and trades go through and refusals are the interesting minority.
FUNDING = {"USDT": D("100000"), "BTC": D("5"), "ETH": D("100")}


def _price(instrument: Instrument, ticks: int) -> D:
    # Both instruments get prices in a sensible band: BTC/USDT 10000..30000, ETH/BTC 0.01..0.03.
    scale = D("0.01") if instrument is BTC_USDT else D("0.00000001")
    return D(ticks) * scale


def _check_invariants(ledger: Ledger, net_in: dict[str, D]) -> None:
    totals = total_by_asset(ledger)
    fees = ledger.fees_collected()
    for asset in ASSETS:
        assert totals.get(asset, D(0)) + fees.get(asset, D(0)) == net_in.get(asset, D(0)), asset
    locked_by_orders: dict[tuple[str, str], D] = {}
    for res in ledger.reservations():
        key = (res.account_id, res.asset)
        locked_by_orders[key] = locked_by_orders.get(key, D(0)) + res.locked
        assert res.remaining > 0 and res.locked >= 0
    for account in ledger.accounts():
        for asset, bal in ledger.balances(account).items():
            assert bal.locked >= 0
            assert bal.locked == locked_by_orders.get((account, asset), D(0))
            if ledger.account_mode(account) is AccountMode.SPOT:
                assert bal.available >= 0, (account, asset, bal)


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, min_size=10, max_size=80))
def test_random_activity_conserves_assets_and_never_overdraws(steps: list[object]) -> None:
    ledger = Ledger()
    for account in SPOT:
        ledger.open_account(account)
    ledger.open_account(MARGIN, mode=AccountMode.MARGIN, leverage=3)
    ledger.register(ETH_BTC)
    ledger.mark_to_market({"BTC/USDT": D("20000")})
    net_in: dict[str, D] = {}
    for account in (*SPOT, MARGIN):
        for asset, amount in FUNDING.items():
            if account == MARGIN and asset == "ETH":
                continue  # the margin account holds only what BTC/USDT marks can value
            ledger.deposit(account, asset, amount)
            net_in[asset] = net_in.get(asset, D(0)) + amount
    open_orders: list[str] = []
    counter = 0

    for step in steps:
        before = ledger.to_dict()
        try:
            if isinstance(step, Deposit):
                ledger.deposit(step.account, step.asset, step.amount)
                net_in[step.asset] = net_in.get(step.asset, D(0)) + step.amount
            elif isinstance(step, Withdraw):
                ledger.withdraw(step.account, step.asset, step.amount)
                net_in[step.asset] = net_in.get(step.asset, D(0)) - step.amount
            elif isinstance(step, Place):
                instrument = BTC_USDT if step.account == MARGIN else INSTRUMENTS[step.instrument]
                counter += 1
                order_id = f"o{counter}"
                qty = instrument.lot_size * step.qty_lots
                ledger.reserve(step.account, order_id, instrument, step.side, qty, _price(instrument, step.price_ticks))
                open_orders.append(order_id)
            elif isinstance(step, Cancel) and open_orders:
                order_id = open_orders.pop(step.pick % len(open_orders))
                ledger.release(order_id)
            elif isinstance(step, Trade) and open_orders:
                order_id = open_orders[step.pick % len(open_orders)]
                res = ledger.reservation(order_id)
                assert res is not None
                instrument = BTC_USDT if res.symbol == "BTC/USDT" else ETH_BTC
                if res.account_id == step.taker or (step.taker == MARGIN and instrument is ETH_BTC):
                    continue
                lots = max(1, int(res.remaining / instrument.lot_size) * step.fraction // 10)
                qty = instrument.lot_size * lots
                assert res.price is not None or res.side == "SELL"
                price = res.price if res.price is not None else _price(instrument, 2_000_000)
                notional = qty * price
                taker_side = "SELL" if res.side == "BUY" else "BUY"
                taker_fee = notional * instrument.taker_fee
                maker_fee = notional * instrument.maker_fee
                if res.account_id == MARGIN:
                    # A margin maker may be refused (marks moved since it was placed), so it goes first; the
                    # (spot) taker is dry-run on a copy first so that it cannot fail after the maker was booked.
                    Ledger.from_dict(before).apply_fill(step.taker, instrument, taker_side, qty, price, fee=taker_fee)
                    after = ledger.apply_fill(
                        res.account_id, instrument, res.side, qty, price, fee=maker_fee, order_id=order_id
                    )
                    ledger.apply_fill(step.taker, instrument, taker_side, qty, price, fee=taker_fee)
                else:
                    # The taker goes first: it may be refused (funds, leverage) and then nothing happened; the spot
                    # maker's fill is covered by its reservation and must always succeed.
                    ledger.apply_fill(step.taker, instrument, taker_side, qty, price, fee=taker_fee)
                    after = ledger.apply_fill(
                        res.account_id, instrument, res.side, qty, price, fee=maker_fee, order_id=order_id
                    )
                event(f"trade booked, maker {'margin' if res.account_id == MARGIN else 'spot'}")
                if after.reservation is not None and after.reservation.remaining == 0:
                    open_orders.remove(order_id)
            elif isinstance(step, Mark):
                ledger.mark_to_market({"BTC/USDT": _price(BTC_USDT, step.price_ticks)})
        except ValidationError as refused:
            event(f"refused: {refused.reason}")
            assert refused.reason in ("INSUFFICIENT_BALANCE", "LEVERAGE_LIMIT", "NO_MARK"), refused
            assert ledger.to_dict() == before, f"{step} was refused but changed the ledger"
        _check_invariants(ledger, net_in)

    snapshot = ledger.to_dict()
    restored = Ledger.from_dict(snapshot)
    assert restored.to_dict() == snapshot
    for account in ledger.accounts():
        assert restored.balances(account) == ledger.balances(account)
        assert restored.positions(account) == ledger.positions(account)
    # Releasing every open order returns every lock.
    for order_id in open_orders:
        restored.release(order_id)
    for account in restored.accounts():
        assert all(b.locked == 0 for b in restored.balances(account).values())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(("BUY", "SELL")), st.integers(1, 500), st.integers(900_000, 1_100_000)),
        min_size=1,
        max_size=30,
    )
)
def test_margin_position_matches_the_balance_and_pnl_adds_up(fills: list[tuple[str, int, int]]) -> None:
    """For a margin account trading one symbol without fees: equity = deposit + realised + unrealised."""
    ledger = Ledger()
    ledger.open_account("m", mode=AccountMode.MARGIN, leverage=1000)
    ledger.deposit("m", "USDT", D("1000000"))
    for side, lots, ticks in fills:
        ledger.apply_fill("m", BTC_USDT, side, BTC_USDT.lot_size * lots, D(ticks) * D("0.01"))
        position = ledger.position("m", "BTC/USDT")
        assert position is not None
        assert position.quantity == ledger.balance("m", "BTC").total
        val = ledger.valuation("m")
        assert abs(val.equity - (D("1000000") + val.realised_pnl + val.unrealised_pnl)) < D("1e-20")
