from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, dataclass
from decimal import Decimal as D
from typing import Any

import pytest

from alphintra.engine.core import events as ev
from alphintra.engine.core.enums import (
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderType,
    RejectReason,
    TimeInForce,
    TrailingOffsetType,
)
from alphintra.engine.core.errors import ValidationError

FILLED = ev.OrderFilled(
    "o1",
    1_700_000_000_000_000_000,
    trade_id="t1",
    account="main",
    symbol="BTC/USDT",
    side=OrderSide.SELL,
    last_qty=D("0.500"),
    last_px=D("30000.10"),
    fee=D("-0.0015"),
    fee_asset="USDT",
    liquidity_side=LiquiditySide.MAKER,
)

SAMPLES: list[ev.OrderEvent] = [
    ev.OrderInitialized(
        "o1",
        5,
        account="main",
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        order_type=OrderType.TRAILING_STOP,
        quantity=D("1.250"),
        stop_price=D("29000.00"),
        trailing_offset=D("1.5"),
        trailing_offset_type=TrailingOffsetType.PERCENT,
        time_in_force=TimeInForce.GTD,
        expires_at=99,
        client_order_id="c-1",
        strategy="sma",
        parent_order_id="p",
        contingency_type=ContingencyType.OCO,
        linked_order_ids=("o2", "o3"),
        tags=("exit",),
        reduce_only=True,
    ),
    ev.OrderInitialized(
        "o9", 1, account="a", symbol="GOOG", side=OrderSide.SELL, order_type=OrderType.MARKET, quantity=D(3)
    ),
    ev.OrderSubmitted("o1", 6),
    ev.OrderAccepted("o1", 7, venue_order_id="V-1"),
    ev.OrderAccepted("o1", 7),
    ev.OrderRejected("o1", 8, reason=RejectReason.PRICE_OFF_TICK, message="price: must be a multiple of 0.01"),
    ev.OrderTriggered("o1", 9, trigger_price=D("29000.00")),
    ev.OrderUpdated("o1", 10, quantity=D("2"), stop_price=D("28000")),
    ev.OrderPendingCancel("o1", 11),
    ev.OrderCancelRejected("o1", 12, message="filled"),
    ev.OrderCanceled("o1", 13, reason="SELF_TRADE"),
    ev.OrderExpired("o1", 14),
    FILLED,
]


def test_every_registered_type_has_a_sample() -> None:
    assert {type(s).__name__ for s in SAMPLES} == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip_through_json(event: ev.OrderEvent) -> None:
    text = json.dumps(event.to_dict())
    back = ev.event_from_dict(json.loads(text))
    assert back == event
    assert type(back) is type(event)


def test_wire_format_is_flat_text() -> None:
    assert FILLED.to_dict() == {
        "type": "OrderFilled",
        "v": 1,
        "order_id": "o1",
        "ts": 1_700_000_000_000_000_000,
        "trade_id": "t1",
        "account": "main",
        "symbol": "BTC/USDT",
        "side": "SELL",
        "last_qty": "0.500",
        "last_px": "30000.10",
        "fee": "-0.0015",
        "fee_asset": "USDT",
        "liquidity_side": "MAKER",
    }


def test_events_are_immutable() -> None:
    with pytest.raises(FrozenInstanceError):
        FILLED.last_qty = D(1)  # type: ignore[misc]


def test_optional_fields_may_be_omitted() -> None:
    assert ev.event_from_dict({"type": "OrderAccepted", "v": 1, "order_id": "x", "ts": 3}) == ev.OrderAccepted("x", 3)


def _with(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**data, **changes}
    return {k: v for k, v in out.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_with(FILLED.to_dict(), type="OrderFlied"), "type"),
        (_with(FILLED.to_dict(), v=2), "OrderFilled.v"),
        (_with(FILLED.to_dict(), v=_DROP), "OrderFilled.v"),
        (_with(FILLED.to_dict(), v=True), "OrderFilled.v"),
        (_with(FILLED.to_dict(), extra=1), "OrderFilled.extra"),
        (_with(FILLED.to_dict(), trade_id=_DROP), "OrderFilled.trade_id"),
        (_with(FILLED.to_dict(), ts="12"), "OrderFilled.ts"),
        (_with(FILLED.to_dict(), ts=True), "OrderFilled.ts"),
        (_with(FILLED.to_dict(), last_qty=0.5), "OrderFilled.last_qty"),
        (_with(FILLED.to_dict(), last_qty="NaN"), "OrderFilled.last_qty"),
        (_with(FILLED.to_dict(), last_px="abc"), "OrderFilled.last_px"),
        (_with(FILLED.to_dict(), side="LONG"), "OrderFilled.side"),
        (_with(FILLED.to_dict(), side=["BUY"]), "OrderFilled.side"),  # unhashable: still a named field error
        (_with(FILLED.to_dict(), fee=None), "OrderFilled.fee"),
        (_with(SAMPLES[0].to_dict(), post_only="yes"), "OrderInitialized.post_only"),
        (_with(SAMPLES[0].to_dict(), linked_order_ids=[1]), "OrderInitialized.linked_order_ids"),
    ],
)
def test_bad_dicts_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        ev.event_from_dict(data)
    assert err.value.field == field


def _rename_why(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "why"}
    out["reason"] = data["why"]
    return out


def test_old_versions_are_upgraded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend version 2 renamed OrderCanceled.reason from "why": a version-1 journal line must still load.
    ev.CODEC.register(ev.OrderCanceled, version=2)
    try:
        monkeypatch.setitem(ev.CODEC._upgraders, ("OrderCanceled", 1), _rename_why)
        old = {"type": "OrderCanceled", "v": 1, "order_id": "o", "ts": 1, "why": "user"}
        assert ev.event_from_dict(old) == ev.OrderCanceled("o", 1, reason="user")
        assert "why" in old and "reason" not in old  # the upgrade worked on a copy, not on the journal's record
        assert ev.OrderCanceled("o", 1).to_dict()["v"] == 2
        with pytest.raises(ValidationError, match="between 1 and 2"):
            ev.event_from_dict({**old, "v": 3})
    finally:
        ev.CODEC.register(ev.OrderCanceled, version=ev.EVENT_SCHEMA_VERSION)


def test_registering_events() -> None:
    @dataclass(frozen=True, slots=True)
    class OrderPoked(ev.OrderEvent):
        how: str = "gently"

    with pytest.raises(TypeError, match="not registered"):
        OrderPoked("o", 1).to_dict()

    @dataclass(frozen=True, slots=True)
    class OrderBad(ev.OrderEvent):
        weird: list[int]

    with pytest.raises(TypeError, match="unsupported"):
        ev.register_event(OrderBad)

    with pytest.raises(ValueError, match="already registered"):

        @dataclass(frozen=True, slots=True)
        class OrderFilled(ev.OrderEvent):  # same name as the real one
            pass

        ev.register_event(OrderFilled)
