"""Ledger scenarios worked out by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.ledger import (
    AccountMode,
    Balance,
    InsufficientBalance,
    Ledger,
    LeverageExceeded,
)

BTC = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001", taker_fee="0.001", maker_fee="0.0005")
FREE = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001")


@pytest.fixture
def ledger() -> Ledger:
    book = Ledger()
    book.open_account("a")
    book.deposit("a", "USDT", D("10000"))
    return book


def test_buy_partial_sell_cancel_and_mark_to_market_to_the_cent(ledger: Ledger) -> None:
    res = ledger.reserve("a", "o1", BTC, OrderSide.BUY, D("0.4"), D("20000"))
    assert res.locked == D("8008.000")  # 0.4 x 20000 x 1.001
    assert ledger.balance("a", "USDT").available == D("1992.000")

    # Better price than the limit: the lock shrinks to what the remaining 0.3 needs at the limit.
    first = ledger.apply_fill("a", BTC, "BUY", D("0.1"), D("19990"), fee=D("1.999"), order_id="o1")
    assert first.reservation is not None
    assert first.reservation.remaining == D("0.3")
    assert first.reservation.locked == D("6006.000")
    usdt = ledger.balance("a", "USDT")
    assert (usdt.total, usdt.locked, usdt.available) == (D("7999.001"), D("6006.000"), D("1993.001"))

    last = ledger.apply_fill("a", BTC, "BUY", D("0.3"), D("20000"), fee=D("6"), order_id="o1")
    assert last.reservation is not None and last.reservation.remaining == 0
    assert ledger.reservation("o1") is None
    assert ledger.balance("a", "USDT") == Balance("USDT", D("1993.001"), D("0"))
    position = last.position
    assert (position.quantity, position.average_price) == (D("0.4"), D("19997.5"))
    assert position.fees_paid == D("7.999")

    ledger.reserve("a", "o2", BTC, "SELL", D("0.25"), D("21000"))
    assert ledger.balance("a", "BTC").locked == D("0.25")
    sold = ledger.apply_fill("a", BTC, "SELL", D("0.15"), D("21000"), fee=D("3.15"), order_id="o2")
    assert sold.realised_pnl == D("150.375")  # 0.15 x (21000 - 19997.5)
    assert ledger.balance("a", "USDT").total == D("5139.851")
    assert ledger.release("o2") == D("0.10")
    btc = ledger.balance("a", "BTC")
    assert (btc.total, btc.locked) == (D("0.25"), D("0"))

    ledger.mark_to_market({"BTC/USDT": D("22000")})
    pos = ledger.position("a", "BTC/USDT")
    assert pos is not None
    assert pos.unrealised_pnl == D("500.625")  # 0.25 x (22000 - 19997.5)
    assert pos.realised_pnl == D("150.375")
    assert pos.market_value == D("5500")
    val = ledger.valuation("a")
    assert (val.cash, val.positions_value, val.equity) == (D("5139.851"), D("5500"), D("10639.851"))
    # The books balance: deposit + realised + unrealised - fees.
    assert D("10000") + val.realised_pnl + val.unrealised_pnl - D("11.149") == val.equity
    assert ledger.fees_collected() == {"USDT": D("11.149")}


def test_spot_rejections_name_the_asset_and_change_nothing(ledger: Ledger) -> None:
    ledger.apply_fill("a", FREE, "BUY", D("0.25"), D("20000"))
    ledger.reserve("a", "s1", FREE, "SELL", D("0.2"))
    before = ledger.to_dict()

    with pytest.raises(InsufficientBalance) as too_big:
        ledger.reserve("a", "b1", BTC, "BUY", D("0.3"), D("20000"))  # needs 6006 of the 5000 left
    assert (too_big.value.asset, too_big.value.required, too_big.value.available) == (
        "USDT",
        D("6006.000"),
        D("5000"),
    )
    assert too_big.value.reason == "INSUFFICIENT_BALANCE"
    assert "needs 6006 USDT" in str(too_big.value) and "5000 USDT available" in str(too_big.value)

    with pytest.raises(InsufficientBalance) as locked:
        ledger.apply_fill("a", FREE, "SELL", D("0.1"), D("20000"))  # 0.2 of the 0.25 are locked
    assert (locked.value.asset, locked.value.required, locked.value.available) == ("BTC", D("0.1"), D("0.05"))

    with pytest.raises(InsufficientBalance) as fee_asset:
        ledger.apply_fill("a", FREE, "BUY", D("0.01"), D("20000"), fee=D("0.1"), fee_asset="BNB")
    assert (fee_asset.value.asset, fee_asset.value.required, fee_asset.value.available) == ("BNB", D("0.1"), D("0"))

    with pytest.raises(InsufficientBalance):
        ledger.withdraw("a", "USDT", D("5000.01"))
    with pytest.raises(ValidationError):
        ledger.apply_fill("a", FREE, "SELL", D("0.3"), D("20000"), order_id="s1")  # more than the order
    with pytest.raises(ValidationError):
        ledger.apply_fill("a", FREE, "BUY", D("0.1"), D("20000"), order_id="s1")  # wrong side
    assert ledger.to_dict() == before


def test_fee_in_the_received_asset_and_maker_rebate(ledger: Ledger) -> None:
    bought = ledger.apply_fill("a", BTC, "BUY", D("1"), D("2000"), fee=D("0.001"), fee_asset="BTC")
    assert ledger.balance("a", "BTC").total == D("0.999")
    assert ledger.balance("a", "USDT").total == D("8000")
    assert bought.position.fees == {"BTC": D("0.001")}
    assert bought.position.fees_paid == 0
    ledger.apply_fill("a", BTC, "SELL", D("0.5"), D("2000"), fee=D("-0.25"))  # a rebate is credited
    assert ledger.balance("a", "USDT").total == D("9000.25")
    assert ledger.fees_collected() == {"BTC": D("0.001"), "USDT": D("-0.25")}


def test_a_fee_in_the_base_asset_leaves_a_position_of_what_is_held(ledger: Ledger) -> None:
    # A venue that takes its fee from the coins bought leaves 0.999 BTC: the position is what can be sold.
    ledger.apply_fill("a", BTC, "BUY", D("1"), D("2000"), fee=D("0.001"), fee_asset="BTC")
    assert ledger.quantity("a", "BTC/USDT") == D("0.999") == ledger.balance("a", "BTC").total
    closed = ledger.apply_fill("a", BTC, "SELL", D("0.999"), D("2100"))
    assert closed.position.quantity == 0 and ledger.balance("a", "BTC").total == 0
    assert closed.realised_pnl == D("99.900")


def test_spot_sell_of_deposited_inventory_realises_nothing() -> None:
    ledger = Ledger()
    ledger.open_account("a")
    ledger.deposit("a", "BTC", D("1"))
    ledger.deposit("a", "USDT", D("100"))
    ledger.apply_fill("a", FREE, "BUY", D("0.5"), D("100"))
    result = ledger.apply_fill("a", FREE, "SELL", D("1.2"), D("150"))
    assert result.realised_pnl == D("25")  # only the 0.5 bought here has a cost basis
    assert (result.position.quantity, result.position.average_price) == (0, 0)
    assert ledger.balance("a", "BTC").total == D("0.3")


def test_margin_long_flip_to_short_and_leverage_limit() -> None:
    ledger = Ledger()
    ledger.open_account("m", mode=AccountMode.MARGIN, leverage=3)
    ledger.deposit("m", "USDT", D("1000"))
    ledger.apply_fill("m", FREE, "BUY", D("0.1"), D("20000"))  # borrows 1000 USDT
    assert ledger.balance("m", "USDT").total == D("-1000")
    before = ledger.to_dict()

    with pytest.raises(LeverageExceeded) as breach:
        ledger.apply_fill("m", FREE, "BUY", D("0.06"), D("20000"))
    assert (breach.value.exposure, breach.value.equity) == (D("3200"), D("1000"))
    assert breach.value.reason == "LEVERAGE_LIMIT"
    assert ledger.to_dict() == before

    flip = ledger.apply_fill("m", FREE, "SELL", D("0.25"), D("21000"))
    assert flip.realised_pnl == D("100")  # the 0.1 long closed at +1000
    assert (flip.position.quantity, flip.position.average_price) == (D("-0.15"), D("21000"))
    assert ledger.balance("m", "BTC").total == D("-0.15")
    assert ledger.balance("m", "USDT").total == D("4250")
    assert ledger.valuation("m").equity == D("1100")

    ledger.mark_to_market({"BTC/USDT": D("23000")})
    val = ledger.valuation("m")
    assert (val.equity, val.exposure, val.unrealised_pnl) == (D("800"), D("3450"), D("-300"))
    with pytest.raises(LeverageExceeded):  # already past 3x: adding to the short is refused
        ledger.apply_fill("m", FREE, "SELL", D("0.001"), D("23000"))
    cover = ledger.apply_fill("m", FREE, "BUY", D("0.05"), D("23000"))  # reducing risk is always allowed
    assert cover.realised_pnl == D("-100")
    assert cover.position.realised_pnl == D("0")
    assert cover.position.quantity == D("-0.10")


def test_margin_reservation_is_checked_at_its_price_and_locks_nothing() -> None:
    ledger = Ledger()
    ledger.open_account("m", mode="margin", leverage=2)
    ledger.deposit("m", "USDT", D("1000"))
    res = ledger.reserve("m", "o1", FREE, "BUY", D("0.1"), D("20000"))
    assert res.locked == 0
    with pytest.raises(LeverageExceeded):
        ledger.reserve("m", "o2", FREE, "BUY", D("0.11"), D("20000"))
    assert ledger.reservation("o2") is None
    ledger.apply_fill("m", FREE, "BUY", D("0.1"), D("20000"), order_id="o1")
    assert ledger.reservation("o1") is None
    assert ledger.balance("m", "USDT").total == D("-1000")


def test_margin_needs_a_mark_for_every_asset_held() -> None:
    ledger = Ledger()
    ledger.open_account("m", mode=AccountMode.MARGIN, leverage=2)
    ledger.deposit("m", "USDT", D("1000"))
    ledger.deposit("m", "ETH", D("1"))
    with pytest.raises(ValidationError) as missing:
        ledger.apply_fill("m", FREE, "BUY", D("0.01"), D("20000"))
    assert missing.value.reason == "NO_MARK"
    assert "ETH" in str(missing.value)
    ledger.register(Instrument.create("ETH/USDT"))
    ledger.mark_to_market({"ETH/USDT": D("1000")})
    ledger.apply_fill("m", FREE, "BUY", D("0.01"), D("20000"))
    assert ledger.valuation("m").equity == D("2000")


def test_margin_withdrawal_cannot_take_borrowed_funds_or_breach_the_limit() -> None:
    ledger = Ledger()
    ledger.open_account("m", mode=AccountMode.MARGIN, leverage=2)
    ledger.deposit("m", "USDT", D("1000"))
    ledger.apply_fill("m", FREE, "SELL", D("0.05"), D("20000"))  # short 1000 of BTC: USDT 2000, equity 1000
    with pytest.raises(LeverageExceeded):
        ledger.withdraw("m", "USDT", D("600"))  # equity 400 x 2 < exposure 1000
    ledger.withdraw("m", "USDT", D("500"))
    assert ledger.balance("m", "USDT").total == D("1500")


def test_valuation_through_an_inverse_pair_and_lists_unpriced_assets() -> None:
    ledger = Ledger()
    ledger.open_account("e", currency="BTC")
    ledger.deposit("e", "USDT", D("500"))
    ledger.deposit("e", "DOGE", D("10"))
    ledger.register(FREE)
    ledger.mark_to_market({"BTC/USDT": D("25000")})
    val = ledger.valuation("e")
    assert val.equity == D("0.02")
    assert val.unpriced == ("DOGE",)


def test_snapshot_restore_continues_identically(ledger: Ledger) -> None:
    ledger.reserve("a", "o1", BTC, "BUY", D("0.2"), D("20000"))
    ledger.apply_fill("a", BTC, "BUY", D("0.1"), D("19000"), fee=D("1.9"), order_id="o1")
    ledger.open_account("m", mode="MARGIN", leverage=D("2.5"), currency="USDT")
    ledger.deposit("m", "USDT", D("100"))
    ledger.apply_fill("m", BTC, "SELL", D("0.01"), D("19000"), fee=D("0.19"))
    snap = ledger.to_dict()
    restored = Ledger.from_dict(snap)
    assert restored.to_dict() == snap
    for book in (ledger, restored):
        book.apply_fill("a", BTC, "BUY", D("0.1"), D("19500"), fee=D("1.95"), order_id="o1")
        book.apply_fill("m", BTC, "BUY", D("0.02"), D("19500"))
    assert restored.to_dict() == ledger.to_dict()
    assert restored.position("m", "BTC/USDT") == ledger.position("m", "BTC/USDT")

    with pytest.raises(ValidationError):
        Ledger.from_dict({**snap, "version": 99})
    with pytest.raises(ValidationError):
        Ledger.from_dict({**snap, "accounts": {"x": {"mode": "SPOT"}}})


def test_bad_input_is_refused_by_field(ledger: Ledger) -> None:
    with pytest.raises(ValidationError) as floaty:
        ledger.deposit("a", "USDT", 1.5)  # type: ignore[arg-type]
    assert floaty.value.field == "amount"
    with pytest.raises(ValidationError) as negative:
        ledger.deposit("a", "USDT", D("-1"))
    assert negative.value.rule == "must be > 0"
    with pytest.raises(ValidationError) as side:
        ledger.apply_fill("a", BTC, "HOLD", D("1"), D("1"))
    assert side.value.field == "side"
    with pytest.raises(ValidationError) as no_price:
        ledger.reserve("a", "x", BTC, "BUY", D("1"))
    assert no_price.value.field == "price"
    with pytest.raises(ValidationError):
        ledger.open_account("s", leverage=2)
    with pytest.raises(ValidationError) as digits:
        ledger.deposit("a", "USDT", D("1." + "1" * 70))
    assert digits.value.field == "amount"
    with pytest.raises(ConflictError):
        ledger.open_account("a")
    ledger.reserve("a", "dup", BTC, "BUY", D("0.001"), D("100"))
    with pytest.raises(ConflictError):
        ledger.reserve("a", "dup", BTC, "BUY", D("0.001"), D("100"))
    with pytest.raises(NotFoundError):
        ledger.deposit("nobody", "USDT", D("1"))
    with pytest.raises(NotFoundError):
        ledger.release("never")
    with pytest.raises(ValidationError):
        ledger.register(Instrument.create("BTC/USDT", base="XBT"))


def test_maintenance_margin_is_half_the_initial_margin() -> None:
    ledger = Ledger()
    ledger.open_account("m", mode=AccountMode.MARGIN, leverage=2)
    ledger.deposit("m", "USDT", D("1000"))
    ledger.apply_fill("m", FREE, "SELL", D("0.1"), D("20000"))  # short 2,000 of BTC on 1,000 equity (2x)
    assert ledger.maintenance_shortfall("m") is None
    # Equity 3000 - 0.1 p, requirement 0.1 p / 2 / 2: a call once 3000 - 0.1 p < 0.025 p, i.e. p > 24,000.
    ledger.mark_to_market({"BTC/USDT": D("24000")})
    assert ledger.maintenance_shortfall("m") is None  # 600 == 600: not below
    ledger.mark_to_market({"BTC/USDT": D("24000.01")})
    assert ledger.maintenance_shortfall("m") == (D("599.999"), D("600.00025"))
    spot = Ledger()
    spot.open_account("s", mode=AccountMode.SPOT)
    spot.deposit("s", "USDT", D("100"))
    assert spot.maintenance_shortfall("s") is None


def test_a_capture_is_the_state_when_taken_whatever_happens_before_it_is_built(ledger: Ledger) -> None:
    ledger.reserve("a", "o1", BTC, OrderSide.BUY, D("0.4"), D("20000"))
    ledger.apply_fill("a", BTC, "BUY", D("0.1"), D("19990"), fee=D("1.999"), order_id="o1")
    then = ledger.to_dict()
    build = ledger.capture()
    # What a snapshot's writer thread may see happen between the copy and the build: fills, a new lock, a release.
    ledger.apply_fill("a", BTC, "BUY", D("0.2"), D("19980"), fee=D("3.996"), order_id="o1")
    ledger.reserve("a", "o2", BTC, OrderSide.SELL, D("0.1"), D("21000"))
    ledger.release("o1")
    ledger.mark_to_market({"BTC/USDT": D("25000")})
    assert build() == then
    assert build()["reservations"]["o1"]["remaining"] == "0.3"
    assert ledger.to_dict() != then
