"""The pure trading domain: instruments, orders and their state machine, events, validation, book and matching.

No I/O, no clock, nothing of the project outside this package. Names are exported lazily (PEP 562), because
``alphintra.errors`` imports ``engine.core.errors`` on every CLI start and shell completion must stay fast.

Entry points: ``Instrument`` / ``InstrumentRegistry`` (tick and lot conversion), ``Order`` (``Order.create(init)``,
``order.apply(event)``), the ``Order*`` events with ``event_to_dict`` / ``event_from_dict``, ``validate_order`` /
``check_order``, and ``MatchingEngine`` (integer ticks and lots) with its ``OrderBook``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        [
            "ContingencyType",
            "LiquiditySide",
            "OrderSide",
            "OrderStatus",
            "OrderType",
            "RejectReason",
            "SelfTradeMode",
            "TimeInForce",
            "TrailingOffsetType",
        ],
        "enums",
    ),
    **dict.fromkeys(["Instrument", "InstrumentRegistry"], "instrument"),
    **dict.fromkeys(
        [
            "EVENT_TYPES",
            "OrderAccepted",
            "OrderCancelRejected",
            "OrderCanceled",
            "OrderEvent",
            "OrderExpired",
            "OrderFilled",
            "OrderInitialized",
            "OrderPendingCancel",
            "OrderRejected",
            "OrderSubmitted",
            "OrderTriggered",
            "OrderUpdated",
            "event_from_dict",
            "event_to_dict",
            "register_event",
        ],
        "events",
    ),
    **dict.fromkeys(["TRANSITIONS", "Order"], "orders"),
    **dict.fromkeys(["Rejection", "check_order", "validate_order"], "validation"),
    **dict.fromkeys(["BookOrder", "DepthLevel", "OrderBook", "RestingOrder"], "book"),
    **dict.fromkeys(["Fill", "MatchResult", "MatchStatus", "MatchingEngine"], "matching"),
}

__all__ = [
    "EVENT_TYPES",
    "TRANSITIONS",
    "BookOrder",
    "ContingencyType",
    "DepthLevel",
    "Fill",
    "Instrument",
    "InstrumentRegistry",
    "LiquiditySide",
    "MatchResult",
    "MatchStatus",
    "MatchingEngine",
    "Order",
    "OrderAccepted",
    "OrderBook",
    "OrderCancelRejected",
    "OrderCanceled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderInitialized",
    "OrderPendingCancel",
    "OrderRejected",
    "OrderSide",
    "OrderStatus",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderType",
    "OrderUpdated",
    "RejectReason",
    "Rejection",
    "RestingOrder",
    "SelfTradeMode",
    "TimeInForce",
    "TrailingOffsetType",
    "check_order",
    "event_from_dict",
    "event_to_dict",
    "register_event",
    "validate_order",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from alphintra.engine.core.book import BookOrder, DepthLevel, OrderBook, RestingOrder
    from alphintra.engine.core.enums import (
        ContingencyType,
        LiquiditySide,
        OrderSide,
        OrderStatus,
        OrderType,
        RejectReason,
        SelfTradeMode,
        TimeInForce,
        TrailingOffsetType,
    )
    from alphintra.engine.core.events import (
        EVENT_TYPES,
        OrderAccepted,
        OrderCanceled,
        OrderCancelRejected,
        OrderEvent,
        OrderExpired,
        OrderFilled,
        OrderInitialized,
        OrderPendingCancel,
        OrderRejected,
        OrderSubmitted,
        OrderTriggered,
        OrderUpdated,
        event_from_dict,
        event_to_dict,
        register_event,
    )
    from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
    from alphintra.engine.core.matching import Fill, MatchingEngine, MatchResult, MatchStatus
    from alphintra.engine.core.orders import TRANSITIONS, Order
    from alphintra.engine.core.validation import Rejection, check_order, validate_order
