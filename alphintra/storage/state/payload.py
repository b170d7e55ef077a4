"""Turning the plain dicts the daemon projects into checked column values.

One generic cleaner reads each table's columns (type, length, nullability) so the rules live in the models, and
adds what columns cannot say: enumerations. Every failure is a ValidationError naming ``table.field`` and the rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.sql.schema import Column
from sqlmodel.sql.sqltypes import AutoString

from alphintra.errors import ValidationError
from alphintra.storage.state.models import (
    ALERT_SEVERITIES,
    EXECUTION_STATUSES,
    EXECUTION_TYPES,
    ORDER_SIDES,
    ORDER_STATUSES,
    RISK_SCOPES,
    STRATEGY_STATUSES,
    TRADE_TYPES,
    StateModel,
)
from alphintra.storage.state.types import ExactDecimal, UTCDateTime, json_default, to_decimal, to_utc

# (table, column) -> (allowed values, how to normalise case)
_ENUMS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("orders", "side"): (ORDER_SIDES, "upper"),
    ("orders", "status"): (ORDER_STATUSES, "upper"),
    ("trades", "side"): (ORDER_SIDES, "upper"),
    ("trades", "trade_type"): (TRADE_TYPES, "upper"),
    ("trading_strategies", "status"): (STRATEGY_STATUSES, "upper"),
    ("strategy_executions", "execution_type"): (EXECUTION_TYPES, "lower"),
    ("strategy_executions", "status"): (EXECUTION_STATUSES, "upper"),
    ("risk_limits", "scope"): (RISK_SCOPES, "lower"),
    ("risk_limit_changes", "scope"): (RISK_SCOPES, "lower"),
    ("risk_alerts", "severity"): (ALERT_SEVERITIES, "upper"),
}
# Free-form codes that are still upper-case identifiers by convention (the engine's enums).
_UPPER = {("orders", "order_type"), ("orders", "time_in_force")}


def as_mapping(data: Mapping[str, Any] | object, what: str) -> dict[str, Any]:
    """Plain dicts, dataclass instances and pydantic models are accepted alike."""
    if isinstance(data, Mapping):
        return dict(data)
    if is_dataclass(data) and not isinstance(data, type):
        return asdict(data)
    dump = getattr(data, "model_dump", None)
    if callable(dump):
        result = dump()
        if isinstance(result, dict):
            return result
    raise ValidationError(what, "must be a mapping, a dataclass or a pydantic model", type(data).__name__)


Converter = Callable[[Any], Any]
# Table -> column name -> its converter: the type dispatch is done once per column, not once per value (the
# projector cleans some 25 values per order it writes).
_CONVERTERS: dict[Any, dict[str, Converter]] = {}


def _typed(table: str, column: Column[Any]) -> Converter:
    """The check and conversion of a non-null value of ``column``."""
    field = f"{table}.{column.name}"
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return lambda value: to_decimal(value, field)
    if isinstance(kind, UTCDateTime):
        return lambda value: to_utc(value, field)
    if isinstance(kind, Boolean):

        def boolean(value: Any) -> Any:
            if not isinstance(value, bool):
                raise ValidationError(field, "must be true or false", value)
            return value

        return boolean
    if isinstance(kind, Integer | BigInteger):

        def integer(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(field, "must be an integer", value)
            return value

        return integer
    if isinstance(kind, JSON):

        def document(value: Any) -> Any:
            if not isinstance(value, dict):
                raise ValidationError(field, "must be a JSON object (dict)", value)
            try:
                # Round-trip now so a bad document fails here, naming the field, and not at flush time.
                return json.loads(json.dumps(value, default=json_default))
            except (TypeError, ValueError) as exc:
                raise ValidationError(field, f"must be JSON-serialisable ({exc})") from None

        return document
    if isinstance(kind, String | AutoString):
        nullable = bool(column.nullable)
        enum = _ENUMS.get((table, column.name))
        upper = (table, column.name) in _UPPER
        length = getattr(kind, "length", None)

        def text(value: Any) -> Any:
            if not isinstance(value, str):
                raise ValidationError(field, "must be a string", value)
            out = value.strip()
            if not out and not nullable:
                raise ValidationError(field, "must not be empty")
            if enum is not None:
                allowed, case = enum
                out = out.upper() if case == "upper" else out.lower()
                if out not in allowed:
                    raise ValidationError(field, f"must be one of {', '.join(sorted(allowed))}", value)
            elif upper:
                out = out.upper()
            if length is not None and len(out) > length:
                raise ValidationError(field, f"must be at most {length} characters", value)
            return out

        return text
    return lambda value: value


def _converter(table: str, column: Column[Any]) -> Converter:
    field = f"{table}.{column.name}"
    nullable = bool(column.nullable)
    typed = _typed(table, column)

    def convert(value: Any) -> Any:
        if isinstance(value, Enum):
            value = value.value
        if value is None:
            if not nullable:
                raise ValidationError(field, "is required and may not be null")
            return None
        return typed(value)

    return convert


def _converters(table: Any) -> dict[str, Converter]:
    found = _CONVERTERS.get(table)
    if found is None:
        found = _CONVERTERS[table] = {c.key: _converter(table.name, c) for c in table.columns}
    return found


def clean(model: type[StateModel], data: Mapping[str, Any], *, allowed: set[str] | None = None) -> dict[str, Any]:
    """Check and convert every key of ``data`` against ``model``'s columns; unknown keys are refused."""
    table = model.__table__  # type: ignore[attr-defined]
    converters = _converters(table)
    out: dict[str, Any] = {}
    for key, value in data.items():
        convert = converters.get(key)
        if convert is None or (allowed is not None and key not in allowed):
            raise ValidationError(f"{table.name}.{key}", "is not a known field", value)
        out[key] = convert(value)
    return out


def require(model: type[StateModel], values: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    name = model.__table__.name  # type: ignore[attr-defined]
    for field in fields:
        if values.get(field) is None:
            raise ValidationError(f"{name}.{field}", "is required")


__all__ = ["as_mapping", "clean", "require"]
