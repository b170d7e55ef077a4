"""Ledger.maintenance_bound and maintenance_shortfall(at=): the call price a backtest scans quiet bars with."""

from __future__ import annotations

from decimal import Decimal as D

from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.ledger import AccountMode, Ledger

BTC = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001")


def _margin(leverage: int = 2) -> Ledger:
    ledger = Ledger()
    ledger.open_account("m", mode=AccountMode.MARGIN, leverage=leverage)
    ledger.deposit("m", "USDT", D("1000"))
    return ledger


def test_short_is_called_above_the_bound_and_the_exact_check_agrees() -> None:
    ledger = _margin()
    ledger.apply_fill("m", BTC, "SELL", D("0.1"), D("20000"))
    # Equity 3000 - 0.1 p against 0.1 p x 0.5 / 2: called once p > 3000 / 0.125 = 24,000.
    assert ledger.maintenance_bound("m", "BTC/USDT") == (D("24000"), False)
    assert ledger.maintenance_shortfall("m", {"BTC/USDT": D("24000")}) is None  # equal is not below
    assert ledger.maintenance_shortfall("m", {"BTC/USDT": D("24000.01")}) == (D("599.999"), D("600.00025"))
    # ``at`` tests a price without recording it as the mark.
    assert ledger.mark("BTC/USDT") == D("20000")
    assert ledger.maintenance_shortfall("m") is None


def test_long_on_borrowed_cash_is_called_below_the_bound() -> None:
    ledger = _margin()
    ledger.apply_fill("m", BTC, "BUY", D("0.1"), D("20000"))  # 2,000 of BTC on 1,000 equity: 1,000 borrowed
    # Equity 0.1 p - 1000 against 0.1 p x 0.25: called once p < 1000 / 0.075 = 13,333.33...
    assert ledger.maintenance_bound("m", "BTC/USDT") == (D("13333.33333333333333333333333333333"), True)  # 34 digits
    assert ledger.maintenance_shortfall("m", {"BTC/USDT": D("13333.34")}) is None
    assert ledger.maintenance_shortfall("m", {"BTC/USDT": D("13333.33")}) is not None


def test_long_paid_in_full_is_never_called() -> None:
    ledger = _margin(leverage=1)
    ledger.apply_fill("m", BTC, "BUY", D("0.05"), D("20000"))  # all of the cash: nothing borrowed
    price, below = ledger.maintenance_bound("m", "BTC/USDT") or (D(1), False)
    assert below and price <= 0


def test_no_bound_without_a_position_or_in_a_spot_account() -> None:
    ledger = _margin()
    ledger.register(BTC)
    assert ledger.maintenance_bound("m", "BTC/USDT") is None  # flat
    spot = Ledger()
    spot.open_account("s", mode=AccountMode.SPOT)
    spot.deposit("s", "USDT", D("100"))
    spot.apply_fill("s", BTC, "BUY", D("0.001"), D("20000"))
    assert spot.maintenance_bound("s", "BTC/USDT") is None
    assert spot.maintenance_shortfall("s", {"BTC/USDT": D("1")}) is None
