"""The order ticket's rules: tick, lot, minimum notional, buying power, bracket sides, and what is sent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from alphintra.tui.models import Balance, Instrument, Ticker
from alphintra.tui.ticket import Ticket, check_ticket

BTC = Instrument(
    symbol="BTC/USD",
    base="BTC",
    quote="USD",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.0001"),
    min_qty=Decimal("0.0001"),
    min_notional=Decimal("10"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.002"),
)
TICKER = Ticker("BTC/USD", Decimal("60000"), Decimal("59990"), Decimal("60010"), 0.0, Decimal(5), 1)
CASH = {"USD": Balance("USD", Decimal("10000"), Decimal("10000"), Decimal(0))}


def check(**fields: str) -> object:
    return check_ticket(Ticket(symbol="BTC/USD", **fields), BTC, TICKER, CASH)


def test_a_resting_limit_buy_previews_maker_fee_and_buying_power_and_builds_the_payload() -> None:
    result = check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", "0.1", "59000"), BTC, TICKER, CASH)
    assert result.errors == {}
    assert result.preview is not None
    assert result.preview.notional == Decimal("5900.0")
    assert result.preview.fee_rate == Decimal("0.001")
    assert result.preview.fee == Decimal("5.9")
    assert result.preview.buying_power_after == Decimal("4094.1")
    assert result.payload == {
        "symbol": "BTC/USD",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.1",
        "price": "59000",
        "time_in_force": "GTC",
    }


def test_a_market_buy_is_priced_at_the_ask_and_pays_the_taker_fee() -> None:
    result = check_ticket(Ticket("BTC/USD", "BUY", "MARKET", "0.01", time_in_force="IOC"), BTC, TICKER, CASH)
    assert result.ok
    assert result.preview is not None
    assert (result.preview.reference_price, result.preview.notional) == (Decimal("60010"), Decimal("600.10"))
    assert result.preview.fee == Decimal("1.20020")
    assert result.payload is not None and "price" not in result.payload


def test_a_limit_crossing_the_touch_is_charged_as_taker() -> None:
    result = check_ticket(Ticket("BTC/USD", "SELL", "LIMIT", "0.01", "59000"), BTC, TICKER, CASH)
    assert result.preview is not None and result.preview.fee_rate == Decimal("0.002")
    assert result.preview.buying_power_after == Decimal("10000") + Decimal("590.00") - Decimal("1.18000")


def test_off_grid_quantity_and_price_name_the_step() -> None:
    result = check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", "0.00015", "59000.005"), BTC, TICKER, CASH)
    assert result.errors == {
        "quantity": "must be a multiple of lot 0.0001",
        "price": "must be a multiple of tick 0.01",
    }
    assert result.payload is None


def test_below_minimum_notional_and_above_buying_power_are_refused() -> None:
    small = check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", "0.0001", "50000"), BTC, TICKER, CASH)
    assert small.errors == {"quantity": "notional 5 below the minimum 10"}
    big = check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", "1", "50000"), BTC, TICKER, CASH)
    assert big.errors == {"quantity": "needs 50050 USD; 10000 available"}
    assert big.preview is not None and big.preview.buying_power_after == Decimal("-40050.000")


def test_required_fields_follow_the_order_type() -> None:
    assert check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", "0.1"), BTC, TICKER, CASH).errors == {"price": "required"}
    stop = check_ticket(Ticket("BTC/USD", "SELL", "STOP_LIMIT", "0.1", "58000"), BTC, TICKER, CASH)
    assert stop.errors == {"stop_price": "required"}
    market = check_ticket(Ticket("BTC/USD", "BUY", "MARKET", "0.1", "58000"), BTC, TICKER, CASH)
    assert market.errors == {"price": "a MARKET order takes no limit price"}
    assert check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", "abc", "1"), BTC, TICKER, CASH).errors["quantity"] == (
        "not a number"
    )


def test_bracket_exits_must_sit_on_their_side_of_the_entry() -> None:
    wrong = check_ticket(
        Ticket("BTC/USD", "BUY", "LIMIT", "0.1", "59000", take_profit="58000", stop_loss="60000"), BTC, TICKER, CASH
    )
    assert wrong.errors == {
        "take_profit": "must be above the entry 59000",
        "stop_loss": "must be below the entry 59000",
    }
    right = check_ticket(
        Ticket("BTC/USD", "SELL", "LIMIT", "0.1", "61000", take_profit="58000", stop_loss="62000.5"),
        BTC,
        TICKER,
        CASH,
    )
    assert right.ok
    assert right.payload is not None
    assert (right.payload["take_profit"], right.payload["stop_loss"]) == ("58000", "62000.5")


def test_an_unknown_symbol_is_the_only_error() -> None:
    assert check_ticket(Ticket("NOPE"), None, None, CASH).errors == {"symbol": "unknown symbol 'NOPE'"}


@given(
    lots=st.integers(min_value=1, max_value=10**6),
    ticks=st.integers(min_value=1, max_value=10**7),
)
def test_on_grid_tickets_pass_the_grid_rules_and_preview_exact_notional(lots: int, ticks: int) -> None:
    quantity = BTC.lot_size * lots
    price = BTC.tick_size * ticks
    rich = {"USD": Balance("USD", Decimal(10**12), Decimal(10**12), Decimal(0))}
    result = check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", str(quantity), str(price)), BTC, TICKER, rich)
    notional = quantity * price
    if notional < BTC.min_notional:
        assert set(result.errors) == {"quantity"} and "below the minimum" in result.errors["quantity"]
    else:
        assert result.ok
        assert result.preview is not None and result.preview.notional == notional
        assert Decimal(result.payload["quantity"]) == quantity if result.payload else False


@given(lots=st.integers(min_value=1, max_value=10**6), offset=st.integers(min_value=1, max_value=99))
def test_any_quantity_between_lots_is_refused(lots: int, offset: int) -> None:
    quantity = BTC.lot_size * lots + BTC.lot_size * offset / 100
    result = check_ticket(Ticket("BTC/USD", "BUY", "LIMIT", str(quantity), "100"), BTC, TICKER, CASH)
    assert result.errors.get("quantity") == "must be a multiple of lot 0.0001"
