"""Order events: immutable, past-tense facts. An order is the fold of its events (see ``Order.apply``).

Every event serialises to a flat, JSON-ready dict ``{"type": <class name>, "v": <schema version>, ...fields}``
with Decimals as strings and enums as their values, and ``event_from_dict`` reads it back into an equal event.
The journal stores these dicts; replaying them onto fresh orders rebuilds the orders exactly.

Schema evolution: a change to an event's fields bumps ``EVENT_SCHEMA_VERSION`` and registers an upgrader for
the old version (``register_upgrader``), so journals written by older versions still replay.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

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

EVENT_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Base of every order event: which order, and when (int nanoseconds since the epoch, UTC)."""

    order_id: str
    ts: int

    def to_dict(self) -> dict[str, Any]:
        return event_to_dict(self)


@dataclass(frozen=True, slots=True)
class OrderInitialized(OrderEvent):
    """The order came into existence with these terms (status NEW). Always the first event of an order."""

    account: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    display_quantity: Decimal | None = None
    post_only: bool = False
    reduce_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None
    client_order_id: str | None = None
    strategy: str | None = None
    parent_order_id: str | None = None
    contingency_type: ContingencyType = ContingencyType.NONE
    linked_order_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderSubmitted(OrderEvent):
    """Sent towards the venue (or the emulator); the answer is pending."""


@dataclass(frozen=True, slots=True)
class OrderAccepted(OrderEvent):
    """The venue took the order; ``venue_order_id`` is its own id for it, when it has one."""

    venue_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRejected(OrderEvent):
    reason: RejectReason
    message: str = ""


@dataclass(frozen=True, slots=True)
class OrderTriggered(OrderEvent):
    """A stop, stop-limit or trailing stop reached its trigger and now works as a market or limit order."""

    trigger_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderUpdated(OrderEvent):
    """The working order was modified; ``None`` leaves that term unchanged."""

    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderPendingCancel(OrderEvent):
    """A cancel request is on its way to the venue."""


@dataclass(frozen=True, slots=True)
class OrderCancelRejected(OrderEvent):
    """The venue refused the cancel (it usually filled first); the order goes back to working."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class OrderCanceled(OrderEvent):
    """No longer working; ``reason`` says why when it was not the user (IOC remainder, SELF_TRADE, OCO ...)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderExpired(OrderEvent):
    """A GTD order reached ``expires_at``."""


@dataclass(frozen=True, slots=True)
class OrderFilled(OrderEvent):
    """One execution. ``account``/``symbol``/``side`` repeat the order's so that a fill is a self-contained trade
    record for the ledger and the trades table (``Order.apply`` checks they match)."""

    trade_id: str
    account: str
    symbol: str
    side: OrderSide
    last_qty: Decimal
    last_px: Decimal
    fee: Decimal
    fee_asset: str
    liquidity_side: LiquiditySide


# -- serialisation ---------------------------------------------------------------------------------------------

E = TypeVar("E", bound=OrderEvent)
Decoder = Callable[[str, object], object]
Upgrader = Callable[[dict[str, Any]], dict[str, Any]]

_REGISTRY: dict[str, type[OrderEvent]] = {}
# Per event type, worked out once at registration (replay decodes every journaled event through these):
# (field name, "Type.field" for messages, decoder, may be null, has a default)
_SPECS: dict[str, tuple[tuple[str, str, Decoder, bool, bool], ...]] = {}
_KNOWN: dict[str, frozenset[str]] = {}
_ENCODERS: dict[type, tuple[str, tuple[tuple[str, Callable[[Any], object] | None], ...]]] = {}  # type -> name, writers
_UPGRADERS: dict[tuple[str, int], Upgrader] = {}
EVENT_TYPES: Mapping[str, type[OrderEvent]] = types.MappingProxyType(_REGISTRY)


def _decode_decimal(name: str, raw: object) -> Decimal:
    if isinstance(raw, str):
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValidationError(name, "must be a decimal string", raw) from None
        if value.is_finite():
            return value
    raise ValidationError(name, "must be a finite decimal string", raw)


def _decode_int(name: str, raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise ValidationError(name, "must be an integer", raw)


def _decode_str(name: str, raw: object) -> str:
    if isinstance(raw, str):
        return raw
    raise ValidationError(name, "must be a string", raw)


def _decode_bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    raise ValidationError(name, "must be true or false", raw)


def _decode_str_tuple(name: str, raw: object) -> tuple[str, ...]:
    if isinstance(raw, list | tuple) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    raise ValidationError(name, "must be a list of strings", raw)


def _enum_decoder(enum_cls: type[Enum]) -> Decoder:
    members = {m.value: m for m in enum_cls}  # a dict lookup costs a fraction of calling the enum class

    def decode(name: str, raw: object) -> object:
        try:
            return members[raw]
        except (KeyError, TypeError):  # TypeError: an unhashable value (a list) in a damaged record
            allowed = ", ".join(str(m.value) for m in enum_cls)
            raise ValidationError(name, f"must be one of {allowed}", raw) from None

    return decode


def _enum_value(member: Enum) -> object:
    return member.value


Encoder = Callable[[Any], object]


def _codec_for(annotation: object) -> tuple[Decoder, Encoder | None, bool]:
    """How a field of this type is read back and written (None writes the value as it is: ints, strings, bools),
    and whether ``None`` is allowed."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported event field type {annotation!r}")
        annotation = args[0]
    if annotation is Decimal:
        return _decode_decimal, str, optional
    if annotation is bool:
        return _decode_bool, None, optional
    if annotation is int:
        return _decode_int, None, optional
    if annotation is str:
        return _decode_str, None, optional
    if typing.get_origin(annotation) is tuple and typing.get_args(annotation) == (str, ...):
        return _decode_str_tuple, list, optional
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum_decoder(annotation), _enum_value, optional
    raise TypeError(f"unsupported event field type {annotation!r}")


def register_event(cls: type[E]) -> type[E]:
    """Make an event class (de)serialisable under its class name. Field types must be ones the codec knows."""
    name = cls.__name__
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"event type {name!r} is already registered")
    hints = typing.get_type_hints(cls)
    specs = []
    encoders = []
    for f in fields(cls):
        if f.name in ("type", "v"):
            raise TypeError(f"{name}.{f.name}: field name is reserved by the codec")
        decoder, encoder, optional = _codec_for(hints[f.name])
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        specs.append((f.name, f"{name}.{f.name}", decoder, optional, has_default))
        encoders.append((f.name, encoder))
    _REGISTRY[name] = cls
    _SPECS[name] = tuple(specs)
    _KNOWN[name] = frozenset(spec[0] for spec in specs) | {"type", "v"}
    _ENCODERS[cls] = (name, tuple(encoders))
    return cls


def register_upgrader(type_name: str, from_version: int, upgrade: Upgrader) -> None:
    """``upgrade`` turns a version ``from_version`` dict of ``type_name`` into a version ``from_version + 1`` dict."""
    _UPGRADERS[(type_name, from_version)] = upgrade


def event_to_dict(event: OrderEvent) -> dict[str, Any]:
    # Every event the engine applies is journaled through here: each field's writer is looked up once per type
    # at registration rather than found by isinstance tests per value.
    spec = _ENCODERS.get(type(event))
    if spec is None:
        raise TypeError(f"event type {type(event).__name__!r} is not registered")
    name, encoders = spec
    out: dict[str, Any] = {"type": name, "v": EVENT_SCHEMA_VERSION}
    for field_name, encode in encoders:
        value = getattr(event, field_name)
        out[field_name] = value if encode is None or value is None else encode(value)
    return out


def event_from_dict(data: Mapping[str, Any]) -> OrderEvent:
    """Read back what ``event_to_dict`` wrote; raises ``ValidationError`` naming the bad field."""
    name = data.get("type")
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValidationError("type", "must name a registered order event", name)
    version = data.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= EVENT_SCHEMA_VERSION:
        raise ValidationError(f"{name}.v", f"must be a schema version between 1 and {EVENT_SCHEMA_VERSION}", version)
    payload: Mapping[str, Any] = data
    if version < EVENT_SCHEMA_VERSION:
        upgraded = dict(data)  # upgraders rewrite a copy, never the caller's record
        while version < EVENT_SCHEMA_VERSION:
            upgrade = _UPGRADERS.get((name, version))
            if upgrade is not None:
                upgraded = upgrade(upgraded)
            version += 1
        payload = upgraded
    if not _KNOWN[name].issuperset(payload):
        unknown = sorted(set(payload) - _KNOWN[name])
        raise ValidationError(f"{name}.{unknown[0]}", "is not a field of this event")
    kwargs: dict[str, Any] = {}
    for field_name, where, decoder, optional, has_default in _SPECS[name]:
        if field_name not in payload:
            if has_default:
                continue
            raise ValidationError(where, "is required")
        raw = payload[field_name]
        if raw is None:
            if not optional:
                raise ValidationError(where, "must not be null")
            kwargs[field_name] = None
        else:
            kwargs[field_name] = decoder(where, raw)
    return _REGISTRY[name](**kwargs)


for _cls in (
    OrderInitialized,
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
    OrderPendingCancel,
    OrderCancelRejected,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
):
    register_event(_cls)

__all__ = [
    "EVENT_SCHEMA_VERSION",
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
    "register_upgrader",
]
