from __future__ import annotations

from decimal import Decimal as D

import pytest

from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType, RejectReason, TimeInForce
from alphintra.engine.core.enums import TrailingOffsetType as TOT
from alphintra.engine.core.errors import OrderRejectedError, ValidationError
from alphintra.engine.core.events import OrderInitialized, OrderSubmitted
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.core.orders import Order
from alphintra.engine.core.validation import check_order, validate_against, validate_order

R = RejectReason
NOW = 1_000
BTC = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001", min_qty="0.002", min_notional="10")
REGISTRY = InstrumentRegistry([BTC])

BASE: dict[OrderType, dict[str, object]] = {
    OrderType.LIMIT: {"price": D("20000.00")},
    OrderType.MARKET: {},
    OrderType.STOP: {"stop_price": D("19000")},
    OrderType.STOP_LIMIT: {"price": D("18990"), "stop_price": D("19000")},
    OrderType.TRAILING_STOP: {"trailing_offset": D("1.5"), "trailing_offset_type": TOT.PERCENT},
    OrderType.ICEBERG: {"price": D("20000"), "display_quantity": D("0.010")},
}


def request(order_type: OrderType = OrderType.LIMIT, **changes: object) -> OrderInitialized:
    terms: dict[str, object] = {"quantity": D("0.100"), **BASE[order_type], **changes}
    return OrderInitialized(
        "o1",
        NOW,
        account="a",
        symbol=str(terms.pop("symbol", "BTC/USDT")),
        side=OrderSide.BUY,
        order_type=order_type,
        **terms,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("order_type", list(OrderType))
def test_well_formed_requests_pass(order_type: OrderType) -> None:
    assert validate_order(request(order_type), REGISTRY, NOW) is None
    assert check_order(request(order_type), REGISTRY, NOW) is BTC


def test_gtd_in_the_future_and_a_price_offset_pass() -> None:
    assert validate_order(request(time_in_force=TimeInForce.GTD, expires_at=NOW + 1), REGISTRY, NOW) is None
    trailing = request(OrderType.TRAILING_STOP, trailing_offset=D("50.00"), trailing_offset_type=TOT.PRICE)
    assert validate_order(trailing, REGISTRY, NOW) is None


CASES = [
    (OrderType.LIMIT, {"symbol": "DOGE/USDT"}, R.UNKNOWN_SYMBOL, "symbol"),
    (OrderType.LIMIT, {"quantity": D("0")}, R.INVALID_QUANTITY, "quantity"),
    (OrderType.LIMIT, {"quantity": D("0.001")}, R.QTY_BELOW_MIN, "quantity"),
    (OrderType.LIMIT, {"quantity": D("0.0025")}, R.QTY_NOT_LOT_MULTIPLE, "quantity"),
    (OrderType.LIMIT, {"price": None}, R.MISSING_PRICE, "price"),
    (OrderType.LIMIT, {"price": D("-1")}, R.INVALID_PRICE, "price"),
    (OrderType.LIMIT, {"price": D("20000.005")}, R.PRICE_OFF_TICK, "price"),
    (OrderType.MARKET, {"price": D("1")}, R.PRICE_NOT_ALLOWED, "price"),
    (OrderType.STOP, {"stop_price": None}, R.MISSING_STOP_PRICE, "stop_price"),
    (OrderType.STOP_LIMIT, {"stop_price": None}, R.MISSING_STOP_PRICE, "stop_price"),
    (OrderType.STOP_LIMIT, {"price": None}, R.MISSING_PRICE, "price"),
    (OrderType.STOP, {"stop_price": D("19000.001")}, R.PRICE_OFF_TICK, "stop_price"),
    (OrderType.LIMIT, {"stop_price": D("1")}, R.STOP_PRICE_NOT_ALLOWED, "stop_price"),
    (OrderType.TRAILING_STOP, {"trailing_offset": None}, R.MISSING_TRAILING_OFFSET, "trailing_offset"),
    (OrderType.TRAILING_STOP, {"trailing_offset_type": None}, R.MISSING_TRAILING_OFFSET, "trailing_offset"),
    (OrderType.TRAILING_STOP, {"trailing_offset": D("0")}, R.INVALID_TRAILING_OFFSET, "trailing_offset"),
    (OrderType.TRAILING_STOP, {"trailing_offset": D("100")}, R.INVALID_TRAILING_OFFSET, "trailing_offset"),
    (
        OrderType.TRAILING_STOP,
        {"trailing_offset": D("0.005"), "trailing_offset_type": TOT.PRICE},
        R.INVALID_TRAILING_OFFSET,
        "trailing_offset",
    ),
    (OrderType.LIMIT, {"trailing_offset": D("1")}, R.INVALID_TRAILING_OFFSET, "trailing_offset"),
    (OrderType.ICEBERG, {"display_quantity": None}, R.MISSING_DISPLAY_QTY, "display_quantity"),
    (OrderType.ICEBERG, {"display_quantity": D("0.200")}, R.INVALID_DISPLAY_QTY, "display_quantity"),
    (OrderType.ICEBERG, {"display_quantity": D("0.0105")}, R.QTY_NOT_LOT_MULTIPLE, "display_quantity"),
    (OrderType.ICEBERG, {"display_quantity": D("0.001")}, R.QTY_BELOW_MIN, "display_quantity"),
    (OrderType.LIMIT, {"display_quantity": D("0.01")}, R.INVALID_DISPLAY_QTY, "display_quantity"),
    (OrderType.LIMIT, {"time_in_force": TimeInForce.GTD}, R.MISSING_EXPIRY, "expires_at"),
    (OrderType.LIMIT, {"time_in_force": TimeInForce.GTD, "expires_at": NOW}, R.EXPIRY_IN_PAST, "expires_at"),
    (OrderType.LIMIT, {"expires_at": NOW + 5}, R.EXPIRY_NOT_ALLOWED, "expires_at"),
    (
        OrderType.MARKET,
        {"time_in_force": TimeInForce.GTD, "expires_at": NOW + 5},
        R.INVALID_TIME_IN_FORCE,
        "time_in_force",
    ),
    (OrderType.MARKET, {"post_only": True}, R.INVALID_POST_ONLY, "post_only"),
    (OrderType.LIMIT, {"post_only": True, "time_in_force": TimeInForce.IOC}, R.INVALID_POST_ONLY, "post_only"),
    (OrderType.LIMIT, {"price": D("99.99")}, R.NOTIONAL_BELOW_MIN, "quantity"),
]


@pytest.mark.parametrize(("order_type", "changes", "reason", "field"), CASES)
def test_rejections_carry_code_and_field(
    order_type: OrderType, changes: dict[str, object], reason: RejectReason, field: str
) -> None:
    rejection = validate_order(request(order_type, **changes), REGISTRY, NOW)
    assert rejection is not None
    assert (rejection.reason, rejection.field) == (reason, field)
    with pytest.raises(OrderRejectedError) as err:
        check_order(request(order_type, **changes), REGISTRY, NOW)
    assert err.value.reason == reason.value and err.value.field == field
    assert isinstance(err.value, ValidationError)
    assert err.value.to_dict()["reason"] == reason.value


def test_min_notional_boundary() -> None:
    assert validate_order(request(price=D("100.00")), REGISTRY, NOW) is None  # exactly 10.000
    rejection = validate_order(request(price=D("99.99")), REGISTRY, NOW)
    assert rejection is not None and rejection.reason is R.NOTIONAL_BELOW_MIN
    assert rejection.message == "notional 9.99900 is below min_notional 10 USDT"


def test_market_notional_needs_a_reference_price() -> None:
    assert validate_order(request(OrderType.MARKET), REGISTRY, NOW) is None
    rejection = validate_order(request(OrderType.MARKET), REGISTRY, NOW, reference_price=D("50"))
    assert rejection is not None and rejection.reason is R.NOTIONAL_BELOW_MIN


def test_validation_changes_nothing_and_feeds_the_state_machine() -> None:
    terms = request(price=D("1.001"))
    order = Order.create(terms)
    before = Order.replay(order.events)
    rejection = validate_against(order, BTC, NOW)
    assert rejection is not None and rejection.reason is R.PRICE_OFF_TICK
    assert order == before
    order.apply(rejection.to_event(order.id, NOW + 1))
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason is R.PRICE_OFF_TICK
    assert order.status_message == "price: must be a multiple of tick_size 0.01"


def test_validation_reads_an_order_as_well_as_a_request() -> None:
    order = Order.create(request(quantity=D("0.001")))
    order.apply(OrderSubmitted("o1", NOW))
    rejection = validate_order(order, REGISTRY, NOW)
    assert rejection is not None and rejection.reason is R.QTY_BELOW_MIN
