"""alphintra.formatting: the one home of how numbers and times are written (API, --json, tables, TUI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from alphintra.formatting import amount, bar_price, iso_dt, iso_ns, money, ns_from_iso, percent, places_for, plain


def test_plain_never_writes_exponent_form() -> None:
    assert plain(Decimal("0E-9")) == "0"
    assert plain(Decimal("0E+9")) == "0"
    assert plain(Decimal("1E+3")) == "1000"
    assert plain(Decimal("1E-8")) == "0.00000001"
    assert plain(Decimal("-12.50")) == "-12.50"


def test_iso_times_keep_every_nanosecond() -> None:
    assert iso_ns(1_704_067_200_000_000_000) == "2024-01-01T00:00:00+00:00"
    assert iso_ns(1_704_067_200_000_000_123) == "2024-01-01T00:00:00.000000123+00:00"
    assert iso_ns(None) is None
    assert iso_dt(datetime(2024, 1, 1, 9, 30, 0, 250_000, tzinfo=UTC)) == "2024-01-01T09:30:00.250000000+00:00"
    assert ns_from_iso("2024-01-01T00:00:00Z") == 1_704_067_200_000_000_000
    assert ns_from_iso("2024-01-01T01:00:00+01:00") == 1_704_067_200_000_000_000


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_iso_round_trip_is_exact(ns: int) -> None:
    assert ns_from_iso(iso_ns(ns)) == ns
    seconds, frac = divmod(ns, 10**9)  # the text strftime writes, with the fraction iso_ns adds
    text = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    assert iso_ns(ns) == (f"{text}.{frac:09d}+00:00" if frac else f"{text}+00:00")


def test_table_amounts_at_their_precision_with_separators() -> None:
    assert money(Decimal("90715.817092000"), "USD") == "90,715.82"
    assert money(Decimal("93346.72052322477309129738387613454"), "USD") == "93,346.72"
    assert money(Decimal("0.123456789"), "BTC") == "0.12345679"
    assert money(Decimal("1234.5"), "JPY") == "1,234"
    assert amount(Decimal("45598.42997374"), places_for(Decimal("0.01"))) == "45,598.43"
    assert amount(Decimal("2"), places_for(Decimal("0.00001"))) == "2.00000"
    assert amount(None) == "-"
    assert percent(0.012345) == "1.23 %"
    assert percent(None) == "-"


def test_bar_prices_lose_their_float_noise() -> None:
    assert bar_price(104.57000000000001) == 104.57
    assert str(bar_price(0.30000000000000004)) == "0.3"
    assert bar_price(60123.45) == 60123.45


def test_table_rounding_ignores_the_thread_decimal_context() -> None:
    # ccxt's decimal_to_precision leaves the thread's context at ROUND_HALF_UP with Underflow trapped; a table
    # must still round half-even as the ledger does (the full run showed 1234.5 JPY as "1,235").
    from decimal import ROUND_HALF_UP, Underflow, localcontext

    with localcontext() as ctx:
        ctx.rounding = ROUND_HALF_UP
        ctx.traps[Underflow] = True
        ctx.prec = 10
        assert money(Decimal("1234.5"), "JPY") == "1,234"
        assert money(Decimal("0.125"), "USD") == "0.12"
        assert amount(Decimal("123456789012345678901234567.5"), 0) == "123,456,789,012,345,678,901,234,568"
        assert amount(Decimal("0.000000001"), 2) == "0.00"
