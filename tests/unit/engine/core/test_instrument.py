from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.engine.core.enums import LiquiditySide
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry, split_symbol

BTC = Instrument.create(
    "BTC/USDT", tick_size="0.01", lot_size="0.001", min_notional="10", maker_fee="-0.0001", taker_fee="0.001"
)


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [("BTC/USDT", ("BTC", "USDT")), ("BTC/USDT:USDT", ("BTC", "USDT")), ("GOOG", ("GOOG", "USD"))],
)
def test_symbol_split(symbol: str, expected: tuple[str, str]) -> None:
    assert split_symbol(symbol) == expected
    inst = Instrument.create(symbol)
    assert (inst.base, inst.quote) == expected


def test_plain_ticker_takes_the_default_quote_and_explicit_codes_win() -> None:
    assert Instrument.create("SAP", default_quote="EUR").quote == "EUR"
    assert Instrument.create("BRK-B", base="BRKB", quote="USD").base == "BRKB"


@pytest.mark.parametrize("symbol", ["", " BTC", "BTC/", "/USDT", "A/B/C", "BT C", 42])
def test_bad_symbols_are_refused(symbol: str) -> None:
    with pytest.raises(ValidationError) as err:
        Instrument.create(symbol)
    assert err.value.field == "symbol"


def test_defaults_and_precisions() -> None:
    assert BTC.min_qty == D("0.001")  # one lot
    assert BTC.price_precision == 2
    assert BTC.size_precision == 3
    assert Instrument.create("X", tick_size="5").price_precision == 0


def test_make_price_normalises_onto_the_tick_grid() -> None:
    price = BTC.make_price("100.1")
    assert price == D("100.10") and str(price) == "100.10"
    assert str(BTC.make_price(D("100.100000"))) == "100.10"
    assert str(BTC.make_qty(2)) == "2.000"


def test_off_grid_values_name_the_field_and_rule() -> None:
    with pytest.raises(ValidationError) as err:
        BTC.make_price("100.005")
    assert err.value.field == "price"
    assert "tick_size 0.01" in err.value.rule
    assert err.value.reason == "PRICE_OFF_TICK"
    with pytest.raises(ValidationError) as err:
        BTC.make_qty("0.0015", "display_quantity")
    assert err.value.field == "display_quantity"
    assert err.value.reason == "QTY_NOT_LOT_MULTIPLE"


@pytest.mark.parametrize("bad", [1.5, "abc", None, D("NaN"), D("Infinity"), True])
def test_inexact_or_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        BTC.make_price(bad)
    assert err.value.field == "price"


def test_tick_and_lot_conversions() -> None:
    assert BTC.price_to_ticks("101.25") == 10125
    assert BTC.ticks_to_price(10125) == D("101.25")
    assert BTC.qty_to_lots("1.5") == 1500
    assert str(BTC.lots_to_qty(1500)) == "1.500"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_ticks_round_trip(ticks: int) -> None:
    assert BTC.price_to_ticks(BTC.ticks_to_price(ticks)) == ticks
    assert BTC.qty_to_lots(BTC.lots_to_qty(ticks)) == ticks


def test_rounding_helpers() -> None:
    assert BTC.round_price("100.126") == D("100.13")
    assert BTC.round_price("100.126", "down") == D("100.12")
    assert BTC.round_price("100.121", "up") == D("100.13")
    assert BTC.round_qty("0.0019") == D("0.001")
    assert BTC.round_qty("0.0011", "up") == D("0.002")


def test_money_is_exact() -> None:
    assert BTC.notional(D("0.003"), D("30000.01")) == D("90.00003")
    assert BTC.fee(D("2"), D("100.00"), LiquiditySide.TAKER) == D("0.2")
    assert BTC.fee(D("2"), D("100.00"), LiquiditySide.MAKER) == D("-0.02")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tick_size": "0"}, "tick_size"),
        ({"lot_size": "-1"}, "lot_size"),
        ({"min_qty": "-1"}, "min_qty"),
        ({"min_notional": "-5"}, "min_notional"),
        ({"taker_fee": "1.5"}, "taker_fee"),
        ({"maker_fee": 0.001}, "maker_fee"),
    ],
)
def test_invalid_rules_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Instrument.create("ETH/USDT", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_instruments_are_immutable_and_hashable() -> None:
    inst = Instrument.create("AAPL", tags={"sector": "tech"})
    with pytest.raises(AttributeError):
        inst.tick_size = D("1")  # type: ignore[misc]
    with pytest.raises(TypeError):
        inst.tags["sector"] = "other"  # type: ignore[index]
    assert hash(inst) == hash(Instrument.create("AAPL", tags={"sector": "tech"}))


def test_mapping_round_trip() -> None:
    inst = Instrument.create("AAPL", tick_size="0.01", min_notional="1", tags={"sector": "tech"})
    assert Instrument.from_mapping(inst.to_mapping()) == inst


def test_registry() -> None:
    registry = InstrumentRegistry([BTC])
    assert registry.get("BTC/USDT") is BTC
    assert "BTC/USDT" in registry and len(registry) == 1
    registry.add(
        Instrument.create(
            "BTC/USDT", tick_size="0.01", lot_size="0.001", min_notional="10", maker_fee="-0.0001", taker_fee="0.001"
        )
    )  # equal: a no-op
    with pytest.raises(ConflictError):
        registry.add(Instrument.create("BTC/USDT", tick_size="0.1"))
    replaced = registry.add(Instrument.create("BTC/USDT", tick_size="0.1"), replace=True)
    assert registry.get("BTC/USDT") is replaced
    with pytest.raises(NotFoundError, match="unknown symbol 'DOGE/USDT'"):
        registry.get("DOGE/USDT")
    assert registry.find("DOGE/USDT") is None


def test_registry_from_mappings() -> None:
    registry = InstrumentRegistry.from_mappings(
        [
            {"symbol": "GOOG", "tick_size": "0.01", "tags": {"sector": "tech"}},
            {"symbol": "BTC/USDT", "tick_size": "0.1", "lot_size": "0.0001", "taker_fee": "0.001"},
        ]
    )
    assert registry.symbols() == ["BTC/USDT", "GOOG"]
    assert [i.symbol for i in registry.list()] == ["BTC/USDT", "GOOG"]
    assert registry.get("GOOG").quote == "USD"
    assert registry.get("GOOG").tags == {"sector": "tech"}
    assert registry.get("BTC/USDT").lot_size == D("0.0001")


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"symbol": "GOOG", "tick": "0.01"}], "instruments[0].tick"),
        ([{"tick_size": "0.01"}], "instruments[0].symbol"),
        ([{"symbol": "GOOG"}, {"symbol": "GOOG"}], "instruments[1].symbol"),
        ([{"symbol": "GOOG", "tick_size": 0.01}], "instruments[0].tick_size"),
        (["GOOG"], "instruments[0]"),
    ],
)
def test_registry_from_bad_mappings(items: list[object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        InstrumentRegistry.from_mappings(items)  # type: ignore[arg-type]
    assert err.value.field == field
