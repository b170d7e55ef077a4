"""quick_init: the faster __init__ builds exactly what the dataclass's own would, and the class stays frozen."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar, dataclass, field
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import LiquiditySide, OrderSide, OrderType
from alphintra.engine.core.events import OrderFilled, OrderInitialized, OrderSubmitted
from alphintra.engine.core.frozen import quick_init, slot_setters
from alphintra.engine.core.orders import Order
from alphintra.engine.venue.base import VenueFill
from alphintra.strategies.result import ClosedTrade, TradeSide


@dataclass(frozen=True, slots=True)
class _Plain:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Child(_Plain):
    d: Decimal = Decimal(0)


@given(a=st.integers(), b=st.text(max_size=5), c=st.lists(st.integers(), max_size=3), d=st.decimals(allow_nan=False))
def test_the_quick_init_sets_every_field_as_the_dataclass_init_does(a: int, b: str, c: list[int], d: Decimal) -> None:
    fast = quick_init(_Child)
    built = fast(a, b, c, d)
    assert (built.a, built.b, built.c, built.d) == (a, b, c, d)
    assert fast(a) == fast(a, "b", [], Decimal(0))
    assert fast(a=a, d=d).b == "b"


def test_each_instance_gets_its_own_default_factory_value() -> None:
    fast = quick_init(_Plain)
    first, second = fast(1), fast(2)
    assert first.c == [] and second.c == [] and first.c is not second.c


def test_the_class_stays_frozen_and_keeps_its_signature() -> None:
    fast = quick_init(_Plain)
    built = fast(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.a = 2  # type: ignore[misc]
    assert list(inspect.signature(fast).parameters) == ["a", "b", "c"]
    assert inspect.signature(fast).parameters["a"].default is inspect.Parameter.empty
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        fast()  # type: ignore[call-arg]


def test_post_init_still_runs() -> None:
    with pytest.raises(Exception, match=r"trade\.qty"):
        ClosedTrade(
            symbol="SYN",
            side=TradeSide.LONG,
            qty=Decimal(0),
            entry_ts=1,
            exit_ts=2,
            entry_price=Decimal(1),
            exit_price=Decimal(2),
            pnl=Decimal(1),
            fees=Decimal(0),
        )


def test_a_class_it_cannot_build_right_is_refused_at_once() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    @dataclass(frozen=True, slots=True)
    class Derived:
        a: int
        b: int = field(init=False, default=0)

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        scale: InitVar[int] = 1

        def __post_init__(self, scale: int) -> None:
            pass

    for cls in (NoSlots, NotFrozen, KeywordOnly, Derived, WithInitVar):
        with pytest.raises(TypeError, match=cls.__name__):
            quick_init(cls)


def test_the_engine_records_it_speeds_up_are_the_same_records() -> None:
    init = OrderInitialized(
        "O-1", 5, account="a", symbol="SYN", side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(2)
    )
    assert (init.price, init.tags, init.linked_order_ids, init.post_only) == (None, (), (), False)
    order = Order.create(init)
    assert order.fees == {} and order.events == (init,) and order.updated_at == 5
    order.apply(OrderSubmitted("O-1", 6))
    fill = OrderFilled(
        "O-1",
        6,
        trade_id="T-1",
        account="a",
        symbol="SYN",
        side=OrderSide.BUY,
        last_qty=Decimal(2),
        last_px=Decimal("10.5"),
        fee=Decimal("0.01"),
        fee_asset="USD",
        liquidity_side=LiquiditySide.TAKER,
    )
    order.apply(fill)
    assert (order.filled_quantity, order.average_price, dict(order.fees)) == (
        Decimal(2),
        Decimal("10.5"),
        {"USD": Decimal("0.01")},
    )
    assert OrderRequest("SYN", OrderSide.SELL, Decimal(1)).order_type is OrderType.MARKET
    assert VenueFill("k", "T", Decimal(1), Decimal(2), LiquiditySide.MAKER, 1).fee is None
    setters = slot_setters(Order)
    assert set(setters) == {f.name for f in dataclasses.fields(Order)}
