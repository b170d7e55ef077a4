"""Journal records of the risk and control state: limits, halts, alerts, schedules and running strategies.

These are facts like the order events (``engine/core/events.py``) and follow the same rules: frozen dataclasses,
serialised to a flat, JSON-ready dict ``{"type": <class name>, "v": <schema version>, ...fields}`` (Decimals as
strings) by :func:`record_to_dict` and read back by :func:`record_from_dict`, which names the bad field of a damaged
record. A change of fields bumps ``RECORD_SCHEMA_VERSION`` and registers an upgrader for the old version.

Version 0 is what the daemon journaled before these records were typed (loose dicts without ``"v"``): the halts of
the circuit breakers (``RiskHalt``/``RiskResume``, renamed ``TradingHalted``/``TradingResumed``) and strategy
starts and stops (``StrategyStarted`` without an account, ``StrategyStopped`` without ``resume``); their
upgraders below make those journals replay. The loose ``RiskAlert`` and ``ScheduleFired`` records of that time are
not read back (the alert store was the state store then; importing it is :mod:`~alphintra.daemon.trading.riskstate`'s
job) and stay what they were.

The fold of these records is :class:`~alphintra.engine.risk.state.RiskState`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from alphintra.engine.core.errors import ValidationError

RECORD_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class RiskRecord:
    """Base of the risk and control records: when it happened (int ns since the epoch, UTC)."""

    ts: int

    def to_dict(self) -> dict[str, Any]:
        return record_to_dict(self)


@dataclass(frozen=True, slots=True)
class RiskLimitSet(RiskRecord):
    """A limit was set, changed or (``after`` None) removed, by ``by``; ``before`` is what it replaced."""

    name: str
    scope: str
    scope_id: str
    before: Decimal | None
    after: Decimal | None
    by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TradingHalted(RiskRecord):
    """New orders in ``scope``/``scope_id`` are refused until a :class:`TradingResumed` (a manual halt or a breaker)."""

    scope: str
    scope_id: str
    rule: str
    reason: str
    by: str
    value: Decimal | None = None
    limit: Decimal | None = None
    cancel_orders: bool = False
    flatten: bool = False


@dataclass(frozen=True, slots=True)
class TradingResumed(RiskRecord):
    scope: str
    scope_id: str
    by: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RiskAlertRaised(RiskRecord):
    """An alert for the operators; ``alert_id`` is unique for the life of the home (the fold hands them out)."""

    alert_id: int
    severity: str
    rule: str
    message: str
    account: str | None = None
    strategy: str | None = None
    symbol: str | None = None
    value: Decimal | None = None
    threshold: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskAlertAcknowledged(RiskRecord):
    alert_id: int
    by: str


@dataclass(frozen=True, slots=True)
class ScheduleAdded(RiskRecord):
    """A strategy evaluated on a cron (``job_id`` is the schedule's name)."""

    job_id: str
    cron: str
    strategy: str
    symbols: tuple[str, ...]
    params: Mapping[str, Any]
    timezone: str = "UTC"
    enabled: bool = True
    by: str = ""


@dataclass(frozen=True, slots=True)
class SchedulePaused(RiskRecord):
    job_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleResumed(RiskRecord):
    job_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleRemoved(RiskRecord):
    job_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class StrategyStarted(RiskRecord):
    """A saved strategy runs in the daemon with this definition (enough to run it again with no state store)."""

    strategy_id: int
    strategy: str
    strategy_type: str
    symbols: tuple[str, ...]
    params: Mapping[str, Any]
    account: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyStopped(RiskRecord):
    """It no longer runs. ``resume``: stopped by a daemon shutdown, so the next start runs it again; ``error``: it
    raised (it is not resumed)."""

    strategy_id: int
    strategy: str
    reason: str = ""
    resume: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyDeleted(RiskRecord):
    strategy_id: int
    strategy: str


@dataclass(frozen=True, slots=True)
class RiskStateImported(RiskRecord):
    """The one-time import of a state store written before these records existed is done (``count`` records)."""

    count: int


# -- serialisation ---------------------------------------------------------------------------------------------

R = TypeVar("R", bound=RiskRecord)
Decoder = Callable[[str, object], object]
Encoder = Callable[[Any], object]
Upgrader = Callable[[dict[str, Any]], dict[str, Any]]

_REGISTRY: dict[str, type[RiskRecord]] = {}
# Per type, worked out once at registration: (field name, "Type.field" for messages, decoder, nullable, has default)
_SPECS: dict[str, tuple[tuple[str, str, Decoder, bool, bool], ...]] = {}
_KNOWN: dict[str, frozenset[str]] = {}
_ENCODERS: dict[type, tuple[str, tuple[tuple[str, Encoder | None], ...]]] = {}
_UPGRADERS: dict[tuple[str, int], Upgrader] = {}
# Names journaled before the records were typed (version 0) -> the type they are now.
_RENAMED = {"RiskHalt": "TradingHalted", "RiskResume": "TradingResumed"}
RECORD_TYPES: Mapping[str, type[RiskRecord]] = types.MappingProxyType(_REGISTRY)


def _decode_decimal(name: str, raw: object) -> Decimal:
    if isinstance(raw, str | int) and not isinstance(raw, bool):
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


def _decode_object(name: str, raw: object) -> Mapping[str, Any]:
    if isinstance(raw, Mapping) and all(isinstance(k, str) for k in raw):
        return types.MappingProxyType(dict(raw))  # frozen like the record that holds it
    raise ValidationError(name, "must be a JSON object", raw)


def _codec_for(annotation: object) -> tuple[Decoder, Encoder | None, bool]:
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported record field type {annotation!r}")
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
    if typing.get_origin(annotation) is Mapping:
        return _decode_object, dict, optional
    raise TypeError(f"unsupported record field type {annotation!r}")


def register_record(cls: type[R]) -> type[R]:
    """Make a record class (de)serialisable under its class name."""
    name = cls.__name__
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"record type {name!r} is already registered")
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


def is_risk_record(data: Mapping[str, Any]) -> bool:
    """Whether a journal record is one of these (cheap: replay asks it of every record)."""
    kind = data.get("type")
    return isinstance(kind, str) and (kind in _REGISTRY or kind in _RENAMED)


def record_to_dict(record: RiskRecord) -> dict[str, Any]:
    spec = _ENCODERS.get(type(record))
    if spec is None:
        raise TypeError(f"record type {type(record).__name__!r} is not registered")
    name, encoders = spec
    out: dict[str, Any] = {"type": name, "v": RECORD_SCHEMA_VERSION}
    for field_name, encode in encoders:
        value = getattr(record, field_name)
        out[field_name] = value if encode is None or value is None else encode(value)
    return out


def record_from_dict(data: Mapping[str, Any]) -> RiskRecord:
    """Read back what :func:`record_to_dict` wrote (or an older version); ``ValidationError`` names a bad field."""
    name = data.get("type")
    if isinstance(name, str) and name in _RENAMED:
        name = _RENAMED[name]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValidationError("type", "must name a registered risk record", name)
    version = data.get("v", 0)
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= RECORD_SCHEMA_VERSION:
        raise ValidationError(f"{name}.v", f"must be a schema version between 0 and {RECORD_SCHEMA_VERSION}", version)
    payload: Mapping[str, Any] = data
    if version < RECORD_SCHEMA_VERSION or data.get("type") != name:
        upgraded = {**data, "type": name}  # upgraders rewrite a copy, never the caller's record
        while version < RECORD_SCHEMA_VERSION:
            upgrade = _UPGRADERS.get((name, version))
            if upgrade is not None:
                upgraded = upgrade(upgraded)
            version += 1
        payload = upgraded
    if not _KNOWN[name].issuperset(payload):
        unknown = sorted(set(payload) - _KNOWN[name])
        raise ValidationError(f"{name}.{unknown[0]}", "is not a field of this record")
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


# -- version 0: the loose records of the daemon before these types -----------------------------------------------


def _v0_halt(data: dict[str, Any]) -> dict[str, Any]:
    # RiskHalt carried the halt's own dict: its time was at_ns.
    out = {k: v for k, v in data.items() if k not in ("at_ns", "v")}
    out["ts"] = int(data.get("at_ns", 0))
    return out


def _v0_resume(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in ("at_ns", "v")}
    out["ts"] = int(data.get("at_ns", 0))
    return out


def _v0_strategy_started(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "v"}


def _v0_strategy_stopped(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "v"}
    reason = str(data.get("reason", ""))
    # The only two reasons that did not mean "stopped for good": a shutdown resumes, an error does not.
    out["resume"] = reason == "engine stopping"
    if reason.startswith("error: "):
        out["error"] = reason.removeprefix("error: ")
    return out


for _cls in (
    RiskLimitSet,
    TradingHalted,
    TradingResumed,
    RiskAlertRaised,
    RiskAlertAcknowledged,
    ScheduleAdded,
    SchedulePaused,
    ScheduleResumed,
    ScheduleRemoved,
    StrategyStarted,
    StrategyStopped,
    StrategyDeleted,
    RiskStateImported,
):
    register_record(_cls)
register_upgrader("TradingHalted", 0, _v0_halt)
register_upgrader("TradingResumed", 0, _v0_resume)
register_upgrader("StrategyStarted", 0, _v0_strategy_started)
register_upgrader("StrategyStopped", 0, _v0_strategy_stopped)

__all__ = [
    "RECORD_SCHEMA_VERSION",
    "RECORD_TYPES",
    "RiskAlertAcknowledged",
    "RiskAlertRaised",
    "RiskLimitSet",
    "RiskRecord",
    "RiskStateImported",
    "ScheduleAdded",
    "SchedulePaused",
    "ScheduleRemoved",
    "ScheduleResumed",
    "StrategyDeleted",
    "StrategyStarted",
    "StrategyStopped",
    "TradingHalted",
    "TradingResumed",
    "is_risk_record",
    "record_from_dict",
    "record_to_dict",
    "register_record",
    "register_upgrader",
]
