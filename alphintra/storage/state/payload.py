"""Turning the plain dicts the daemon projects into checked column values.

One generic cleaner reads each table's columns (type, length, nullability) so the rules live in the models, and
adds what columns cannot say: enumerations. Every failure is a ValidationError naming ``table.field`` and the rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def _clean_value(table: str, column: Column[Any], value: Any) -> Any:
    field = f"{table}.{column.name}"
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        if not column.nullable:
            raise ValidationError(field, "is required and may not be null")
        return None
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return to_decimal(value, field)
    if isinstance(kind, UTCDateTime):
        return to_utc(value, field)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise ValidationError(field, "must be true or false", value)
        return value
    if isinstance(kind, Integer | BigInteger):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(field, "must be an integer", value)
        return value
    if isinstance(kind, JSON):
        if not isinstance(value, dict):
            raise ValidationError(field, "must be a JSON object (dict)", value)
        try:
            # Round-trip now so a bad document fails here, naming the field, and not at flush time.
            return json.loads(json.dumps(value, default=json_default))
        except (TypeError, ValueError) as exc:
            raise ValidationError(field, f"must be JSON-serialisable ({exc})") from None
    if isinstance(kind, String | AutoString):
        if not isinstance(value, str):
            raise ValidationError(field, "must be a string", value)
        text = value.strip()
        if not text and not column.nullable:
            raise ValidationError(field, "must not be empty")
        enum = _ENUMS.get((table, column.name))
        if enum is not None:
            allowed, case = enum
            text = text.upper() if case == "upper" else text.lower()
            if text not in allowed:
                raise ValidationError(field, f"must be one of {', '.join(sorted(allowed))}", value)
        elif (table, column.name) in _UPPER:
            text = text.upper()
        length = getattr(kind, "length", None)
        if length is not None and len(text) > length:
            raise ValidationError(field, f"must be at most {length} characters", value)
        return text
    return value


def clean(model: type[StateModel], data: Mapping[str, Any], *, allowed: set[str] | None = None) -> dict[str, Any]:
    """Check and convert every key of ``data`` against ``model``'s columns; unknown keys are refused."""
    table = model.__table__  # type: ignore[attr-defined]
    name = table.name
    out: dict[str, Any] = {}
    for key, value in data.items():
        column = table.columns.get(key)
        if column is None or (allowed is not None and key not in allowed):
            raise ValidationError(f"{name}.{key}", "is not a known field", value)
        out[key] = _clean_value(name, column, value)
    return out


def require(model: type[StateModel], values: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    name = model.__table__.name  # type: ignore[attr-defined]
    for field in fields:
        if values.get(field) is None:
            raise ValidationError(f"{name}.{field}", "is required")


__all__ = ["as_mapping", "clean", "require"]
